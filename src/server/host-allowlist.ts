/**
 * The names this server answers to, against DNS rebinding: a page on attacker.example whose name the
 * attacker re-points at 127.0.0.1 reaches the server with `Host: attacker.example:PORT` and, being
 * same-origin with itself in the browser, could read the page, /metrics and the live stream. So
 * every HTTP request and WebSocket upgrade must name a configured host: the loopback names, the
 * listen address (on 0.0.0.0 / :: this machine's interface addresses, which a browser only uses when
 * it was told the address itself) and the names given by the operator (`--allowed-host`). The same
 * list decides which page origins may open the WebSocket and which hosts the page's CSP names.
 */
import { networkInterfaces } from 'node:os';
import { ErrorCode, SgusError } from '../errors.js';

/** One allowed name; `port` undefined matches any port (a name behind a reverse proxy). */
interface HostEntry {
  /** Lower case, no trailing dot; IPv6 without brackets. */
  name: string;
  port: number | undefined;
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '::1'];

/** Whether `host` (a listen address or name) is this machine only. */
export function isLoopbackHost(host: string): boolean {
  const h = normaliseName(host);
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Why listening on `host` must be refused, if it must: beyond loopback without a token anyone on
 * the network could watch the exams, so that takes `insecure` (`--insecure`).
 */
export function exposureProblem(host: string, hasToken: boolean, insecure: boolean): string | undefined {
  if (hasToken || insecure || isLoopbackHost(host)) return undefined;
  return `listening on ${host} opens the viewer to the network: set a token (--token or SGUS_TOKEN), or pass --insecure to serve without one`;
}

/** Whether a listen address means every interface. */
export function isWildcardHost(host: string): boolean {
  const h = normaliseName(host);
  return h === '0.0.0.0' || h === '::' || h === '';
}

function normaliseName(name: string): string {
  return name.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
}

/**
 * Splits `name`, `name:port`, `[v6]` or `[v6]:port` (a Host header or an --allowed-host value).
 * Undefined when it is not one of those forms, so that odd bytes never match anything.
 */
export function parseHostPort(value: string): { name: string; port: number | undefined } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+))(?::(\d{1,5}))?$/.exec(value.trim());
  if (m === null) return undefined;
  const port = m[3] !== undefined ? Number(m[3]) : undefined;
  if (port !== undefined && port > 65535) return undefined;
  const name = normaliseName(m[1] ?? m[2]!);
  if (name === '') return undefined;
  return { name, port };
}

function formatHost(name: string, port: number | undefined): string {
  const n = name.includes(':') ? `[${name}]` : name;
  return port === undefined ? n : `${n}:${port}`;
}

export interface HostAllowlistOptions {
  /** The address listened on ('127.0.0.1', '0.0.0.0', a name…). */
  listenHost: string;
  /** The port listened on. */
  port: number;
  /** Served over TLS (a Host without a port then means 443, else 80). */
  tls: boolean;
  /** More names, `name` (any port) or `name:port` (`--allowed-host`). Default none. */
  extraHosts?: readonly string[];
  /**
   * Page origins besides the allowed hosts' own that may open the WebSocket, e.g.
   * 'https://ward.example' (`--allowed-origin`); '*' allows any origin (rely on the token then).
   * Default none.
   */
  extraOrigins?: readonly string[];
}

export class HostAllowlist {
  readonly #entries: HostEntry[] = [];
  readonly #defaultPort: number;
  readonly #origins: string[];
  readonly #anyOrigin: boolean;

  /** Throws an invalid-argument SgusError naming a malformed extra host or origin. */
  constructor(options: HostAllowlistOptions) {
    this.#defaultPort = options.tls ? 443 : 80;
    const add = (name: string, port: number | undefined): void => {
      const n = normaliseName(name);
      if (!this.#entries.some((e) => e.name === n && e.port === port)) this.#entries.push({ name: n, port });
    };
    for (const n of LOOPBACK_NAMES) add(n, options.port);
    if (isWildcardHost(options.listenHost)) {
      for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) add(a.address.replace(/%.*$/, ''), options.port);
    } else {
      add(options.listenHost, options.port);
    }
    for (const h of options.extraHosts ?? []) {
      const parsed = parseHostPort(h);
      if (parsed === undefined) throw new SgusError(ErrorCode.InvalidArgument, `--allowed-host '${h}' is not a host name or address, optionally with :PORT`);
      add(parsed.name, parsed.port);
    }
    this.#origins = [];
    this.#anyOrigin = false;
    for (const o of options.extraOrigins ?? []) {
      if (o.trim() === '*') {
        this.#anyOrigin = true;
        continue;
      }
      let url: URL | undefined;
      try {
        url = new URL(o.trim());
      } catch {
        url = undefined;
      }
      if (url === undefined || !/^https?:$/.test(url.protocol) || url.origin === 'null' || !/^https?:\/\/[^/]+\/?$/i.test(o.trim())) {
        throw new SgusError(ErrorCode.InvalidArgument, `--allowed-origin '${o}' must be an origin like https://ward.example (scheme, host, optional port) or '*'`);
      }
      this.#origins.push(url.origin);
    }
  }

  /** Whether a request's Host header names this server. */
  allowsHost(hostHeader: string | undefined): boolean {
    if (hostHeader === undefined) return false;
    const parsed = parseHostPort(hostHeader);
    if (parsed === undefined) return false;
    return this.#matches(parsed.name, parsed.port ?? this.#defaultPort);
  }

  /**
   * Whether a page of `origin` may open the WebSocket. No Origin: a non-browser client (the token,
   * if set, still applies); browsers always send one.
   */
  allowsOrigin(origin: string | undefined): boolean {
    if (origin === undefined) return true;
    if (this.#anyOrigin) return true;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    if (url.origin === 'null' || !/^https?:$/.test(url.protocol)) return false;
    if (this.#origins.includes(url.origin)) return true;
    const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    return this.#matches(normaliseName(url.hostname), port);
  }

  /** `host[:port]` of every allowed name, for messages and docs. */
  hosts(): string[] {
    return this.#entries.map((e) => formatHost(e.name, e.port));
  }

  /**
   * CSP sources for the page's WebSockets, built from the configuration only (never from the
   * request). IPv6 literals are left to 'self': CSP's host-source grammar has no brackets.
   */
  webSocketSources(): string[] {
    const out: string[] = [];
    for (const e of this.#entries) {
      if (e.name.includes(':')) continue;
      const h = `${e.name}:${e.port ?? '*'}`;
      out.push(`ws://${h}`, `wss://${h}`);
    }
    return out;
  }

  #matches(name: string, port: number): boolean {
    return this.#entries.some((e) => e.name === name && (e.port === undefined || e.port === port));
  }
}

/**
 * Where the PACS is and who we are to it. The URL comes from `--pacs`, `SGUS_PACS_URL` or the
 * config file; the credentials only from `SGUS_PACS_USER` / `SGUS_PACS_PASSWORD` or the config
 * file, never from the command line, where every user of the machine would read them in `ps`.
 */
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { describeError, ErrorCode, SgusError } from '../errors.js';

export interface PacsClientOptions {
  /** The DICOMweb root (http or https), e.g. https://pacs.example.org/dicom-web. No default. */
  url: string;
  /** HTTP Basic user. Default: none (no Authorization header). */
  user?: string;
  /** HTTP Basic password. Default: none. */
  password?: string;
  /** Milliseconds one request may take, transfer included. Default 60000. */
  timeoutMs?: number;
}

export const DEFAULT_PACS_TIMEOUT_MS = 60_000;

/** The config file: `$SGUS_PACS_CONFIG`, else `~/.config/sgus/pacs.json` (used when it exists). */
export function pacsConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.SGUS_PACS_CONFIG ?? path.join(env.HOME ?? homedir(), '.config', 'sgus', 'pacs.json');
}

interface ConfigFile {
  url?: string;
  user?: string;
  password?: string;
  timeoutMs?: number;
}

function readConfig(file: string, required: boolean, warn: (line: string) => void): ConfigFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new SgusError(ErrorCode.FileUnreadable, `cannot read the PACS config: ${describeError(err)}`, { where: file });
  }
  let cfg: unknown;
  try {
    cfg = JSON.parse(text);
  } catch (err) {
    throw new SgusError(ErrorCode.InvalidArgument, `PACS config is not JSON: ${describeError(err)}`, { where: file });
  }
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) throw new SgusError(ErrorCode.InvalidArgument, 'PACS config must be a JSON object {url, user, password, timeoutMs}', { where: file });
  const c = cfg as Record<string, unknown>;
  for (const k of ['url', 'user', 'password'] as const) {
    if (c[k] !== undefined && typeof c[k] !== 'string') throw new SgusError(ErrorCode.InvalidArgument, `PACS config: '${k}' must be a string`, { where: file });
  }
  if (c.timeoutMs !== undefined && !(typeof c.timeoutMs === 'number' && c.timeoutMs > 0)) throw new SgusError(ErrorCode.InvalidArgument, "PACS config: 'timeoutMs' must be a positive number", { where: file });
  if (typeof c.password === 'string') {
    try {
      if ((statSync(file).mode & 0o077) !== 0) warn(`${file}: holds a password but others may read it (chmod 600 it)`);
    } catch {
      // read a moment ago; a stat failure is no reason to stop
    }
  }
  return c as ConfigFile;
}

export interface ResolvePacsOptions {
  /** `--pacs URL`, when given. */
  url?: string;
  /** Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Where warnings go. Default: stderr. */
  warn?: (line: string) => void;
}

/** The PACS to use from `--pacs`, the environment and the config file; one-line errors. */
export function resolvePacsOptions(o: ResolvePacsOptions = {}): PacsClientOptions {
  const env = o.env ?? process.env;
  const warn = o.warn ?? ((l: string) => process.stderr.write(`sgus: warning: ${l}\n`));
  const cfg = readConfig(pacsConfigPath(env), env.SGUS_PACS_CONFIG !== undefined, warn);
  const url = o.url ?? env.SGUS_PACS_URL ?? cfg.url;
  if (url === undefined || url === '') throw new SgusError(ErrorCode.InvalidArgument, `no PACS given: use --pacs URL (the DICOMweb root) or SGUS_PACS_URL, or 'url' in ${pacsConfigPath(env)}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SgusError(ErrorCode.InvalidArgument, `PACS URL '${url}' is not a URL (e.g. https://pacs.example.org/dicom-web)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new SgusError(ErrorCode.InvalidArgument, `PACS URL must be http or https, got '${parsed.protocol}'`);
  if (parsed.username !== '' || parsed.password !== '') {
    throw new SgusError(ErrorCode.InvalidArgument, 'PACS URL must not hold credentials (they would show in ps): use SGUS_PACS_USER / SGUS_PACS_PASSWORD or the config file');
  }
  const user = env.SGUS_PACS_USER ?? cfg.user;
  const password = env.SGUS_PACS_PASSWORD ?? cfg.password;
  if (password !== undefined && user === undefined) throw new SgusError(ErrorCode.InvalidArgument, 'a PACS password is set but no user (SGUS_PACS_USER)');
  const local = ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname);
  if (user !== undefined && parsed.protocol === 'http:' && !local) warn(`PACS ${parsed.origin}: credentials sent over plain http; use https`);
  const timeoutEnv = env.SGUS_PACS_TIMEOUT_MS !== undefined ? Number(env.SGUS_PACS_TIMEOUT_MS) : undefined;
  if (timeoutEnv !== undefined && !(timeoutEnv > 0)) throw new SgusError(ErrorCode.InvalidArgument, `SGUS_PACS_TIMEOUT_MS must be a positive number, got '${env.SGUS_PACS_TIMEOUT_MS}'`);
  return {
    url: url.replace(/\/+$/, ''),
    ...(user !== undefined ? { user } : {}),
    ...(password !== undefined ? { password } : {}),
    timeoutMs: timeoutEnv ?? cfg.timeoutMs ?? DEFAULT_PACS_TIMEOUT_MS,
  };
}

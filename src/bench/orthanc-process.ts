/**
 * A real PACS of our own for the tests and the benchmark's PACS burst: an Orthanc on 127.0.0.1
 * (free HTTP and DICOM ports, a temporary configuration and storage, the DICOMweb plugin loaded,
 * HTTP authentication on with a test user). The Debian system service is never used. Callers skip
 * with `orthancSkip()` as the reason where the packages are not installed.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stopProcess } from '../helper-process.js';

const ORTHANC_BIN = ['/usr/sbin/Orthanc', '/usr/bin/Orthanc'].find((p) => existsSync(p));
/** Where Debian's orthanc-dicomweb puts the plugin (`dpkg -L orthanc-dicomweb`). */
const DICOMWEB_PLUGIN = ['/usr/share/orthanc/plugins/libOrthancDicomWeb.so', '/usr/lib/orthanc/libOrthancDicomWeb.so.1.7'].find((p) => existsSync(p));

/** Why the Orthanc tests cannot run here, or false when they can (`test(..., { skip: orthancSkip() })`). */
export function orthancSkip(): string | false {
  if (ORTHANC_BIN === undefined) return 'Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)';
  if (DICOMWEB_PLUGIN === undefined) return 'the Orthanc DICOMweb plugin is not installed (apt-get install orthanc-dicomweb)';
  return false;
}

/** A free TCP port on 127.0.0.1 (the kernel's pick; released at once for the server to take). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface OrthancOptions {
  /** Orthanc's own AE title. Default 'ORTHANC'. */
  aet?: string;
  /** The HTTP user and password. Default 'sgus-test' / 'test-password-1'. */
  user?: string;
  password?: string;
  /** Milliseconds to wait for it to answer. Default 30000. */
  startTimeoutMs?: number;
}

export class OrthancProcess {
  readonly dir: string;
  readonly aet: string;
  readonly user: string;
  readonly password: string;
  readonly httpPort: number;
  readonly dicomPort: number;
  readonly #config: string;
  readonly #startTimeoutMs: number;
  #child: ChildProcess | undefined;
  #log = '';
  #closed = false;

  private constructor(httpPort: number, dicomPort: number, o: OrthancOptions) {
    this.dir = mkdtempSync(path.join(tmpdir(), 'sgus-orthanc-'));
    this.aet = o.aet ?? 'ORTHANC';
    this.user = o.user ?? 'sgus-test';
    this.password = o.password ?? 'test-password-1';
    this.httpPort = httpPort;
    this.dicomPort = dicomPort;
    this.#startTimeoutMs = o.startTimeoutMs ?? 30_000;
    this.#config = path.join(this.dir, 'orthanc.json');
    const storage = path.join(this.dir, 'storage');
    writeFileSync(
      this.#config,
      JSON.stringify(
        {
          Name: 'sgus-test',
          StorageDirectory: storage,
          IndexDirectory: storage,
          HttpPort: httpPort,
          DicomPort: dicomPort,
          DicomAet: this.aet,
          // Only this machine: the tests talk to 127.0.0.1 alone.
          RemoteAccessAllowed: false,
          AuthenticationEnabled: true,
          RegisteredUsers: { [this.user]: this.password },
          Plugins: [DICOMWEB_PLUGIN],
          DicomWeb: { Enable: true, Root: '/dicom-web/' },
          DicomCheckCalledAet: false,
          // Small and quick to start and stop: the tests start several.
          HttpThreadsCount: 4,
          ConcurrentJobs: 1,
          SaveJobs: false,
          StorageCompression: false,
        },
        null,
        2,
      ),
    );
  }

  /** Starts a new Orthanc (its own ports and storage) and waits until it answers. */
  static async start(options: OrthancOptions = {}): Promise<OrthancProcess> {
    const skip = orthancSkip();
    if (skip !== false) throw new Error(skip);
    const o = new OrthancProcess(await freePort(), await freePort(), options);
    try {
      await o.resume();
    } catch (err) {
      await o.close();
      throw err;
    }
    return o;
  }

  /** The HTTP root, e.g. http://127.0.0.1:PORT */
  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  /** The DICOMweb root (what `--pacs` takes). */
  get dicomWebUrl(): string {
    return `${this.url}/dicom-web`;
  }

  /** The environment `sgus pacs` / `sgus listen` read the PACS from. */
  get env(): Record<string, string> {
    return { SGUS_PACS_URL: this.dicomWebUrl, SGUS_PACS_USER: this.user, SGUS_PACS_PASSWORD: this.password };
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** What Orthanc printed (for failure messages). */
  get log(): string {
    return this.#log;
  }

  /** Starts it again on the same ports and storage (after `stop()`). */
  async resume(): Promise<void> {
    if (this.#closed) throw new Error('orthanc helper is closed');
    if (this.#child !== undefined) return;
    const child = spawn(ORTHANC_BIN!, [this.#config], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    const keep = (d: Buffer): void => {
      this.#log = (this.#log + d.toString()).slice(-20_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.once('exit', () => {
      if (this.#child === child) this.#child = undefined;
    });
    const deadline = Date.now() + this.#startTimeoutMs;
    while (Date.now() < deadline) {
      if (this.#child === undefined) throw new Error(`Orthanc exited at start: ${this.#log.slice(-2000)}`);
      try {
        const r = await this.rest('/system');
        if (r.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`Orthanc did not answer on ${this.url} within ${this.#startTimeoutMs} ms: ${this.#log.slice(-2000)}`);
  }

  /** Stops the server (storage kept; `resume()` starts it again). Safe to call twice. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    await stopProcess(child, 'SIGTERM', 10_000);
    this.#child = undefined;
  }

  /** Stops it and deletes its configuration and storage. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.stop();
    this.#closed = true;
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** A request to Orthanc's REST API as the test user. */
  rest(pathname: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Basic ${Buffer.from(`${this.user}:${this.password}`).toString('base64')}`);
    return fetch(`${this.url}${pathname}`, { ...init, headers, signal: AbortSignal.timeout(10_000) });
  }

  /** GET of a REST path as JSON. */
  async json<T = unknown>(pathname: string): Promise<T> {
    const r = await this.rest(pathname);
    if (!r.ok) throw new Error(`GET ${pathname}: HTTP ${r.status}`);
    return (await r.json()) as T;
  }
}

/** Uploads files to Orthanc with dcmtk's storescu (the way a scanner or PACS sends them). */
export function storescu(files: readonly string[], host: string, port: number, options: { calledAet?: string; callingAet?: string } = {}): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const args = [
      // -xy: propose JPEG Baseline besides the uncompressed syntaxes, so a JPEG cine loop goes as
      // JPEG, as a scanner sends it (storescu cannot decompress it to send it otherwise).
      '-xy',
      '-aet', options.callingAet ?? 'SGUSTEST', '-aec', options.calledAet ?? 'ORTHANC', host, String(port), ...files];
    const child = spawn('storescu', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

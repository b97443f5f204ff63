/**
 * Resilience of the viewer hub (ViewerServer on 127.0.0.1, a synthetic publisher standing in for the
 * pipeline) to bad viewers: one that never reads, a flood of malformed and oversized messages, 200
 * connects and disconnects, wrong tokens. In every case a witness viewer keeps receiving frames, the
 * hub keeps answering, and nothing leaks (viewer count, handles, file descriptors).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { WebSocket } from 'ws';
import type { RawData } from 'ws';
import { HeadlessViewer } from '../../src/bench/viewer-clients.js';
import { ViewerServer } from '../../src/server/viewer-server.js';
import { TestPublisher, hasFfmpeg, makeSyntheticClip } from '../helpers/synthetic-stream.js';
import type { SyntheticClip } from '../helpers/synthetic-stream.js';

const TOKEN = 'resilience-token';

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

function handleCount(): number {
  return (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A raw client: collects text messages, binary counts, and how it closed. */
class RawClient {
  readonly ws: WebSocket;
  readonly texts: Array<{ type: string; code?: string; message?: string; [k: string]: unknown }> = [];
  frames = 0;
  closed: { code: number; reason: string } | undefined;
  readonly opened: Promise<void>;

  constructor(url: string) {
    this.ws = new WebSocket(url, { perMessageDeflate: false });
    this.ws.on('error', () => undefined);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.opened.catch(() => undefined);
    this.ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) this.frames++;
      else this.texts.push(JSON.parse(String(data)) as RawClient['texts'][number]);
    });
    this.ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
  }

  errors(): number {
    return this.texts.filter((m) => m.type === 'error').length;
  }

  subscribe(streamId: string): void {
    this.ws.send(JSON.stringify({ type: 'subscribe', streamId }));
  }
}

describe('viewer hub under bad viewers', { skip: hasFfmpeg() ? false : 'no ffmpeg' }, () => {
  let clip: SyntheticClip;
  let server: ViewerServer;
  let publisher: TestPublisher;
  let witness: HeadlessViewer;
  let url: string;

  before(async () => {
    clip = await makeSyntheticClip({ width: 320, height: 240, frames: 50, gop: 10 });
    server = await ViewerServer.start({ host: '127.0.0.1', port: 0, token: TOKEN, maxViewers: 400, maxViewerQueueBytes: 256 * 1024, keepAliveSeconds: 60 });
    server.on('error', () => undefined);
    url = `ws://127.0.0.1:${server.port}/ws?token=${TOKEN}`;
    // JPEG at 50 fps: every frame is independent, so delivery counts are exact.
    publisher = new TestPublisher(server, clip, { codec: 'jpeg', fps: 50, streamId: 'exam' }).start();
    witness = new HeadlessViewer({ url, streamId: 'exam' });
    await witness.opened();
    await until('the witness gets frames', () => witness.frames > 5);
  });

  after(async () => {
    publisher.stop('test over');
    witness.close();
    await server.close();
  });

  /** The witness keeps receiving while `body` runs: most of what was published in the meantime. */
  async function witnessKeepsUp<T>(body: () => Promise<T>): Promise<T> {
    const f0 = witness.frames;
    const p0 = publisher.published;
    const out = await body();
    await sleep(300);
    const got = witness.frames - f0;
    const sent = publisher.published - p0;
    assert.ok(got >= sent * 0.8 - 15, `the witness got ${got} of ${sent} frames published meanwhile`);
    return out;
  }

  async function healthy(): Promise<void> {
    const res = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    assert.equal(res.status, 200);
    const c = new RawClient(url);
    await c.opened;
    await until('hello', () => c.texts.some((m) => m.type === 'hello'));
    c.ws.close();
  }

  it('a viewer that never reads drops its own frames; the others get every frame at full rate', async (t) => {
    // A second stream of big pictures (~100 kB JPEG, 5 MB/s) fills the kernel's socket buffers quickly.
    const bigClip = await makeSyntheticClip({ width: 1280, height: 720, frames: 6, gop: 1 });
    const big = new TestPublisher(server, bigClip, { codec: 'jpeg', fps: 50, streamId: 'big' }).start();
    const slow = new RawClient(url);
    const reader = new HeadlessViewer({ url, streamId: 'big' });
    try {
      await witnessKeepsUp(async () => {
        await slow.opened;
        await reader.opened();
        await until('hello', () => slow.texts.some((m) => m.type === 'hello'));
        slow.subscribe('big');
        await until('subscribed', () => slow.texts.some((m) => m.type === 'subscribed'));
        slow.ws.pause(); // stops reading its socket: the kernel buffers fill, then the hub's queue
        const p0 = big.published;
        const r0 = reader.frames;
        await until('the hub drops frames for the viewer that does not read', () => server.viewers().some((v) => v.streamId === 'big' && v.framesDropped > 10), 20_000);
        await sleep(1000);
        const me = server.viewers().find((v) => v.streamId === 'big' && v.framesDropped > 0)!;
        const sent = big.published - p0;
        const got = reader.frames - r0;
        t.diagnostic(`never-reading viewer: ${me.framesSent} frames queued, ${me.framesDropped} dropped by the hub; a reading viewer of the same stream got ${got} of ${sent}`);
        assert.ok(got >= sent * 0.9 - 10, `the reading viewer of the same stream got ${got} of ${sent}`);
        const reading = server.viewers().find((v) => v.streamId === 'big' && v.framesDropped === 0);
        assert.ok(reading !== undefined, 'the reading viewer lost nothing');
        slow.ws.resume();
        const f0 = slow.frames;
        await until('the resumed viewer gets frames again', () => slow.frames > f0 + 20, 20_000);
      });
    } finally {
      slow.ws.terminate();
      reader.close();
      big.stop('done');
    }
  });

  it('1000 malformed messages are each answered with an error frame; the socket stays usable and the hub serves on', async (t) => {
    const malformed = (i: number): string | Buffer => {
      switch (i % 10) {
        case 0: return 'not json';
        case 1: return '{"type":';
        case 2: return '[]';
        case 3: return '42';
        case 4: return JSON.stringify({ type: 'launch-missiles' });
        case 5: return JSON.stringify({ type: 'subscribe' });
        case 6: return JSON.stringify({ type: 'subscribe', streamId: 7 });
        case 7: return JSON.stringify({ type: 'ping', id: 'x' });
        case 8: return Buffer.from([0xff, 0x00, 0x13, 0x37]);
        default: return JSON.stringify({ type: 'subscribe', streamId: 'no-such-stream' });
      }
    };
    // 20 sockets x 50 messages: under the 50-a-second limit per viewer, so every one gets its answer.
    const clients = await witnessKeepsUp(async () => {
      const cs = Array.from({ length: 20 }, () => new RawClient(url));
      await Promise.all(cs.map((c) => c.opened));
      cs.forEach((c, k) => {
        for (let i = 0; i < 50; i++) c.ws.send(malformed(k * 50 + i));
      });
      await until('1000 error frames', () => cs.reduce((a, c) => a + c.errors(), 0) >= 1000, 20_000);
      return cs;
    });
    const errors = clients.reduce((a, c) => a + c.errors(), 0);
    assert.equal(errors, 1000);
    assert.ok(clients.every((c) => c.closed === undefined), 'no socket was closed for bad messages');
    const codes = new Set(clients.flatMap((c) => c.texts.filter((m) => m.type === 'error').map((m) => m.code)));
    assert.deepEqual([...codes].sort(), ['protocol-error', 'unknown-stream']);
    // And a flood beyond the rate limit: one 'rate-limited' notice, the rest ignored, the socket still answers afterwards.
    const flood = clients[0]!;
    const e0 = flood.errors();
    for (let i = 0; i < 1000; i++) flood.ws.send('garbage');
    await sleep(1200);
    flood.ws.send(JSON.stringify({ type: 'ping', id: 1, clientTs: 1 }));
    await until('pong after the flood', () => flood.texts.some((m) => m.type === 'pong'));
    assert.ok(flood.texts.some((m) => m.type === 'error' && m.code === 'rate-limited'));
    assert.ok(flood.errors() - e0 <= 51, `at most 50 answers and one notice a second, got ${flood.errors() - e0}`);
    t.diagnostic(`malformed: 1000 messages on 20 sockets → ${errors} error frames; 1000 more on one socket → ${flood.errors() - e0} answers (rate limit)`);
    for (const c of clients) c.ws.close();
    await healthy();
  });

  it('an oversized message gets an error frame, a huge one closes that socket (1009); the hub serves on', async (t) => {
    await witnessKeepsUp(async () => {
      const c = new RawClient(url);
      await c.opened;
      c.ws.send(JSON.stringify({ type: 'ping', id: 1, clientTs: 1, pad: 'x'.repeat(10_000) }));
      await until('error frame', () => c.errors() > 0);
      assert.match(String(c.texts.find((m) => m.type === 'error')!.message), /over the 4096-byte limit/);
      assert.equal(c.closed, undefined);
      const big = new RawClient(url);
      await big.opened;
      big.ws.send(Buffer.alloc(4 * 1024 * 1024, 0x41).toString());
      await until('the huge message closes its socket', () => big.closed !== undefined);
      assert.equal(big.closed!.code, 1009);
      t.diagnostic(`oversized: a 10 kB message → error frame; a 4 MiB message → close ${big.closed!.code}`);
      c.ws.close();
    });
    await healthy();
  });

  it('200 connects and disconnects leave no viewer, handle or file descriptor behind', async (t) => {
    await until('only the witness', () => server.viewers().length === 1);
    await sleep(200);
    const fd0 = fdCount();
    const h0 = handleCount();
    await witnessKeepsUp(async () => {
      for (let i = 0; i < 200; i += 10) {
        // Ten at a time; half leave politely, half just drop the connection; some subscribe first.
        await Promise.all(
          Array.from({ length: 10 }, async (_, k) => {
            const c = new RawClient(url);
            await c.opened;
            await until('hello', () => c.texts.some((m) => m.type === 'hello'));
            if (k % 3 === 0) c.subscribe('exam');
            if ((i + k) % 2 === 0) c.ws.close();
            else c.ws.terminate();
            await until('closed', () => c.closed !== undefined);
          }),
        );
      }
    });
    await until('the hub forgets every departed viewer', () => server.viewers().length === 1);
    await sleep(300);
    const fd1 = fdCount();
    const h1 = handleCount();
    t.diagnostic(`connect/disconnect: 200 cycles; fds ${fd0} → ${fd1}, handles ${h0} → ${h1}, viewers ${server.viewers().length}`);
    assert.ok(fd1 <= fd0 + 3, `file descriptors ${fd0} → ${fd1}`);
    assert.ok(h1 <= h0 + 3, `handles ${h0} → ${h1}`);
    const health = (await (await fetch(`http://127.0.0.1:${server.port}/healthz`)).json()) as { viewers: number };
    assert.equal(health.viewers, 1);
  });

  it('a wrong or missing token is refused (4401 on the socket, 401 over HTTP); the hub serves on', async (t) => {
    const tried: string[] = [];
    await witnessKeepsUp(async () => {
      for (const [q, reason] of [[`?token=wrong`, 'wrong token'], ['', 'token required'], [`?token=${TOKEN}x`, 'wrong token']] as const) {
        const c = new RawClient(`ws://127.0.0.1:${server.port}/ws${q}`);
        await until('refused', () => c.closed !== undefined);
        assert.equal(c.closed!.code, 4401);
        assert.equal(c.closed!.reason, reason);
        assert.ok(!c.texts.some((m) => m.type === 'hello'), 'no hello (no stream list) before the refusal');
        tried.push(`socket${q || ' without token'}`);
      }
      for (const p of ['/?token=wrong', '/metrics', '/metrics?token=nope']) {
        const res = await fetch(`http://127.0.0.1:${server.port}${p}`);
        assert.equal(res.status, 401, p);
        await res.arrayBuffer();
        tried.push(`GET ${p}`);
      }
    });
    t.diagnostic(`tokens: refused ${tried.length} attempts (${tried.join(', ')})`);
    await healthy();
  });
});

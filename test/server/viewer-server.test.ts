import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import type { FrameResult, StreamInfo } from '../../src/pipeline/frame.js';
import { decodeFrameMessage } from '../../src/shared/protocol.js';
import type { DecodedFrame, ServerMessage } from '../../src/shared/protocol.js';
import { ViewerServer } from '../../src/server/viewer-server.js';

let staticDir: string;

before(() => {
  staticDir = mkdtempSync(path.join(tmpdir(), 'sgus-viewer-static-'));
  writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>viewer</title>');
  writeFileSync(path.join(staticDir, 'style.css'), 'body{}');
  mkdirSync(path.join(staticDir, 'dist'));
  writeFileSync(path.join(staticDir, 'dist', 'viewer.js'), 'console.log(1)');
  writeFileSync(path.join(staticDir, '.secret.html'), 'secret');
  writeFileSync(path.join(path.dirname(staticDir), 'sgus-outside.txt'), 'outside');
});
after(() => rmSync(staticDir, { recursive: true, force: true }));

interface HttpReply { status: number; body: string; headers: Record<string, string | string[] | undefined> }

function get(port: number, rawPath: string, headers: Record<string, string> = {}): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    // http.request sends the path as given: no URL normalisation resolves '..' before the server sees it.
    const req = request({ host: '127.0.0.1', port, path: rawPath, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A Node WebSocket viewer that records what it receives. */
class TestViewer {
  readonly ws: WebSocket;
  readonly texts: ServerMessage[] = [];
  readonly frames: DecodedFrame[] = [];
  closed: { code: number; reason: string } | undefined;
  readonly opened: Promise<void>;
  readonly closedP: Promise<{ code: number; reason: string }>;

  constructor(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}) {
    this.ws = new WebSocket(url, options);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closedP = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => {
        this.closed = { code, reason: reason.toString() };
        resolve(this.closed);
      });
    });
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) this.frames.push(decodeFrameMessage(new Uint8Array(data as Buffer)));
      else this.texts.push(JSON.parse(String(data)) as ServerMessage);
    });
  }

  async waitFor<T>(what: () => T | undefined, timeoutMs = 5000): Promise<T> {
    const t0 = Date.now();
    for (;;) {
      const v = what();
      if (v !== undefined && v !== false) return v;
      if (Date.now() - t0 > timeoutMs) throw new Error('timed out waiting');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  text<K extends ServerMessage['type']>(type: K): Extract<ServerMessage, { type: K }>[] {
    return this.texts.filter((m) => m.type === type) as Extract<ServerMessage, { type: K }>[];
  }
}

const info: StreamInfo = { id: 'cam', title: 'Camera', kind: 'live', width: 64, height: 48, fps: 25, codec: 'h264', codecString: 'avc1.42c01e' };

function result(index: number, key: boolean, bytes = 64): FrameResult {
  const data = Buffer.alloc(bytes, 0x11);
  // A NAL start so the parameter-set scanner sees one unit: IDR (5) or P slice (1).
  data.set([0, 0, 0, 1, key ? 0x65 : 0x41], 0);
  return {
    frame: {
      streamId: 'cam', index, pts: index / 25, captureTs: Date.now(), sourceWidth: 64, sourceHeight: 48,
      pixels: { width: 1, height: 1, data: new Uint8Array(3) },
      view: { codec: 'h264', codecString: 'avc1.42c01e', key, data, width: 64, height: 48 },
    },
    contours: [{ points: [[10, 10], [11, 10], [12, 10], [12, 11], [12, 12], [11, 12], [10, 12], [10, 11]], hole: false, parent: -1 }],
    area: 9,
    batchSize: 1,
    timings: { decode: 0, queue: 0, inference: 0, postprocess: 0, send: 0 },
    doneTs: Date.now(),
  };
}

describe('ViewerServer', () => {
  let server: ViewerServer;
  const viewers: TestViewer[] = [];
  const wsUrl = (q = ''): string => `ws://127.0.0.1:${server.port}/ws${q}`;

  before(async () => {
    server = await ViewerServer.start({ port: 0, token: '', staticDir, model: 'm0' });
  });
  after(async () => {
    for (const v of viewers) v.ws.terminate();
    await server.close();
  });

  it('listens on 127.0.0.1 by default and reports its URL without a token', () => {
    assert.equal(server.host, '127.0.0.1');
    assert.equal(server.url, `http://127.0.0.1:${server.port}/`);
  });

  it('serves the viewer page, script and style sheet with their types', async () => {
    const page = await get(server.port, '/');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'.*connect-src 'self' ws:\/\/127\.0\.0\.1:\d+ /);
    assert.match(String((await get(server.port, '/dist/viewer.js')).headers['content-type']), /javascript/);
    assert.match(String((await get(server.port, '/style.css')).headers['content-type']), /text\/css/);
  });

  it('refuses path traversal, dot files and unknown types', async () => {
    for (const p of ['/../package.json', '/%2e%2e/package.json', '/dist/..%2f..%2fpackage.json', '/..%5c..%5cpackage.json', '/../sgus-outside.txt', '/dist/../../sgus-outside.txt', '/%2e%2e%2fsgus-outside.txt', '/.secret.html', '/%00index.html', '/%zz']) {
      const r = await get(server.port, p);
      assert.ok([400, 403, 404].includes(r.status), `${p} → ${r.status}`);
      assert.doesNotMatch(r.body, /outside|secret|"name"/, p);
    }
    assert.equal((await get(server.port, '/nothing.html')).status, 404);
  });

  it('answers /healthz and renders /metrics with the hub and process figures in one registry', async () => {
    const h = await get(server.port, '/healthz');
    assert.equal(h.status, 200);
    assert.equal((JSON.parse(h.body) as { status: string }).status, 'ok');
    const m = await get(server.port, '/metrics');
    assert.equal(m.status, 200);
    assert.match(m.body, /^sgus_viewer_hub_viewers \d+$/m);
    assert.match(String(m.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    // prom-client's default metrics: what a hospital's monitoring expects of a Node process.
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) assert.match(m.body, new RegExp(`^# TYPE ${name} `, 'm'), name);
    const families = [...m.body.matchAll(/^# TYPE (\w+) /gm)].map((x) => x[1]);
    assert.equal(new Set(families).size, families.length, 'every family once');
  });

  it('greets a viewer with hello, then sends frames of its stream with the overlay', async () => {
    server.addStream(info);
    const v = new TestViewer(wsUrl());
    viewers.push(v);
    await v.opened;
    const hello = await v.waitFor(() => v.text('hello')[0]);
    assert.equal(hello.protocol, 1);
    assert.equal(hello.model, 'm0');
    assert.deepEqual(hello.streams.map((s) => s.id), ['cam']);
    v.ws.send(JSON.stringify({ type: 'subscribe', streamId: 'cam' }));
    await v.waitFor(() => v.text('subscribed')[0]);
    server.publishFrame(result(0, false)); // before any key frame: not sent
    server.publishFrame(result(1, true));
    server.publishFrame(result(2, false));
    await v.waitFor(() => v.frames.length >= 2 || undefined);
    assert.deepEqual(v.frames.map((f) => f.header.index), [1, 2]);
    assert.equal(v.frames[1]!.header.dropped, 0, 'waiting for the first key frame is not dropping');
    const f = v.frames[0]!;
    assert.equal(f.header.key, true);
    assert.equal(f.header.codecString, 'avc1.42c01e');
    assert.equal(f.header.area, 9);
    // The 3x3 square's border, reduced to its corners.
    assert.deepEqual(f.header.contours, [{ points: [10, 10, 12, 10, 12, 12, 10, 12], hole: false }]);
    assert.equal(f.video.byteLength, 64);
    server.publishMetrics({
      streamId: 'cam', framesIn: 3, framesOut: 3, dropped: 0, corrupt: 0, fpsIn: 25, fpsOut: 24,
      latency: Object.fromEntries(['decode', 'queue', 'inference', 'postprocess', 'send', 'e2e'].map((k) => [k, { p50: 10, p95: 20, p99: 30, max: 40, mean: 12, count: 3 }])) as never,
      batchSizes: {}, model: 'unet-s', engine: 'onnxruntime-cpu', device: 'cpu',
    });
    const metrics = await v.waitFor(() => v.text('metrics')[0]);
    assert.equal(metrics.metrics.e2eP95, 20);
    assert.equal(metrics.metrics.engine, 'onnxruntime-cpu');
    const prom = await get(server.port, '/metrics');
    // The pipeline's families, under the names of src/pipeline/prometheus.ts, from what publishMetrics gave.
    assert.match(prom.body, /^sgus_latency_seconds\{stream="cam",stage="e2e",quantile="0.95"\} 0.02$/m);
    assert.match(prom.body, /^sgus_frames_in_total\{stream="cam"\} 3$/m);
    server.endStream('cam', 'file finished');
    const ended = await v.waitFor(() => v.text('stream-ended')[0]);
    assert.equal(ended.reason, 'file finished');
  });

  it('answers malformed, oversized, binary and unknown messages with an error frame and keeps serving', async () => {
    const v = new TestViewer(wsUrl());
    viewers.push(v);
    await v.opened;
    v.ws.send('this is not json');
    v.ws.send('{"type":"launch"}');
    v.ws.send(JSON.stringify({ type: 'subscribe', streamId: 'x'.repeat(5000) }));
    v.ws.send(Buffer.from([1, 2, 3]));
    v.ws.send(JSON.stringify({ type: 'subscribe', streamId: 'no-such-stream' }));
    const errors = await v.waitFor(() => (v.text('error').length >= 5 ? v.text('error') : undefined));
    assert.match(errors[0]!.message, /not valid JSON/);
    assert.match(errors[1]!.message, /unknown message type/);
    assert.match(errors[2]!.message, /over the 4096-byte limit/);
    assert.match(errors[3]!.message, /JSON text messages only/);
    assert.equal(errors[4]!.code, 'unknown-stream');
    v.ws.send(JSON.stringify({ type: 'ping', id: 42, clientTs: 1 }));
    const pong = await v.waitFor(() => v.text('pong')[0]);
    assert.equal(pong.id, 42);
    assert.equal(v.closed, undefined);
  });

  it('closes a socket from a foreign origin with 4403 and accepts its own origin', async () => {
    const evil = new TestViewer(wsUrl(), { origin: 'http://evil.example' });
    assert.equal((await evil.closedP).code, 4403);
    const own = new TestViewer(wsUrl(), { origin: `http://127.0.0.1:${server.port}` });
    viewers.push(own);
    await own.waitFor(() => own.text('hello')[0]);
  });

  it('after a picture the pipeline dropped, sends no H.264 until the next key frame, and never a late one', async () => {
    const s = await ViewerServer.start({ port: 0, token: '', staticDir });
    try {
      s.addStream(info);
      const v = new TestViewer(`ws://127.0.0.1:${s.port}/ws`);
      await v.opened;
      v.ws.send(JSON.stringify({ type: 'subscribe', streamId: 'cam' }));
      await v.waitFor(() => v.text('subscribed')[0]);
      for (const [i, key] of [[0, true], [1, false], [2, false], [4, false], [5, false], [6, true], [3, false], [7, false]] as const) s.publishFrame(result(i, key));
      await v.waitFor(() => v.frames.some((f) => f.header.index === 7) || undefined);
      assert.deepEqual(v.frames.map((f) => f.header.index), [0, 1, 2, 6, 7]);
      assert.match((await get(s.port, '/metrics')).body, /^sgus_viewer_hub_video_gaps_total\{stream="cam"\} 2$/m);
      v.ws.terminate();
    } finally {
      await s.close();
    }
  });

  it('sends the held pictures of dropped frames before the next published frame, in index order', async () => {
    const s = await ViewerServer.start({ port: 0, token: '', staticDir });
    try {
      s.addStream(info);
      const v = new TestViewer(`ws://127.0.0.1:${s.port}/ws`);
      await v.opened;
      v.ws.send(JSON.stringify({ type: 'subscribe', streamId: 'cam' }));
      await v.waitFor(() => v.text('subscribed')[0]);
      s.publishFrame(result(0, true));
      s.publishVideo(result(2, false).frame); // dropped while frame 1 was still being segmented
      s.publishFrame(result(1, false));
      s.publishVideo(result(3, false).frame);
      s.publishFrame(result(4, false));
      s.publishVideo(result(2, false).frame); // too late: ignored
      s.publishFrame(result(5, false));
      await v.waitFor(() => v.frames.some((f) => f.header.index === 5) || undefined);
      assert.deepEqual(v.frames.map((f) => [f.header.index, f.header.noOverlay === true]), [[0, false], [1, false], [2, true], [3, true], [4, false], [5, false]]);
      assert.deepEqual(v.frames[2]!.header.contours, []);
      assert.equal(v.frames[2]!.video.byteLength, 64);
      v.ws.terminate();
    } finally {
      await s.close();
    }
  });

  it('fans every frame out to many viewers', async () => {
    const s = await ViewerServer.start({ port: 0, token: '', staticDir });
    try {
      s.addStream(info);
      const many = Array.from({ length: 24 }, () => new TestViewer(`ws://127.0.0.1:${s.port}/ws`));
      await Promise.all(many.map((v) => v.opened));
      for (const v of many) v.ws.send(JSON.stringify({ type: 'subscribe', streamId: 'cam' }));
      await Promise.all(many.map((v) => v.waitFor(() => v.text('subscribed')[0])));
      for (let i = 0; i < 50; i++) {
        s.publishFrame(result(i, i % 10 === 0, 4096));
        await new Promise((r) => setTimeout(r, 2));
      }
      await Promise.all(many.map((v) => v.waitFor(() => v.frames.length === 50 || undefined)));
      assert.equal(s.viewers().length, 24);
      assert.ok(s.viewers().every((v) => v.framesSent === 50 && v.framesDropped === 0));
      for (const v of many) v.ws.terminate();
    } finally {
      await s.close();
    }
  });

  it('lets a slow viewer drop its own frames, restart at a key frame, and never slows the others', async () => {
    const slowServer = await ViewerServer.start({ port: 0, token: '', staticDir, maxViewerQueueBytes: 256 * 1024, maxViewerQueueFrames: 4 });
    try {
      slowServer.addStream(info);
      const fast = new TestViewer(`ws://127.0.0.1:${slowServer.port}/ws`);
      const slow = new TestViewer(`ws://127.0.0.1:${slowServer.port}/ws`);
      await Promise.all([fast.opened, slow.opened]);
      for (const v of [fast, slow]) v.ws.send(JSON.stringify({ type: 'subscribe', streamId: 'cam' }));
      await fast.waitFor(() => fast.text('subscribed')[0]);
      await slow.waitFor(() => slow.text('subscribed')[0]);
      // Stop reading: the slow viewer's socket buffers fill up and the hub must drop for it alone.
      (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
      const total = 240;
      const publishMs: number[] = [];
      for (let i = 0; i < total; i++) {
        const t0 = performance.now();
        slowServer.publishFrame(result(i, i % 20 === 0, 100 * 1024));
        publishMs.push(performance.now() - t0);
        // Paced like a live source: the next frame comes once the fast viewer has this one.
        await fast.waitFor(() => fast.frames.length >= i + 1 || undefined, 10000);
      }
      await fast.waitFor(() => fast.frames.length === total || undefined, 10000);
      assert.deepEqual(fast.frames.map((f) => f.header.index), [...Array(total).keys()]);
      const slowInfo = slowServer.viewers().find((v) => v.framesDropped > 0);
      assert.ok(slowInfo !== undefined, 'the slow viewer dropped frames');
      assert.equal(slowServer.viewers().filter((v) => v.framesDropped > 0).length, 1, 'only the slow viewer dropped');
      // A percentile, not the maximum: on a loaded machine the OS may pause the process anywhere.
      publishMs.sort((a, b) => a - b);
      const p95 = publishMs[Math.floor(publishMs.length * 0.95)]!;
      assert.ok(p95 < 20, `publishFrame p95 ${p95.toFixed(1)} ms (max ${publishMs[publishMs.length - 1]!.toFixed(1)} ms)`);
      (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
      // Keep publishing while the slow viewer drains its backlog, until it is back on live frames.
      const deadline = Date.now() + 15000;
      for (let i = total; !slow.frames.some((f) => f.header.index >= total + 20); i++) {
        assert.ok(Date.now() < deadline, 'the slow viewer came back');
        slowServer.publishFrame(result(i, i % 20 === 0, 1024));
        await new Promise((r) => setTimeout(r, 5));
      }
      // After every gap the next frame the slow viewer got is a key frame.
      const got = slow.frames.map((f) => f.header);
      for (let k = 1; k < got.length; k++) {
        if (got[k]!.index !== got[k - 1]!.index + 1) assert.equal(got[k]!.key, true, `frame ${got[k]!.index} after a gap must be a key frame`);
      }
      assert.ok(got.length < got[got.length - 1]!.index + 1, 'the slow viewer missed frames');
      assert.ok(got[got.length - 1]!.dropped > 0, 'the header tells the viewer how many it missed');
      fast.ws.terminate();
      slow.ws.terminate();
    } finally {
      await slowServer.close();
    }
  });

  // An H.264 stream's fallback pictures are decoded from its H.264 (test/server/jpeg-fallback.test.ts);
  // the frame's pixels serve a viewer that cannot take the stream's own pictures otherwise.
  /** A hub at 0.5 fallback pictures a second (ten synchronous publishes cannot span the interval, however loaded the machine), one viewer of H.264 only, and ten JPEG frames published at once. */
  async function tenJpegFramesToAnH264Viewer(run: (s: ViewerServer, v: TestViewer) => Promise<void>): Promise<void> {
    const s = await ViewerServer.start({ port: 0, token: '', staticDir, fallbackJpegFps: 0.5 });
    try {
      s.addStream(info);
      const v = new TestViewer(`ws://127.0.0.1:${s.port}/ws`);
      await v.opened;
      v.ws.send(JSON.stringify({ type: 'subscribe', streamId: 'cam', codecs: ['h264'] }));
      await v.waitFor(() => v.text('subscribed')[0]);
      const pixels = { width: 32, height: 24, data: new Uint8Array(32 * 24 * 3).fill(128) };
      for (let i = 0; i < 10; i++) {
        const r = result(i, i === 0);
        r.frame.view = { codec: 'jpeg', key: true, data: Buffer.from([0xff, 0xd8, 0xff, 0xd9]), width: 64, height: 48 };
        r.frame.pixels = pixels;
        s.publishFrame(r);
      }
      await run(s, v);
      v.ws.terminate();
    } finally {
      await s.close();
    }
  }

  it("sends JPEG pictures made from the frame pixels to a viewer that cannot take the stream's pictures, at most fallbackJpegFps", async () => {
    await tenJpegFramesToAnH264Viewer(async (_s, v) => {
      const f = await v.waitFor(() => v.frames[0]);
      assert.equal(f.header.codec, 'jpeg');
      assert.equal(f.header.key, true);
      assert.equal(f.header.width, 32);
      assert.equal(f.header.sourceWidth, 64);
      assert.equal(f.header.codecString, undefined);
      assert.deepEqual([...f.video.subarray(0, 2)], [0xff, 0xd8]);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(v.frames.length, 1, 'ten frames at once give one picture at 0.5 fps');
    });
  });

  it("counts a viewer's frames skipped by the JPEG fallback's rate limit in the server's dropped total too", async () => {
    await tenJpegFramesToAnH264Viewer(async (s, v) => {
      await v.waitFor(() => v.frames[0]);
      assert.equal(s.viewers()[0]!.framesDropped, 9, 'one picture sent, nine skipped');
      assert.match((await get(s.port, '/metrics')).body, /^sgus_viewer_hub_frames_dropped_total 9$/m);
    });
  });

  it('tells listeners when viewers come and go, and can be closed twice', async () => {
    const s = await ViewerServer.start({ port: 0, token: '', staticDir });
    const events: string[] = [];
    s.on('viewer-connected', (v) => events.push(`connected ${v.id}`));
    s.on('viewer-disconnected', (v, code) => events.push(`disconnected ${v.id} ${code}`));
    const v = new TestViewer(`ws://127.0.0.1:${s.port}/ws`);
    await v.opened;
    await v.waitFor(() => v.text('hello')[0]);
    await Promise.all([s.close(), s.close()]);
    await s.close();
    assert.equal((await v.closedP).code, 1001);
    await v.waitFor(() => events.length >= 2 || undefined);
    assert.deepEqual(events, ['connected 1', 'disconnected 1 1001']);
  });

  it('refuses a port already in use with a fatal SgusError', async () => {
    await assert.rejects(ViewerServer.start({ port: server.port, token: '', staticDir }), (e: unknown) => {
      return e instanceof Error && (e as { code?: string }).code === 'sink-failure' && (e as { fatal?: boolean }).fatal === true;
    });
  });
});

describe('ViewerServer with a token', () => {
  let server: ViewerServer;
  before(async () => {
    server = await ViewerServer.start({ port: 0, token: 's3cret', staticDir, metricsText: () => '# pipeline metrics\nsgus_pipeline_up 1' });
  });
  after(() => server.close());

  it('never puts the token in its URL; the printable URL says where the token goes', () => {
    assert.equal(server.url, `http://127.0.0.1:${server.port}/`);
    assert.equal(server.printableUrl, `http://127.0.0.1:${server.port}/?token=<your token>`);
    assert.doesNotMatch(server.printableUrl, /s3cret/);
  });

  it('answers the page with 401 without the right token, 200 with it (query or header)', async () => {
    assert.equal((await get(server.port, '/')).status, 401);
    assert.match((await get(server.port, '/')).body, /needs a valid token/);
    assert.equal((await get(server.port, '/index.html?token=wrong')).status, 401);
    assert.equal((await get(server.port, '/?token=s3cret')).status, 200);
    assert.equal((await get(server.port, '/', { authorization: 'Bearer s3cret' })).status, 200);
    assert.equal((await get(server.port, '/', { 'x-sgus-token': 's3cret' })).status, 200);
  });

  it('guards /metrics with the token and uses the pipeline hook', async () => {
    assert.equal((await get(server.port, '/metrics')).status, 401);
    const m = await get(server.port, '/metrics', { authorization: 'Bearer s3cret' });
    assert.equal(m.status, 200);
    assert.match(m.body, /^sgus_pipeline_up 1$/m);
    assert.match(m.body, /^sgus_viewer_hub_viewers 0$/m);
  });

  it('closes a socket without or with a wrong token with 4401 and a reason', async () => {
    const none = new TestViewer(`ws://127.0.0.1:${server.port}/ws`);
    assert.deepEqual(await none.closedP, { code: 4401, reason: 'token required' });
    assert.equal(none.texts.length, 0, 'no hello, no stream');
    const wrong = new TestViewer(`ws://127.0.0.1:${server.port}/ws?token=nope`);
    assert.deepEqual(await wrong.closedP, { code: 4401, reason: 'wrong token' });
    const right = new TestViewer(`ws://127.0.0.1:${server.port}/ws?token=s3cret`);
    await right.waitFor(() => right.text('hello')[0]);
    right.ws.terminate();
  });
});

/** Opens a WebSocket and reports how the upgrade ended: the HTTP status of a refusal, or what arrived once open. */
function upgrade(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<{ status?: number; body?: string; close?: { code: number; reason: string }; messages: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, options);
    let messages = 0;
    ws.on('message', () => messages++);
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, messages }));
    });
    ws.on('error', () => undefined);
    ws.on('close', (code, reason) => resolve({ close: { code, reason: reason.toString() }, messages }));
    ws.on('open', () => setTimeout(() => ws.close(), 100));
  });
}

describe('ViewerServer against DNS rebinding', () => {
  let server: ViewerServer;
  before(async () => {
    server = await ViewerServer.start({ port: 0, token: '', staticDir });
  });
  after(() => server.close());

  it('answers a request naming another Host with 421 and one line, on every path', async () => {
    for (const p of ['/', '/index.html', '/metrics', '/healthz', '/dist/viewer.js']) {
      const r = await get(server.port, p, { host: `attacker.example:${server.port}` });
      assert.equal(r.status, 421, p);
      assert.match(r.body, /^host not allowed: [^\n]*\n$/, p);
    }
    // Same names on another port, or near-misses of the loopback names, are other hosts too.
    for (const host of ['localhost:1', `127.0.0.1.attacker.example:${server.port}`, `localhost.attacker.example:${server.port}`, 'bad host!']) {
      assert.equal((await get(server.port, '/healthz', { host })).status, 421, host);
    }
  });

  it('serves the loopback names with its port', async () => {
    for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, `LOCALHOST:${server.port}`, `[::1]:${server.port}`]) {
      assert.equal((await get(server.port, '/', { host })).status, 200, host);
    }
  });

  it('refuses a WebSocket upgrade naming another Host before the handshake, and an upgrade from a foreign origin', async () => {
    const rebound = await upgrade(`ws://127.0.0.1:${server.port}/ws`, { headers: { host: `attacker.example:${server.port}` }, origin: `http://attacker.example:${server.port}` });
    assert.equal(rebound.status, 421);
    assert.match(rebound.body ?? '', /^host not allowed/);
    assert.equal(rebound.messages, 0);
    const foreign = await upgrade(`ws://127.0.0.1:${server.port}/ws`, { origin: `http://attacker.example:${server.port}` });
    assert.deepEqual(foreign.close, { code: 4403, reason: 'origin not allowed' });
    assert.equal(foreign.messages, 0);
    const own = await upgrade(`ws://127.0.0.1:${server.port}/ws`, { headers: { host: `localhost:${server.port}` }, origin: `http://localhost:${server.port}` });
    assert.ok(own.messages >= 1, 'the hello arrived');
  });

  it('builds the CSP from the configured names, never from the Host header', async () => {
    const r = await get(server.port, '/', { host: `localhost:${server.port}` });
    const csp = String(r.headers['content-security-policy']);
    const connect = /connect-src ([^;]*)/.exec(csp)?.[1]?.split(' ') ?? [];
    assert.deepEqual(connect, ['\'self\'', `ws://127.0.0.1:${server.port}`, `wss://127.0.0.1:${server.port}`, `ws://localhost:${server.port}`, `wss://localhost:${server.port}`]);
  });

  it('serves the names of --allowed-host (any port, or the one given) and their pages\' origins', async () => {
    const s = await ViewerServer.start({ port: 0, token: '', staticDir, allowedHosts: ['ward.example', 'scanner.local:9000'], allowedOrigins: ['https://portal.example'] });
    try {
      for (const host of ['ward.example', 'ward.example:443', 'WARD.EXAMPLE.', 'scanner.local:9000']) assert.equal((await get(s.port, '/healthz', { host })).status, 200, host);
      assert.equal((await get(s.port, '/healthz', { host: 'scanner.local:9001' })).status, 421);
      assert.equal((await get(s.port, '/healthz', { host: 'evil.ward.example' })).status, 421);
      assert.match(String((await get(s.port, '/', { host: 'ward.example' })).headers['content-security-policy']), / ws:\/\/ward\.example:\* wss:\/\/ward\.example:\* ws:\/\/scanner\.local:9000 /);
      const url = `ws://127.0.0.1:${s.port}/ws`;
      assert.ok((await upgrade(url, { headers: { host: 'ward.example' }, origin: 'https://ward.example' })).messages >= 1);
      assert.ok((await upgrade(url, { origin: 'https://portal.example' })).messages >= 1);
      assert.equal((await upgrade(url, { origin: 'https://other.example' })).close?.code, 4403);
      assert.equal((await upgrade(url, { origin: 'null' })).close?.code, 4403);
    } finally {
      await s.close();
    }
  });

  it('refuses a malformed --allowed-host or --allowed-origin before listening', async () => {
    await assert.rejects(ViewerServer.start({ port: 0, token: '', staticDir, allowedHosts: ['http://ward.example/'] }), /--allowed-host 'http:\/\/ward\.example\/' is not a host name/);
    await assert.rejects(ViewerServer.start({ port: 0, token: '', staticDir, allowedOrigins: ['ward.example'] }), /--allowed-origin 'ward\.example' must be an origin/);
  });
});

describe('ViewerServer beyond loopback', () => {
  it('refuses to listen on 0.0.0.0 without a token unless insecure', async () => {
    await assert.rejects(ViewerServer.start({ host: '0.0.0.0', port: 0, token: '', staticDir }), (e: unknown) => {
      assert.ok(e instanceof Error && (e as { code?: string }).code === 'invalid-argument');
      assert.match(e.message, /^viewer server 0\.0\.0\.0:0: listening on 0\.0\.0\.0 opens the viewer to the network: set a token \(--token or SGUS_TOKEN\), or pass --insecure/);
      return true;
    });
    const s = await ViewerServer.start({ host: '0.0.0.0', port: 0, token: '', staticDir, insecure: true });
    try {
      assert.equal(s.printableUrl, `http://127.0.0.1:${s.port}/`);
      // On every interface, the machine's own addresses are its names; foreign names are still refused.
      const own = Object.values(networkInterfaces()).flat().find((a) => a !== undefined && a.family === 'IPv4' && !a.internal);
      if (own !== undefined) assert.equal((await get(s.port, '/healthz', { host: `${own.address}:${s.port}` })).status, 200);
      assert.equal((await get(s.port, '/healthz', { host: `attacker.example:${s.port}` })).status, 421);
    } finally {
      await s.close();
    }
  });

  it('listens on 0.0.0.0 with a token and never prints it', async () => {
    const s = await ViewerServer.start({ host: '0.0.0.0', port: 0, token: 'n3tw0rk', staticDir });
    try {
      assert.equal(s.printableUrl, `http://127.0.0.1:${s.port}/?token=<your token>`);
      assert.equal((await get(s.port, '/')).status, 401);
    } finally {
      await s.close();
    }
  });
});

describe('ViewerServer over TLS', () => {
  let dir = '';
  let cert = '';
  let key = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sgus-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    cert = readFileSync(path.join(dir, 'cert.pem'), 'utf8');
    key = readFileSync(path.join(dir, 'key.pem'), 'utf8');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serves the page over HTTPS and the stream over WSS', async () => {
    const s = await ViewerServer.start({ port: 0, token: 'tls-token', staticDir, tls: { cert, key } });
    try {
      assert.equal(s.printableUrl, `https://127.0.0.1:${s.port}/?token=<your token>`);
      const page = await new Promise<{ status: number; csp: string }>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port: s.port, path: '/?token=tls-token', ca: cert }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, csp: String(res.headers['content-security-policy']) }));
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(page.status, 200);
      assert.match(page.csp, /wss:\/\/127\.0\.0\.1:\d+/);
      const v = new TestViewer(`wss://127.0.0.1:${s.port}/ws?token=tls-token`, { ca: cert });
      const hello = await v.waitFor(() => v.text('hello')[0]);
      assert.equal(hello.protocol, 1);
      v.ws.terminate();
      // Plain HTTP on the TLS port gets nothing.
      await assert.rejects(get(s.port, '/healthz'));
    } finally {
      await s.close();
    }
  });

  it('refuses a certificate or key that is not PEM with one line', async () => {
    await assert.rejects(ViewerServer.start({ port: 0, token: 't', staticDir, tls: { cert: 'not a certificate', key } }), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.match(e.message, /^viewer server 127\.0\.0\.1:0: cannot serve HTTPS: not a PEM certificate and private key$/);
      return true;
    });
  });
});

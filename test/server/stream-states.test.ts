/**
 * Truthful live state, against the real viewer server on 127.0.0.1: every change of a stream's
 * state (reconnecting, stalled, live again, ended) reaches connected viewers as one `stream-state`
 * message; a stream that is down or never opened makes /healthz answer 503 with its state; and the
 * real Pipeline tells the hub when its live source dies and comes back.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { Pipeline } from '../../src/pipeline/compose.js';
import type { FrameResult, StreamInfo } from '../../src/pipeline/frame.js';
import type { ServerMessage, StreamStateMessage } from '../../src/shared/protocol.js';
import { ViewerServer } from '../../src/server/viewer-server.js';
import { clip, fakeSegmenter, sleep } from '../helpers/pipeline.js';
import { hasFfmpeg } from '../helpers/synthetic-stream.js';

interface Health {
  status: string;
  down: string[];
  streamStates: { id: string; state: string; healthy: boolean; reason: string; failed?: boolean; secondsSinceLastFrame: number | null }[];
}

function healthz(port: number): Promise<{ status: number; body: Health }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) as Health }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A Node WebSocket viewer keeping the text messages it gets. */
class TextViewer {
  readonly ws: WebSocket;
  readonly texts: ServerMessage[] = [];
  readonly opened: Promise<void>;

  constructor(port: number) {
    this.ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.ws.on('message', (data, isBinary) => {
      if (!isBinary) this.texts.push(JSON.parse(String(data)) as ServerMessage);
    });
  }

  states(streamId: string): StreamStateMessage[] {
    return this.texts.filter((m): m is StreamStateMessage => m.type === 'stream-state' && m.streamId === streamId);
  }

  async waitFor<T>(what: string, get: () => T | undefined, timeoutMs = 5000): Promise<T> {
    const t0 = Date.now();
    for (;;) {
      const v = get();
      if (v !== undefined) return v;
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.texts.map((m) => m.type))}`);
      await sleep(10);
    }
  }
}

const info: StreamInfo = { id: 'cam', title: 'Scanner 3', kind: 'live', width: 64, height: 48, fps: 25, codec: 'jpeg' };

function result(index: number, streamId = 'cam'): FrameResult {
  return {
    frame: {
      streamId, index, pts: index / 25, captureTs: Date.now(), sourceWidth: 64, sourceHeight: 48,
      pixels: { width: 1, height: 1, data: new Uint8Array(3) },
      view: { codec: 'jpeg', key: true, data: Buffer.from([0xff, 0xd8, 0xff, 0xd9]), width: 64, height: 48 },
    },
    contours: [],
    area: 0,
    batchSize: 1,
    timings: { decode: 0, queue: 0, inference: 0, postprocess: 0, send: 0 },
    doneTs: Date.now(),
  };
}

describe('stream states on the viewer server', () => {
  const servers: ViewerServer[] = [];
  const sockets: WebSocket[] = [];
  after(async () => {
    for (const s of sockets) s.terminate();
    for (const s of servers) await s.close();
  });
  async function start(options: { stallAfterS?: number } = {}): Promise<ViewerServer> {
    const s = await ViewerServer.start({ port: 0, token: '', ...options });
    servers.push(s);
    return s;
  }
  async function viewer(server: ViewerServer): Promise<TextViewer> {
    const v = new TextViewer(server.port);
    sockets.push(v.ws);
    await v.opened;
    await v.waitFor('hello', () => v.texts.find((m) => m.type === 'hello'));
    return v;
  }

  it("announces a stream that goes 'reconnecting' to a connected viewer, then 'live' again", async () => {
    const server = await start();
    server.addStream(info);
    const v = await viewer(server);
    const hello = v.texts.find((m) => m.type === 'hello');
    assert.equal(hello?.type === 'hello' ? hello.streams[0]?.status?.state : undefined, 'live');
    server.publishFrame(result(0));
    server.setStreamState('cam', 'reconnecting', { reason: 'ffmpeg exited with code 1', attempt: 2, retryInMs: 1000 });
    const m = await v.waitFor('the reconnecting state', () => v.states('cam').find((x) => x.status.state === 'reconnecting'));
    assert.equal(m.status.reason, 'ffmpeg exited with code 1');
    assert.equal(m.status.attempt, 2);
    assert.equal(m.status.retryInMs, 1000);
    assert.ok(Math.abs(m.status.since - Date.now()) < 2000, 'since is on the server clock');
    assert.ok(m.status.lastFrameTs !== undefined && m.status.lastFrameTs <= Date.now(), 'says when the last frame came');
    // The same state again is not news.
    server.setStreamState('cam', 'reconnecting', { reason: 'ffmpeg exited with code 1', attempt: 2, retryInMs: 1000 });
    server.setStreamState('cam', 'live', { reason: 'source opened' });
    await v.waitFor('live again', () => v.states('cam').find((x) => x.status.state === 'live'));
    assert.deepEqual(v.states('cam').map((x) => x.status.state), ['reconnecting', 'live']);
  });

  it("says 'stalled' when frames stop with no word from the source, and 'live' when they come back", async () => {
    const server = await start({ stallAfterS: 0.3 });
    server.addStream(info);
    const v = await viewer(server);
    for (let i = 0; i < 5; i++) {
      server.publishFrame(result(i));
      await sleep(40);
    }
    const stalled = await v.waitFor('stalled', () => v.states('cam').find((x) => x.status.state === 'stalled'), 3000);
    assert.match(stalled.status.reason, /^no frame for \d+\.\d s$/);
    assert.equal((await healthz(server.port)).status, 503);
    server.publishFrame(result(5));
    await v.waitFor('live again', () => v.states('cam').find((x) => x.status.state === 'live'));
    assert.equal((await healthz(server.port)).status, 200);
  });

  it('lists a recording as replay, never as live', async () => {
    const server = await start();
    server.addStream({ ...info, id: 'exam', kind: 'replay' });
    const v = await viewer(server);
    const hello = v.texts.find((m) => m.type === 'hello');
    assert.equal(hello?.type === 'hello' ? hello.streams[0]?.status?.state : undefined, 'replay');
  });

  it('/healthz answers 503 with the state of a configured stream that never opened and of one that is down', async () => {
    const server = await start();
    server.addStream(info);
    server.publishFrame(result(0));
    const ok = await healthz(server.port);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.status, 'ok');
    assert.deepEqual(ok.body.streamStates.map((s) => [s.id, s.state, s.healthy]), [['cam', 'live', true]]);

    server.expectStream('ward-2', 'Ward 2', 'live');
    const v = await viewer(server);
    const hello = v.texts.find((m) => m.type === 'hello');
    assert.deepEqual(hello?.type === 'hello' ? hello.streams.map((s) => [s.id, s.status?.state]) : [], [['cam', 'live'], ['ward-2', 'starting']]);
    const never = await healthz(server.port);
    assert.equal(never.status, 503);
    assert.equal(never.body.status, 'down');
    assert.deepEqual(never.body.down, ['ward-2']);
    const w2 = never.body.streamStates.find((s) => s.id === 'ward-2');
    assert.equal(w2?.state, 'starting');
    assert.equal(w2?.secondsSinceLastFrame, null);

    server.setStreamState('ward-2', 'ended', { reason: 'cannot open /dev/video7: no such device', failed: true });
    const failed = await healthz(server.port);
    assert.equal(failed.status, 503);
    const f = failed.body.streamStates.find((s) => s.id === 'ward-2');
    assert.deepEqual([f?.state, f?.failed, f?.reason], ['ended', true, 'cannot open /dev/video7: no such device']);

    server.setStreamState('cam', 'reconnecting', { reason: 'no data for 5 s', attempt: 1, retryInMs: 500 });
    const both = await healthz(server.port);
    assert.deepEqual(both.body.down, ['cam', 'ward-2']);
    assert.equal(both.body.streamStates.find((s) => s.id === 'cam')?.state, 'reconnecting');
  });

  it('a stream the pipeline reports before it ever opened is listed, as down', async () => {
    const server = await start();
    const v = await viewer(server);
    server.setStreamState('rtsp-cam', 'reconnecting', { reason: 'connection refused', attempt: 1, retryInMs: 500 });
    const added = await v.waitFor('the stream listed', () => v.texts.find((m) => m.type === 'stream-added'));
    assert.equal(added.type === 'stream-added' ? added.stream.id : '', 'rtsp-cam');
    await v.waitFor('its state', () => v.states('rtsp-cam').find((x) => x.status.state === 'reconnecting'));
    assert.equal((await healthz(server.port)).status, 503);
  });

  it('an ended recording is not a fault; its end goes out as a state', async () => {
    const server = await start();
    server.addStream({ ...info, id: 'exam', kind: 'replay' });
    const v = await viewer(server);
    server.endStream('exam', 'end of file');
    const m = await v.waitFor('ended', () => v.states('exam').find((x) => x.status.state === 'ended'));
    assert.equal(m.status.reason, 'end of file');
    assert.equal(m.status.failed, undefined);
    assert.equal((await healthz(server.port)).status, 200);
  });

  it('the pipeline tells viewers and /healthz when its live source dies and when it is back', { skip: hasFfmpeg() ? false : 'no ffmpeg', timeout: 60_000 }, async () => {
    const server = await start();
    const file = await clip({ seconds: 2 });
    // A long first backoff leaves time to look at /healthz while the source is down.
    const pipeline = new Pipeline({
      streams: [{ id: 'cam', title: 'Scanner 3', source: { type: 'file', path: file }, mode: 'live', realtime: true, loop: true, reconnectInitialMs: 1500 }],
      segmenter: fakeSegmenter(),
      hub: server,
      isolateFailures: true,
    });
    try {
      const v = await viewer(server);
      let frames = 0;
      pipeline.on('frame', () => frames++);
      await v.waitFor('frames', () => (frames >= 10 ? true : undefined), 20_000);
      assert.equal((await healthz(server.port)).status, 200);
      process.kill(pipeline.source('cam')!.pid!, 'SIGKILL');
      const lost = await v.waitFor('reconnecting', () => v.states('cam').find((x) => x.status.state === 'reconnecting'), 10_000);
      assert.equal(lost.status.attempt, 1);
      assert.equal(lost.status.retryInMs, 1500);
      assert.ok(lost.status.reason.length > 0);
      const down = await healthz(server.port);
      assert.equal(down.status, 503);
      assert.deepEqual(down.body.down, ['cam']);
      await v.waitFor('live again', () => v.states('cam').find((x) => x.status.state === 'live'), 15_000);
      assert.equal((await healthz(server.port)).status, 200);
    } finally {
      await pipeline.stop().catch(() => undefined);
      pipeline.close();
    }
  });
});

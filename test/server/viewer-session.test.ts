import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { decodeFrameMessage } from '../../src/shared/protocol.js';
import type { ServerMessage } from '../../src/shared/protocol.js';
import { ViewerSession } from '../../src/server/viewer-session.js';
import type { OutgoingHeader, ViewerSessionOptions, ViewerSocket } from '../../src/server/viewer-session.js';

/** A socket that records what the session does with it; `bufferedAmount` is set by the test. */
class FakeSocket extends EventEmitter {
  readyState = 1; // OPEN
  bufferedAmount = 0;
  readonly binary: Uint8Array[] = [];
  readonly texts: ServerMessage[] = [];
  readonly closes: [number, string][] = [];
  terminated = 0;
  pings = 0;
  /** Write callbacks not run yet (frames in flight). */
  readonly pending: (() => void)[] = [];

  send(data: string | Uint8Array, _opts?: unknown, cb?: (err?: Error) => void): void {
    if (typeof data === 'string') this.texts.push(JSON.parse(data) as ServerMessage);
    else this.binary.push(data);
    if (cb !== undefined) this.pending.push(() => cb());
  }
  close(code: number, reason: string): void {
    this.closes.push([code, reason]);
    this.readyState = 2; // CLOSING
  }
  terminate(): void {
    this.terminated++;
    this.readyState = 3;
  }
  ping(): void {
    this.pings++;
  }
  flush(): void {
    for (const cb of this.pending.splice(0)) cb();
  }
}

function session(options: Partial<ViewerSessionOptions> = {}): { ws: FakeSocket; s: ViewerSession; dropped: () => number } {
  const ws = new FakeSocket();
  let dropped = 0;
  const s = new ViewerSession(ws as unknown as ViewerSocket, { id: 1, onDropped: () => dropped++, ...options });
  return { ws, s, dropped: () => dropped };
}

const header = (index: number, key: boolean): OutgoingHeader => ({
  streamId: 'cam', index, pts: 0, captureTs: 0, doneTs: 0, codec: 'h264', width: 8, height: 8, key, sourceWidth: 8, sourceHeight: 8, contours: [], area: 0,
});
const video = new Uint8Array([0, 0, 0, 1, 0x41]);
const sentIndices = (ws: FakeSocket): number[] => ws.binary.map((b) => decodeFrameMessage(b).header.index);

describe('ViewerSession', () => {
  it('closes its socket once however often close() is called, and reports the close once', () => {
    const closes: [number, string][] = [];
    const { ws, s } = session({ onClose: (code, reason) => closes.push([code, reason]) });
    s.close(1001, 'bye');
    s.close(1001, 'bye again');
    assert.deepEqual(ws.closes, [[1001, 'bye']]);
    assert.equal(s.open, false);
    ws.emit('close', 1001, Buffer.from('bye'));
    ws.emit('close', 1001, Buffer.from('bye'));
    assert.deepEqual(closes, [[1001, 'bye']]);
    s.send({ type: 'subscribed', streamId: 'cam' });
    assert.equal(ws.texts.length, 0, 'nothing is sent once closing');
  });

  it('after frames dropped for a full queue, waits for the next key frame, and counts the drops in its own and the hub total', () => {
    const { ws, s, dropped } = session({ maxQueueBytes: 1000 });
    s.subscribe('cam', undefined);
    assert.equal(s.offerFrame(header(0, true), video, true), true);
    ws.bufferedAmount = 5000; // the link is slow
    assert.equal(s.offerFrame(header(1, false), video, true), false);
    ws.bufferedAmount = 0; // drained: but frame 2 references frame 1, which it never got
    assert.equal(s.offerFrame(header(2, false), video, true), false);
    assert.equal(s.offerFrame(header(3, true), video, true), true);
    assert.equal(s.offerFrame(header(4, false), video, true), true);
    assert.deepEqual(sentIndices(ws), [0, 3, 4]);
    assert.equal(s.info.framesDropped, 2);
    assert.equal(dropped(), 2);
    assert.equal(decodeFrameMessage(ws.binary[1]!).header.dropped, 2, 'the header says how many it missed');
  });

  it('does not count frames before its first key frame as dropped, nor send them', () => {
    const { ws, s, dropped } = session();
    s.subscribe('cam', ['h264']);
    assert.equal(s.offerFrame(header(0, false), video, true), false);
    assert.equal(s.offerFrame(header(1, true), video, true), true);
    assert.deepEqual(sentIndices(ws), [1]);
    assert.equal(dropped(), 0);
    assert.equal(s.decodes('jpeg'), false);
    // A restarted stream: joining again, at its next key frame.
    s.rejoin();
    assert.equal(s.offerFrame(header(0, false), video, true), false);
    assert.equal(dropped(), 0);
  });

  it('drops frames while too many are in flight, and takes them again once written', () => {
    const { ws, s } = session({ maxQueueFrames: 2 });
    s.subscribe('cam', undefined);
    s.offerFrame(header(0, true), video, true);
    s.offerFrame(header(1, false), video, true);
    assert.equal(s.congested, true);
    assert.equal(s.offerPicture(header(2, true), video), false);
    ws.flush();
    assert.equal(s.congested, false);
    assert.equal(s.offerPicture(header(3, true), video), true);
    assert.deepEqual(sentIndices(ws), [0, 1, 3]);
    assert.equal(s.info.framesSent, 3);
    assert.equal(s.info.framesDropped, 1);
  });

  it('answers pings, passes subscribes on, and refuses oversized and binary messages with an error frame', () => {
    const subs: string[] = [];
    const { ws } = session({ maxMessageBytes: 100, onSubscribe: (m) => subs.push(m.streamId) });
    ws.emit('message', Buffer.from(JSON.stringify({ type: 'ping', id: 7, clientTs: 1 })), false);
    ws.emit('message', Buffer.from(JSON.stringify({ type: 'subscribe', streamId: 'cam' })), false);
    ws.emit('message', Buffer.from('x'.repeat(200)), false);
    ws.emit('message', Buffer.from([1, 2]), true);
    assert.deepEqual(subs, ['cam']);
    assert.equal(ws.texts[0]!.type, 'pong');
    const errors = ws.texts.filter((m): m is Extract<ServerMessage, { type: 'error' }> => m.type === 'error');
    assert.match(errors[0]!.message, /over the 100-byte limit/);
    assert.match(errors[1]!.message, /JSON text messages only/);
  });

  it('cuts a viewer that did not answer the last keep-alive ping', () => {
    const { ws, s } = session();
    s.heartbeat();
    assert.equal(ws.pings, 1);
    ws.emit('pong');
    s.heartbeat();
    assert.equal(ws.pings, 2);
    assert.equal(ws.terminated, 0);
    s.heartbeat();
    assert.equal(ws.terminated, 1);
  });
});

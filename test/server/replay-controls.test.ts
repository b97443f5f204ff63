/**
 * Viewers' replay controls on the server side, from a hostile client's point of view: every bad
 * control gets one clear error to that client and the server keeps serving. Parsing is
 * src/shared/protocol.ts, the rate per viewer src/server/viewer-session.ts, the stream checks
 * src/server/replay-control.ts.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { MAX_SEEK_S, parseClientMessage } from '../../src/shared/protocol.js';
import type { ControlMessage, ServerMessage } from '../../src/shared/protocol.js';
import { ViewerSession } from '../../src/server/viewer-session.js';
import type { ViewerSocket } from '../../src/server/viewer-session.js';
import { controlRefusal } from '../../src/server/replay-control.js';
import { AreaSeries, parseAreasPath } from '../../src/server/area-series.js';

class FakeSocket extends EventEmitter {
  readyState = 1;
  bufferedAmount = 0;
  readonly texts: ServerMessage[] = [];
  send(data: string | Uint8Array): void {
    if (typeof data === 'string') this.texts.push(JSON.parse(data) as ServerMessage);
  }
  close(): void {}
  terminate(): void {}
  ping(): void {}
}

const errors = (ws: FakeSocket): string[] => ws.texts.flatMap((m) => (m.type === 'error' ? [`${m.code}: ${m.message}`] : []));

describe('control messages (protocol)', () => {
  it('accepts each action with its own field', () => {
    assert.deepEqual(parseClientMessage('{"type":"control","streamId":"r","action":"pause"}'), { type: 'control', streamId: 'r', action: 'pause' });
    assert.deepEqual(parseClientMessage('{"type":"control","streamId":"r","action":"seek","t":12.5}'), { type: 'control', streamId: 'r', action: 'seek', t: 12.5 });
    assert.deepEqual(parseClientMessage('{"type":"control","streamId":"r","action":"speed","speed":2}'), { type: 'control', streamId: 'r', action: 'speed', speed: 2 });
    assert.deepEqual(parseClientMessage('{"type":"control","streamId":"r","action":"step"}'), { type: 'control', streamId: 'r', action: 'step', frames: 1 });
    assert.deepEqual(parseClientMessage('{"type":"control","streamId":"r","action":"step","frames":-1}'), { type: 'control', streamId: 'r', action: 'step', frames: -1 });
  });

  it('refuses hostile controls with a reason: unknown action, bad or huge t, speed out of range, stray fields', () => {
    const bad = [
      '{"type":"control","streamId":"r","action":"rewind"}',
      '{"type":"control","streamId":"r","action":{"x":1}}',
      '{"type":"control","streamId":"r"}',
      '{"type":"control","action":"pause"}',
      `{"type":"control","streamId":"${'x'.repeat(201)}","action":"pause"}`,
      '{"type":"control","streamId":"r","action":"seek"}',
      '{"type":"control","streamId":"r","action":"seek","t":"5"}',
      '{"type":"control","streamId":"r","action":"seek","t":-1}',
      '{"type":"control","streamId":"r","action":"seek","t":1e999}',
      `{"type":"control","streamId":"r","action":"seek","t":${MAX_SEEK_S + 1}}`,
      '{"type":"control","streamId":"r","action":"seek","t":null}',
      '{"type":"control","streamId":"r","action":"speed","speed":0}',
      '{"type":"control","streamId":"r","action":"speed","speed":0.2}',
      '{"type":"control","streamId":"r","action":"speed","speed":4.01}',
      '{"type":"control","streamId":"r","action":"speed","speed":-2}',
      '{"type":"control","streamId":"r","action":"speed"}',
      '{"type":"control","streamId":"r","action":"step","frames":5}',
      '{"type":"control","streamId":"r","action":"pause","t":3}',
      '{"type":"control","streamId":"r","action":"play","speed":2}',
    ];
    for (const text of bad) {
      const r = parseClientMessage(text);
      assert.equal(typeof r, 'string', text);
      assert.ok((r as string).length < 120 && !(r as string).includes('\n'), `one short line: ${String(r)}`);
    }
  });
});

describe('replay controls in a viewer session', () => {
  it('passes well-formed controls on and answers a malformed one with one protocol error', () => {
    const ws = new FakeSocket();
    const got: ControlMessage[] = [];
    new ViewerSession(ws as unknown as ViewerSocket, { id: 1, onControl: (m) => got.push(m) });
    ws.emit('message', Buffer.from('{"type":"control","streamId":"r","action":"pause"}'), false);
    ws.emit('message', Buffer.from('{"type":"control","streamId":"r","action":"seek","t":-3}'), false);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.action, 'pause');
    const e = errors(ws);
    assert.equal(e.length, 1);
    assert.match(e[0]!, /^protocol-error: seek needs t/);
  });

  it('refuses controls beyond its rate with one error a second and takes them again the next second', async () => {
    const ws = new FakeSocket();
    let n = 0;
    new ViewerSession(ws as unknown as ViewerSocket, { id: 1, maxControlsPerSecond: 3, onControl: () => n++ });
    for (let i = 0; i < 20; i++) ws.emit('message', Buffer.from('{"type":"control","streamId":"r","action":"step"}'), false);
    assert.equal(n, 3);
    const limited = errors(ws).filter((x) => x.startsWith('rate-limited'));
    assert.equal(limited.length, 1);
    // Pings are not controls: still answered within the same second.
    ws.emit('message', Buffer.from('{"type":"ping","id":1,"clientTs":0}'), false);
    assert.ok(ws.texts.some((m) => m.type === 'pong'));
    await new Promise((r) => setTimeout(r, 1050));
    ws.emit('message', Buffer.from('{"type":"control","streamId":"r","action":"step"}'), false);
    assert.equal(n, 4);
  });

  it('says so when the server has no replay controls', () => {
    const ws = new FakeSocket();
    new ViewerSession(ws as unknown as ViewerSocket, { id: 1 });
    ws.emit('message', Buffer.from('{"type":"control","streamId":"r","action":"pause"}'), false);
    assert.deepEqual(errors(ws).map((x) => x.split(':')[0]), ['not-controllable']);
  });
});

describe('controlRefusal', () => {
  const m: ControlMessage = { type: 'control', streamId: 'cam', action: 'pause' };
  it('refuses an unknown stream, a live stream, an ended replay and a server without controls', () => {
    assert.equal(controlRefusal(m, undefined, true)?.code, 'unknown-stream');
    assert.match(controlRefusal(m, { kind: 'live', live: true }, true)?.message ?? '', /live stream/);
    assert.match(controlRefusal(m, { kind: 'replay', live: false }, true)?.message ?? '', /ended/);
    assert.equal(controlRefusal(m, { kind: 'replay', live: true }, false)?.code, 'not-controllable');
    assert.equal(controlRefusal(m, { kind: 'replay', live: true }, true), undefined);
  });
});

describe('AreaSeries', () => {
  it('keeps one area per frame index in index order, a replayed stretch overwriting it, bounded per stream', () => {
    const a = new AreaSeries({ perStream: 3 });
    assert.equal(a.get('r'), undefined);
    a.add('r', 2, 0.08, 20);
    a.add('r', 0, 0, 10);
    a.add('r', 1, 0.04, 15);
    a.add('r', 0, 0, 11);
    assert.deepEqual(a.get('r')?.frames, [[0, 0, 11], [1, 0.04, 15], [2, 0.08, 20]]);
    a.add('r', 3, 0.12, 30);
    assert.equal(a.get('r')?.frames.length, 3);
    assert.equal(parseAreasPath('/areas/replay.json'), 'replay');
    assert.equal(parseAreasPath('/areas/a%2Fb.json'), 'a/b');
    assert.equal(parseAreasPath('/areas/x/y.json'), undefined);
    assert.equal(parseAreasPath('/areas/%E0.json'), undefined);
  });
});

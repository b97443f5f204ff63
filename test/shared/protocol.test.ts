import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameFlag, PROTOCOL_VERSION, decodeFrameMessage, encodeFrameMessage, parseClientMessage, simplifyCollinear } from '../../src/shared/protocol.js';
import type { FrameHeader } from '../../src/shared/protocol.js';

const header: FrameHeader = {
  streamId: 's', index: 7, pts: 0.28, captureTs: 1, doneTs: 2, sentTs: 3, codec: 'h264', codecString: 'avc1.42c01e',
  width: 4, height: 2, key: true, sourceWidth: 4, sourceHeight: 2, contours: [{ points: [0, 0, 3, 0, 3, 1, 0, 1], hole: false }],
  area: 8, dropped: 0,
};

describe('viewer protocol', () => {
  it('round-trips a frame message with header and video', () => {
    const video = new Uint8Array([0, 0, 0, 1, 0x65, 1, 2, 3]);
    const msg = encodeFrameMessage(header, video);
    assert.equal(msg[0], 1);
    assert.equal(msg[1]! & FrameFlag.Key, FrameFlag.Key);
    assert.equal(msg[1]! & FrameFlag.HasVideo, FrameFlag.HasVideo);
    const back = decodeFrameMessage(msg);
    assert.deepEqual(back.header, header);
    assert.deepEqual([...back.video], [...video]);
  });

  it('refuses truncated, foreign and other-version frame messages', () => {
    const msg = encodeFrameMessage(header, undefined);
    assert.throws(() => decodeFrameMessage(msg.subarray(0, 5)), /too short/);
    assert.throws(() => decodeFrameMessage(msg.subarray(0, 20)), /past the message end/);
    const other = msg.slice();
    other[0] = 9;
    assert.throws(() => decodeFrameMessage(other), /unknown binary message kind/);
    const v2 = msg.slice();
    new DataView(v2.buffer).setUint16(2, PROTOCOL_VERSION + 1, true);
    assert.throws(() => decodeFrameMessage(v2), /protocol version/);
  });

  it('parses client messages and explains refusals without throwing', () => {
    assert.deepEqual(parseClientMessage('{"type":"subscribe","streamId":"a"}'), { type: 'subscribe', streamId: 'a' });
    assert.deepEqual(parseClientMessage('{"type":"ping","id":1,"clientTs":5}'), { type: 'ping', id: 1, clientTs: 5 });
    assert.deepEqual(parseClientMessage('{"type":"subscribe","streamId":"a","codecs":["jpeg","jpeg"]}'), { type: 'subscribe', streamId: 'a', codecs: ['jpeg'] });
    assert.equal(typeof parseClientMessage('{"type":"subscribe","streamId":"a","codecs":["vp9"]}'), 'string');
    assert.equal(typeof parseClientMessage('{"type":"subscribe","streamId":"a","codecs":[]}'), 'string');
    for (const bad of ['nope', '[]', 'null', '{"type":"subscribe"}', '{"type":"ping","id":"x"}', '{"type":"drop tables"}', '{"type":"subscribe","streamId":""}']) {
      assert.equal(typeof parseClientMessage(bad), 'string', bad);
    }
  });

  it('drops only the points inside straight runs of a pixel border', () => {
    // A 4x3 rectangle border traced pixel by pixel keeps only its 4 corners.
    const ring = [0, 0, 1, 0, 2, 0, 3, 0, 3, 1, 3, 2, 2, 2, 1, 2, 0, 2, 0, 1];
    assert.deepEqual(simplifyCollinear(ring), [0, 0, 3, 0, 3, 2, 0, 2]);
    const diamond = [1, 0, 2, 1, 1, 2, 0, 1];
    assert.deepEqual(simplifyCollinear(diamond), diamond);
  });
});

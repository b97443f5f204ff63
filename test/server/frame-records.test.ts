import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import type { FrameResult } from '../../src/pipeline/frame.js';
import { FrameRecords, parseFramePath } from '../../src/server/frame-records.js';
import type { HelloMessage } from '../../src/shared/protocol.js';
import { ViewerServer } from '../../src/server/viewer-server.js';

function result(streamId: string, index: number, x0 = 10): FrameResult {
  return {
    frame: { streamId, index, pts: index / 25, captureTs: 1, sourceWidth: 64, sourceHeight: 48, pixels: { width: 2, height: 2, data: new Uint8Array(12) } },
    contours: [{ hole: false, parent: -1, points: [[x0, 5], [x0 + 1, 5], [x0 + 2, 5], [x0 + 2, 6.04], [x0, 6.04]] }],
    area: 9,
    batchSize: 1,
    timings: { decode: 0, queue: 0, inference: 0, postprocess: 0, send: 0 },
    doneTs: 2,
  };
}

describe('frame records', () => {
  it('keeps every contour point (rounded as the NDJSON does) and only the most recent frames', () => {
    const r = new FrameRecords({ perStream: 3 });
    for (let i = 0; i < 5; i++) r.add(result('a', i));
    assert.equal(r.get('a', 1, undefined), undefined);
    const rec = r.get('a', 4, undefined)!;
    // The middle point of the straight run is there (the wire form leaves it out).
    assert.deepEqual(rec.contours, [{ hole: false, parent: -1, points: [[10, 5], [11, 5], [12, 5], [12, 6], [10, 6]] }]);
    assert.deepEqual([rec.index, rec.pts, rec.width, rec.height, rec.area], [4, 0.16, 64, 48, 9]);
    assert.equal(rec.measurements.area.unit, 'px2');
    r.reset('a');
    assert.equal(r.get('a', 4, undefined), undefined);
  });

  it('gives the figures in mm with the calibration, and says where it came from', () => {
    const r = new FrameRecords();
    r.add(result('a', 0));
    const rec = r.get('a', 0, { mmPerPxX: 0.2, mmPerPxY: 0.1, source: 'from --mm-per-px' })!;
    assert.deepEqual(rec.measurements.area, { value: 9 * 0.02, unit: 'mm2' });
    assert.equal(rec.calibration?.source, 'from --mm-per-px');
  });

  it('parses only /frames/<stream>/<index>.json', () => {
    assert.deepEqual(parseFramePath('/frames/ward%203/17.json'), { streamId: 'ward 3', index: 17 });
    for (const p of ['/frames/a/x.json', '/frames/a/1', '/frames//1.json', '/frames/a/b/1.json', '/frames/%E0/1.json']) assert.equal(parseFramePath(p), undefined, p);
  });
});

describe('viewer hub: frame records and calibration', () => {
  let server: ViewerServer;
  before(async () => {
    server = await ViewerServer.start({ port: 0, token: 'tok' });
    server.setCalibration('cal', { mmPerPxX: 0.1, mmPerPxY: 0.1, source: 'from --mm-per-px' });
    server.addStream({ id: 'cal', title: 'Calibrated', kind: 'replay', width: 64, height: 48, fps: 25, codec: 'jpeg' });
    server.addStream({ id: 'raw', title: 'Uncalibrated', kind: 'replay', width: 64, height: 48, fps: 25, codec: 'jpeg' });
    server.publishFrame(result('cal', 3));
  });
  after(() => server.close());

  it('serves a frame record behind the token, 404 for a frame it does not hold', async () => {
    const base = `http://127.0.0.1:${server.port}/frames/cal`;
    assert.equal((await fetch(`${base}/3.json`)).status, 401);
    assert.equal((await fetch(`${base}/4.json?token=tok`)).status, 404);
    const res = await fetch(`${base}/3.json`, { headers: { Authorization: 'Bearer tok' } });
    assert.equal(res.status, 200);
    const rec = (await res.json()) as { index: number; measurements: { areaCm2: { value: number } }; calibration: { source: string } };
    assert.equal(rec.index, 3);
    assert.equal(rec.measurements.areaCm2.value, 0.0009);
    assert.equal(rec.calibration.source, 'from --mm-per-px');
  });

  it('sends the calibration with the stream; an uncalibrated stream has none', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=tok`);
    const hello = await new Promise<HelloMessage>((resolve, reject) => {
      ws.once('message', (d) => resolve(JSON.parse(String(d)) as HelloMessage));
      ws.once('error', reject);
    });
    ws.close();
    assert.deepEqual(hello.streams.find((s) => s.id === 'cal')?.calibration, { mmPerPxX: 0.1, mmPerPxY: 0.1, source: 'from --mm-per-px' });
    assert.equal(hello.streams.find((s) => s.id === 'raw')?.calibration, undefined);
  });

  it('refuses a scale that is not a positive number', () => {
    assert.throws(() => server.setCalibration('x', { mmPerPxX: 0, mmPerPxY: 0.1, source: 's' }), /> 0 mm per pixel/);
  });
});

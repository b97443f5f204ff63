import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drawContoursYuv420 } from '../../src/pipeline/annotated-video-sink.js';

describe('drawContoursYuv420', () => {
  it('draws a closed outline in luma and in the 2x2 chroma blocks it covers, leaving the rest untouched', () => {
    const w = 20;
    const h = 10;
    const pic = { format: 'yuv420p' as const, width: w, height: h, data: new Uint8Array(w * h * 1.5).fill(128) };
    drawContoursYuv420(pic, [{ points: [[2, 2], [12, 2], [12, 6], [2, 6]], hole: false, parent: -1 }], 1, [0, 255, 0]);
    const Y = (x: number, y: number): number => pic.data[y * w + x]!;
    const U = (x: number, y: number): number => pic.data[w * h + (y >> 1) * (w / 2) + (x >> 1)]!;
    assert.equal(Y(2, 2), 145);
    assert.equal(Y(7, 6), 145);
    assert.equal(Y(12, 4), 145);
    assert.equal(Y(7, 4), 128, 'inside untouched');
    assert.equal(Y(15, 8), 128, 'outside untouched');
    assert.equal(U(2, 2), 54);
    assert.equal(U(16, 8), 128);
  });
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { rectIou } from '../../src/core/field-of-view.js';
import type { Rect } from '../../src/core/field-of-view.js';
import { Pipeline } from '../../src/pipeline/compose.js';
import { probeVideo } from '../../src/pipeline/probe.js';
import { scannerScreen } from '../../src/synthetic/scanner-screen.js';
import { fakeSegmenter, TMP } from '../helpers/pipeline.js';
import { FFMPEG } from '../helpers/synthetic-stream.js';

const W = 640;
const H = 480;
const SHALLOW: Rect = { x: 40, y: 120, width: 560, height: 200 };
const ZOOMED: Rect = { x: 120, y: 60, width: 400, height: 380 };

/** An MP4 of a scanner screen whose layout changes (zoom) after `switchAt` frames. */
function layoutClip(file: string, frames: number, switchAt: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', '25', '-i', 'pipe:0', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '10', '-pix_fmt', 'yuv420p', file], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg ${code}: ${err}`))));
    for (let i = 0; i < frames; i++) p.stdin.write(scannerScreen({ width: W, height: H, fov: i < switchAt ? SHALLOW : ZOOMED, seed: 2, t: i / 25 }).image.data);
    p.stdin.end();
  });
}

describe('Pipeline with a model trained on model windows', () => {
  it('follows the field of view, notices the zoom, and keeps every outline inside the field of view in source pixels', async () => {
    const file = path.join(TMP, 'fov-layout.mp4');
    await layoutClip(file, 100, 40);
    const seg = fakeSegmenter();
    (seg.card.input as { fieldOfView?: boolean }).fieldOfView = true;
    const ndjson = path.join(TMP, 'fov-layout.ndjson');
    const windows: Rect[] = [];
    const p = new Pipeline({ streams: [{ id: 'replay', source: { type: 'file', path: file }, probe: await probeVideo(file), outputs: { ndjson } }], segmenter: seg, maxBatchSize: 1 });
    const logs: string[] = [];
    p.on('log', (line) => logs.push(line));
    p.on('frame', (r) => {
      if (r.frame.window !== undefined) windows[r.frame.index] = r.frame.window.fov;
    });
    await p.done;
    const lines = (await readFile(ndjson, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { index: number; contours: Array<{ points: Array<[number, number]> }> });
    assert.equal(lines.length, 100);
    // The model saw its crop (the fake marks the brighter pixels of what it is given).
    assert.ok(lines.every((l) => l.contours.length > 0));
    // The zoom is taken within two checks (25 frames each) after it happens, and logged once.
    assert.equal(logs.filter((l) => /field of view changed/.test(l)).length, 1, logs.join('\n'));
    // Every frame was cut at the layout it showed (up to the frames between the zoom and its
    // confirmation), and its outline lies inside the field of view it was cut at.
    for (const l of lines) {
      const fov = windows[l.index]!;
      const truth = l.index < 40 ? SHALLOW : l.index >= 40 + 50 ? ZOOMED : undefined;
      // From FFmpeg's 448² copy a grey bar 8 px beside the image can join it: IoU 0.9, not the 0.95 of full frames.
      if (truth !== undefined) assert.ok(rectIou(fov, truth) > 0.9, `frame ${l.index}: ${JSON.stringify(fov)} for ${JSON.stringify(truth)}`);
      for (const c of l.contours) for (const [x, y] of c.points) {
        assert.ok(x >= fov.x - 1 && x <= fov.x + fov.width && y >= fov.y - 1 && y <= fov.y + fov.height, `frame ${l.index}: (${x}, ${y}) outside ${JSON.stringify(fov)}`);
      }
    }
  });
});

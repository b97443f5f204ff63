/**
 * The JPEG fallback (viewers without an H.264 decoder): pictures at the source's size (or the
 * configured long side), decoded from the stream's own H.264, each the picture of the frame whose
 * outline it carries. The publisher gives the hub model-size pixels (224², as the pipeline does), so
 * a source-size picture can only come from the H.264.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { decodeImage } from '../../src/core/image-io.js';
import type { RgbImage } from '../../src/core/image.js';
import type { FrameResult, ViewerHubPort } from '../../src/pipeline/frame.js';
import { FallbackPictures, fallbackSize, mjpegQScale } from '../../src/server/jpeg-fallback.js';
import type { OutgoingHeader, ViewerSession } from '../../src/server/viewer-session.js';
import { decodeFrameMessage } from '../../src/shared/protocol.js';
import type { DecodedFrame } from '../../src/shared/protocol.js';
import { ViewerServer } from '../../src/server/viewer-server.js';
import { TestPublisher, hasFfmpeg, makeSyntheticClip } from '../helpers/synthetic-stream.js';
import type { SyntheticClip } from '../helpers/synthetic-stream.js';

/** The hub as the real pipeline feeds it: frame.pixels at the model's input size. */
function modelSizePixels(hub: ViewerServer): ViewerHubPort {
  const small: RgbImage = { width: 224, height: 224, data: new Uint8Array(224 * 224 * 3) };
  return {
    addStream: (i) => hub.addStream(i),
    publishFrame: (r: FrameResult) => hub.publishFrame({ ...r, frame: { ...r.frame, pixels: small } }),
    publishMetrics: (m) => hub.publishMetrics(m),
    endStream: (id, reason) => hub.endStream(id, reason),
  };
}

async function jpegFrames(server: ViewerServer, streamId: string, count: number): Promise<DecodedFrame[]> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
  const frames: DecodedFrame[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${frames.length} JPEG frames within 20 s`)), 20000);
    ws.once('open', () => ws.send(JSON.stringify({ type: 'subscribe', streamId, codecs: ['jpeg'] })));
    ws.on('message', (data, binary) => {
      if (!binary) return;
      frames.push(decodeFrameMessage(new Uint8Array(data as Buffer)));
      if (frames.length >= count) {
        clearTimeout(timer);
        resolve();
      }
    });
    ws.once('error', reject);
  });
  ws.close();
  return frames;
}

function meanAbsDiff(a: RgbImage, b: RgbImage): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += Math.abs(a.data[i]! - b.data[i]!);
  return s / a.data.length;
}

describe('JPEG fallback sizes and quality', () => {
  it('keeps the source size unless a smaller long side is configured, and keeps sizes even', () => {
    assert.deepEqual(fallbackSize(1280, 720, 0), { width: 1280, height: 720 });
    assert.deepEqual(fallbackSize(1280, 720, 2000), { width: 1280, height: 720 });
    assert.deepEqual(fallbackSize(1280, 720, 960), { width: 960, height: 540 });
    assert.deepEqual(fallbackSize(720, 1280, 640), { width: 360, height: 640 });
    assert.deepEqual(fallbackSize(1001, 333, 500), { width: 500, height: 166 });
  });

  it('maps quality 1–100 onto FFmpeg mjpeg -q:v 31–2', () => {
    assert.equal(mjpegQScale(100), 2);
    assert.equal(mjpegQScale(1), 31);
    assert.ok(mjpegQScale(85) <= 7);
  });
});

/** The part of a viewer session the fallback uses, recording what it was given. */
function fakeViewer(congested = false, queuedBytes = 0): { v: ViewerSession; sent: OutgoingHeader[]; drops: () => number } {
  const sent: OutgoingHeader[] = [];
  let drops = 0;
  const v = {
    congested,
    queuedBytes,
    drop: () => void drops++,
    offerPicture: (h: OutgoingHeader) => {
      sent.push(h);
      return true;
    },
  } as unknown as ViewerSession;
  return { v, sent, drops: () => drops };
}

describe('FallbackPictures from frame pixels', () => {
  const header: OutgoingHeader = {
    streamId: 's', index: 0, pts: 0, captureTs: 0, doneTs: 0, codec: 'h264', codecString: 'avc1.42c01e', width: 64, height: 48, key: false,
    sourceWidth: 64, sourceHeight: 48, contours: [], area: 0,
  };
  const picture: RgbImage = { width: 32, height: 24, data: new Uint8Array(32 * 24 * 3).fill(90) };

  it('sends one stand-alone JPEG per interval and counts every skipped one as dropped', () => {
    const a = fakeViewer();
    const fb = new FallbackPictures({ fps: 0.5, viewers: () => [] });
    for (let i = 0; i < 5; i++) fb.fromPixels(picture, { ...header, index: i }, [a.v]);
    assert.equal(a.sent.length, 1);
    assert.deepEqual([a.sent[0]!.codec, a.sent[0]!.key, a.sent[0]!.width, a.sent[0]!.codecString], ['jpeg', true, 32, undefined]);
    assert.equal(a.drops(), 4);
    fb.close();
    fb.close();
  });

  it('drops for a congested viewer only, and for everyone when disabled or the picture is unusable', () => {
    const slow = fakeViewer(true);
    const ok = fakeViewer();
    new FallbackPictures({ fps: 10, viewers: () => [] }).fromPixels(picture, header, [slow.v, ok.v]);
    assert.deepEqual([slow.sent.length, slow.drops(), ok.sent.length, ok.drops()], [0, 1, 1, 0]);
    const off = fakeViewer();
    new FallbackPictures({ fps: 0, viewers: () => [] }).fromPixels(picture, header, [off.v]);
    new FallbackPictures({ fps: 10, viewers: () => [] }).fromPixels({ width: 1, height: 1, data: new Uint8Array(3) }, header, [off.v]);
    assert.deepEqual([off.sent.length, off.drops()], [0, 2]);
  });

  it("lowers a viewer's picture rate while its socket backs up, and only that viewer's", async () => {
    const slow = fakeViewer(false, 10_000_000);
    const fast = fakeViewer();
    const fb = new FallbackPictures({ fps: 10, viewers: () => [] });
    const t0 = performance.now();
    for (let i = 0; performance.now() - t0 < 1600; i++) {
      fb.fromPixels(picture, { ...header, index: i }, [slow.v, fast.v]);
      await new Promise((r) => setTimeout(r, 40));
    }
    assert.equal(fb.rateOf(fast.v), 10);
    assert.ok(fb.rateOf(slow.v) < 10 && fb.rateOf(slow.v) >= 2, `slow viewer at ${fb.rateOf(slow.v)} fps`);
    assert.ok(slow.sent.length < fast.sent.length, `${slow.sent.length} vs ${fast.sent.length} pictures`);
    fb.close();
  });
});

describe('JPEG fallback of an H.264 stream', { skip: hasFfmpeg() ? false : 'no ffmpeg' }, () => {
  let clip: SyntheticClip;
  const servers: ViewerServer[] = [];
  const publishers: TestPublisher[] = [];

  before(async () => {
    clip = await makeSyntheticClip({ width: 320, height: 240, fps: 25, frames: 30, gop: 10, alternate: true });
  });
  after(async () => {
    for (const p of publishers) p.stop();
    for (const s of servers) await s.close();
  });

  async function serve(options: { fallbackJpegLongSide?: number } = {}): Promise<ViewerServer> {
    const server = await ViewerServer.start({ port: 0, token: '', ...options });
    servers.push(server);
    publishers.push(new TestPublisher(modelSizePixels(server), clip, { streamId: 'h264' }).start());
    return server;
  }

  it("sends pictures at the source's size, each the picture of the frame whose outline it carries", async () => {
    const server = await serve();
    const frames = await jpegFrames(server, 'h264', 8);
    for (const f of frames) {
      const h = f.header;
      assert.equal(h.codec, 'jpeg');
      assert.equal(h.key, true);
      const img = decodeImage(f.video, `frame ${h.index}`);
      assert.deepEqual([img.width, img.height], [h.sourceWidth, h.sourceHeight]);
      assert.deepEqual([h.width, h.height], [320, 240]);
      // Neighbouring frames differ (alternating layouts): the picture is its own frame's, not a neighbour's.
      const n = clip.frames.length;
      const own = meanAbsDiff(img, clip.frames[h.index % n]!.image);
      const prev = meanAbsDiff(img, clip.frames[(h.index + n - 1) % n]!.image);
      const next = meanAbsDiff(img, clip.frames[(h.index + 1) % n]!.image);
      assert.ok(own < 0.5 * Math.min(prev, next), `frame ${h.index}: differs ${own.toFixed(1)} from its own picture, ${prev.toFixed(1)} / ${next.toFixed(1)} from its neighbours`);
      assert.deepEqual(h.contours.length, clip.frames[h.index % n]!.contours.length);
    }
  });

  it('scales the pictures to the configured long side', async () => {
    const server = await serve({ fallbackJpegLongSide: 160 });
    const frames = await jpegFrames(server, 'h264', 3);
    for (const f of frames) {
      const img = decodeImage(f.video, `frame ${f.header.index}`);
      assert.deepEqual([img.width, img.height, f.header.width, f.header.height], [160, 120, 160, 120]);
      assert.deepEqual([f.header.sourceWidth, f.header.sourceHeight], [320, 240]);
    }
  });
});

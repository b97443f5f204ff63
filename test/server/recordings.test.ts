import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RecordingInfo } from '../../src/server/recordings.js';
import { ViewerServer } from '../../src/server/viewer-server.js';
import { hasFfmpeg, makeSyntheticClip, TestPublisher } from '../helpers/synthetic-stream.js';
import type { SyntheticClip } from '../helpers/synthetic-stream.js';

const TOKEN = 'recordings-test-token';
const skip = hasFfmpeg() ? false : 'ffmpeg not installed';

function call(server: ViewerServer, method: string, urlPath: string, token: string | null = TOKEN): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, method, path: urlPath, headers: token !== null ? { Authorization: `Bearer ${token}` } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

function probe(file: string): { duration: number; frames: number } {
  const out = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames:format=duration', '-of', 'json', file], { encoding: 'utf8' });
  const j = JSON.parse(out) as { streams: Array<{ nb_read_frames: string }>; format: { duration: string } };
  return { duration: Number(j.format.duration), frames: Number(j.streams[0]!.nb_read_frames) };
}

describe('recordings', { skip }, () => {
  let clip: SyntheticClip;
  let dir: string;
  before(async () => {
    clip = await makeSyntheticClip({ width: 320, height: 240, frames: 50 });
    dir = mkdtempSync(path.join(tmpdir(), 'sgus-recordings-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('records about 2 s of a stream into a playable MP4 whose listed size is the file size, downloaded with the token only', async () => {
    const server = await ViewerServer.start({ port: 0, token: TOKEN, recordingsDir: dir });
    const pub = new TestPublisher(server, clip).start();
    try {
      await new Promise((r) => setTimeout(r, 300));
      const firstPublished = pub.published;
      const started = await call(server, 'POST', '/recordings/start?stream=synthetic');
      assert.equal(started.status, 200);
      const info = JSON.parse(started.body.toString()) as RecordingInfo;
      await new Promise((r) => setTimeout(r, 2000));
      // The stream's own clock (its pts), which a loaded machine's timer may lag.
      const recordedS = (pub.published - firstPublished) / clip.fps;
      const stopped = await call(server, 'POST', `/recordings/${info.id}/stop`);
      assert.equal(stopped.status, 200);
      const list = JSON.parse((await call(server, 'GET', '/recordings')).body.toString()) as { recordings: RecordingInfo[] };
      const listed = list.recordings.find((r) => r.id === info.id)!;
      assert.equal(listed.active, false);
      const file = path.join(dir, `${info.id}.mp4`);
      assert.equal(listed.bytes, statSync(file).size);
      const p = probe(file);
      assert.ok(p.frames > 0, 'frames in the clip');
      assert.ok(Math.abs(p.duration - recordedS) <= 0.3 * recordedS, `clip ${p.duration} s for ${recordedS.toFixed(2)} s recorded`);
      assert.ok(Math.abs(listed.durationS - recordedS) <= 0.3 * recordedS, `listed ${listed.durationS} s`);

      const download = await call(server, 'GET', `/recordings/${info.id}.mp4`);
      assert.equal(download.status, 200);
      assert.deepEqual(download.body, readFileSync(file));
      assert.equal((await call(server, 'GET', `/recordings/${info.id}.mp4`, null)).status, 401);
      assert.equal((await call(server, 'GET', `/recordings/${info.id}.mp4`, 'wrong')).status, 401);
      for (const bad of ['/recordings/..%2F..%2Fetc%2Fpasswd.mp4', '/recordings/../../etc/passwd', '/recordings/rec-20000101-000000-00000000.mp4', `/recordings/${info.id}x.mp4`]) {
        assert.equal((await call(server, 'GET', bad)).status, 404, bad);
      }
      assert.equal((await call(server, 'POST', '/recordings/start?stream=nope')).status, 404);
    } finally {
      pub.stop('test over');
      await server.close();
    }
  });

  it('closes a recording into a playable file when its stream ends', async () => {
    const server = await ViewerServer.start({ port: 0, token: TOKEN, recordingsDir: dir });
    const pub = new TestPublisher(server, clip, { streamId: 'ending' }).start();
    try {
      await new Promise((r) => setTimeout(r, 300));
      const info = JSON.parse((await call(server, 'POST', '/recordings/start?stream=ending')).body.toString()) as RecordingInfo;
      // Past the clip's next key frame (every 25 frames), where the H.264 pictures start.
      await new Promise((r) => setTimeout(r, 2000));
      pub.stop('end of file');
      let listed: RecordingInfo | undefined;
      for (let i = 0; i < 50 && listed?.active !== false; i++) {
        await new Promise((r) => setTimeout(r, 100));
        listed = (JSON.parse((await call(server, 'GET', '/recordings')).body.toString()) as { recordings: RecordingInfo[] }).recordings.find((r) => r.id === info.id);
      }
      assert.equal(listed?.active, false);
      assert.equal(listed.stopReason, 'stream ended');
      assert.ok(probe(path.join(dir, `${info.id}.mp4`)).frames > 0);
    } finally {
      await server.close();
    }
  });

  it('stops a recording at its duration cap and at its size cap, each file closed and playable', async () => {
    for (const [caps, reason] of [[{ recordingMaxSeconds: 1 }, 'duration cap'], [{ recordingMaxBytes: 40_000 }, 'size cap reached']] as const) {
      const server = await ViewerServer.start({ port: 0, token: TOKEN, recordingsDir: dir, ...caps });
      const pub = new TestPublisher(server, clip, { streamId: 'capped' }).start();
      try {
        await new Promise((r) => setTimeout(r, 300));
        const info = JSON.parse((await call(server, 'POST', '/recordings/start?stream=capped')).body.toString()) as RecordingInfo;
        let listed: RecordingInfo | undefined;
        for (let i = 0; i < 150 && listed?.active !== false; i++) {
          await new Promise((r) => setTimeout(r, 100));
          listed = (JSON.parse((await call(server, 'GET', '/recordings')).body.toString()) as { recordings: RecordingInfo[] }).recordings.find((r) => r.id === info.id);
        }
        assert.equal(listed?.stopReason, reason);
        const p = probe(path.join(dir, `${info.id}.mp4`));
        assert.ok(p.frames > 0, `${reason}: frames in the clip`);
        if (reason === 'duration cap') assert.ok(p.duration >= 0.9 && p.duration <= 1.3, `capped at ${p.duration} s`);
        // FFmpeg stops at the cap, then writes out what its encoder still holds (its look-ahead).
        else assert.ok(listed.bytes <= 40_000 + 1024 * 1024, `capped at ${listed.bytes} bytes`);
      } finally {
        pub.stop('test over');
        await server.close();
      }
    }
  });
});

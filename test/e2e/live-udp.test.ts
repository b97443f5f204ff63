import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { writeSyntheticClip } from '../../src/pipeline/synthetic-clip.js';
import { modelArgs, runSgus, TMP } from '../helpers/pipeline.js';

describe('sgus live over UDP on 127.0.0.1', () => {
  it('segments an MPEG-TS stream sent at real time, reporting fps, latency and dropped frames', async () => {
    const { path: file } = await writeSyntheticClip({ path: path.join(TMP, 'udp-src.mp4'), width: 320, height: 240, seconds: 2, gop: 10 });
    const port = 20000 + Math.floor(Math.random() * 20000);
    const url = `udp://127.0.0.1:${port}`;
    // The sender loops the clip at real time for longer than the receiver listens.
    const sender = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-stream_loop', '-1', '-i', file, '-c:v', 'copy', '-f', 'mpegts', `${url}?pkt_size=1316`], { stdio: 'ignore' });
    try {
      const out = path.join(TMP, 'cli-live');
      const r = await runSgus(['live', '--input', url, '--duration', '6', '--out', out, ...modelArgs()]);
      assert.equal(r.code, 0, r.stderr);
      const lines = (await readFile(path.join(out, 'live.contours.ndjson'), 'utf8')).trim().split('\n');
      assert.ok(lines.length >= 25, `${lines.length} frames segmented in 6 s`);
      const idx = lines.map((l) => (JSON.parse(l) as { index: number }).index);
      assert.ok(idx.every((v, i) => i === 0 || v > idx[i - 1]!), 'indices increase (gaps are dropped frames)');
      assert.match(r.stderr, /live: \d+ frames in [\d.]+ s \([\d.]+ fps\), latency p50 \d+ ms p95 \d+ ms, .*dropped \d+, corrupt \d+/);
      const m = JSON.parse(await readFile(path.join(out, 'live.metrics.json'), 'utf8')) as { streams: { framesIn: number; framesOut: number; dropped: number }[] };
      const s = m.streams[0]!;
      assert.equal(s.framesIn, s.framesOut + s.dropped, 'every frame in is either segmented or counted as dropped');
    } finally {
      sender.kill('SIGKILL');
    }
  });
});

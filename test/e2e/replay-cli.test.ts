import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { clip, countFrames, modelArgs, runSgus, TMP } from '../helpers/pipeline.js';
import { realDataOrSkip } from '../helpers/data.js';

/** Pids of the FFmpeg children of `parent` reading `file`. */
function ffmpegChildren(parent: number, file: string): number[] {
  try {
    const out = execFileSync('ps', ['-o', 'pid=,ppid=,args=', '-e'], { encoding: 'utf8' });
    return out
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((c) => c.length > 2 && Number(c[1]) === parent && c[2]!.endsWith('ffmpeg') && c.includes(file))
      .map((c) => Number(c[0]));
  } catch {
    return [];
  }
}

describe('sgus replay', () => {
  it('writes NDJSON, annotated MP4 and metrics with one line and one picture per source frame', async () => {
    const file = await clip();
    const out = path.join(TMP, 'cli-replay');
    const r = await runSgus(['replay', file, '--out', out, '--quiet', ...modelArgs()]);
    assert.equal(r.code, 0, r.stderr);
    const stem = path.basename(file, '.mp4');
    const lines = (await readFile(path.join(out, `${stem}.contours.ndjson`), 'utf8')).trim().split('\n');
    const frames = await countFrames(file);
    assert.equal(lines.length, frames);
    assert.equal(await countFrames(path.join(out, `${stem}.annotated.mp4`)), frames);
    const metrics = JSON.parse(await readFile(path.join(out, `${stem}.metrics.json`), 'utf8')) as { streams: { framesOut: number; latency: { e2e: { p95: number } } }[] };
    assert.equal(metrics.streams[0]!.framesOut, frames);
    assert.ok(metrics.streams[0]!.latency.e2e.p95 > 0);
    assert.match(r.stderr, new RegExp(`replay: ${frames} frames in [\\d.]+ s`));
  });

  it('exits 1 with a one-line error naming the file when it cannot be read', async () => {
    const r = await runSgus(['replay', '/nonexistent/exam.mp4', '--quiet', ...modelArgs()]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'sgus: /nonexistent/exam.mp4: no such file\n');
  });

  it('exits 1 naming the cause when FFmpeg dies mid-replay, with the outputs finalised', async () => {
    const file = await clip({ seconds: 6 });
    const out = path.join(TMP, 'cli-killed');
    let child: number | undefined;
    let killed = false;
    const run = runSgus(['replay', file, '--realtime', '--out', out, '--no-video', ...modelArgs()], {
      onStderr: (text) => {
        if (!killed && child !== undefined && /frames [1-9]/.test(text)) {
          killed = true;
          for (const pid of ffmpegChildren(child, file)) process.kill(pid, 'SIGKILL');
        }
      },
    });
    // The CLI's own pid: the newest node process running main.ts replay on this file.
    const t0 = Date.now();
    while (child === undefined && Date.now() - t0 < 20_000) {
      await new Promise((res) => setTimeout(res, 200));
      const ps = execFileSync('ps', ['-o', 'pid=,args=', '-e'], { encoding: 'utf8' });
      const line = ps.split('\n').find((l) => l.includes('src/cli/main.ts replay') && l.includes(file) && l.includes(out));
      if (line !== undefined) child = Number(line.trim().split(/\s+/)[0]);
    }
    const r = await run;
    assert.ok(killed, 'FFmpeg was found and killed');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /sgus: replay \(.*\): ffmpeg exited with signal SIGKILL\n$/);
    const text = await readFile(path.join(out, `${path.basename(file, '.mp4')}.contours.ndjson`), 'utf8');
    assert.ok(text.length > 0 && text.endsWith('\n'));
  });

  it('Ctrl-C finalises a playable annotated video with as many frames as NDJSON lines', async () => {
    const file = await clip({ seconds: 8 });
    const out = path.join(TMP, 'cli-sigint');
    const r = await runSgus(['replay', file, '--realtime', '--out', out, ...modelArgs()], { interruptAfterMs: 5000 });
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /SIGINT: stopping, finalising outputs/);
    const stem = path.basename(file, '.mp4');
    const lines = (await readFile(path.join(out, `${stem}.contours.ndjson`), 'utf8')).trim().split('\n').length;
    assert.ok(lines > 0 && lines < 200);
    assert.equal(await countFrames(path.join(out, `${stem}.annotated.mp4`)), lines);
  });

  it('on the real exam, stays frame-exact for the first seconds of a real-time replay', async (t) => {
    const data = realDataOrSkip(t);
    if (data === undefined) return;
    const file = path.join(data, 'video', 'parotid-exam-1280x720-25fps.mp4');
    const out = path.join(TMP, 'cli-real');
    const r = await runSgus(['replay', file, '--realtime', '--out', out, ...modelArgs()], { interruptAfterMs: 6000 });
    assert.equal(r.code, 130, r.stderr);
    const lines = (await readFile(path.join(out, 'parotid-exam-1280x720-25fps.contours.ndjson'), 'utf8')).trim().split('\n');
    assert.ok(lines.length > 10);
    assert.equal(await countFrames(path.join(out, 'parotid-exam-1280x720-25fps.annotated.mp4')), lines.length);
    const first = JSON.parse(lines[0]!) as { width: number; height: number };
    assert.deepEqual([first.width, first.height], [1280, 720]);
  });
});

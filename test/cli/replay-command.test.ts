import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { clip, countFrames, sleep, TMP } from '../helpers/pipeline.js';
import { testModelSpec } from '../helpers/test-model.js';

const model = (): string[] => {
  const m = testModelSpec();
  return m !== undefined ? ['--model', m] : [];
};

/** Pids of running FFmpeg processes whose command line names `file`. */
function ffmpegWriting(file: string): number[] {
  return execFileSync('ps', ['-o', 'pid=,args=', '-e'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^\d+ \S*ffmpeg /.test(l) && l.includes(file))
    .map((l) => Number(l.split(/\s+/)[0]));
}

describe('sgus replay when the annotated video encoder dies', () => {
  it('keeps the MP4 playable, finishes the NDJSON, names the incomplete file with its frame count and exits 1', async () => {
    const file = await clip({ seconds: 6 });
    const out = path.join(TMP, 'cli-encoder-killed');
    const stem = path.basename(file, '.mp4');
    const video = path.join(out, `${stem}.annotated.mp4`);
    const ndjson = path.join(out, `${stem}.contours.ndjson`);
    const run = runCli(['replay', file, '--realtime', '--out', out, '--quiet', ...model()], { timeoutMs: 180_000 });
    let killed = false;
    let finished = false;
    void run.then(() => (finished = true));
    // Once the file holds some frames, kill its encoder (bounded by polls, not by a deadline).
    for (let k = 0; k < 600 && !killed && !finished; k++) {
      await sleep(200);
      const n = existsSync(video) ? await countFrames(video).catch(() => 0) : 0;
      if (!(n >= 10)) continue;
      for (const pid of ffmpegWriting(video)) {
        process.kill(pid, 'SIGKILL');
        killed = true;
      }
    }
    const r = await run;
    assert.ok(killed, `the encoder was found and killed: ${r.stderr}`);
    assert.equal(r.code, 1, r.stderr);
    const lines = (await readFile(ndjson, 'utf8')).trim().split('\n').length;
    assert.equal(lines, await countFrames(file), 'the NDJSON has every frame');
    const held = await countFrames(video);
    assert.ok(held >= 10 && held < lines, `${held} frames in the video`);
    assert.ok(r.stderr.includes(`sgus replay: incomplete output: ${video} holds ${held} of the ${lines} frames in ${ndjson} (encoder failed: ffmpeg exited with signal SIGKILL)\n`), r.stderr);
    assert.match(r.stderr, new RegExp(`replay: ${lines} frames in `), 'the summary counts the frames the NDJSON has');
    assert.ok(!new RegExp(`wrote [^\\n]*annotated`).test(r.stderr), 'the video is not reported as written');
  });
});

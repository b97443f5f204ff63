import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { corruptedCopy, truncatedCopy } from '../helpers/damaged-clip.js';
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

describe('sgus replay of a damaged recording', () => {
  it('a truncated file: every frame it holds is segmented, one line says it was cut, exit code 3', async () => {
    const file = await truncatedCopy(await clip({ seconds: 4 }), path.join(TMP, 'cli-cut-60.mp4'));
    const out = path.join(TMP, 'cli-cut');
    const r = await runCli(['replay', file, '--out', out, '--no-video', '--quiet', ...model()]);
    assert.equal(r.code, 3, r.stderr);
    const lines = (await readFile(path.join(out, 'cli-cut-60.contours.ndjson'), 'utf8')).trim().split('\n').length;
    assert.ok(lines > 30 && lines < 100, `${lines} frames`);
    assert.match(r.stderr, new RegExp(`replay: ${lines} frames in `));
    assert.match(r.stderr, new RegExp(`sgus replay: ${file}: input incomplete: truncated: ended after ${lines} of the 100 frames its container announces.*; every frame it held was segmented\\n`));
  });

  it('a file with scrambled bytes: the frames FFmpeg reports damaged are counted, the missing frame warned, exit code 3', async () => {
    const file = await corruptedCopy(await clip({ seconds: 4 }), path.join(TMP, 'cli-scrambled.mp4'));
    const out = path.join(TMP, 'cli-scrambled');
    const r = await runCli(['replay', file, '--out', out, '--no-video', '--quiet', ...model()]);
    assert.equal(r.code, 3, r.stderr);
    // (The source's test checks the count against FFmpeg's own report line by line; here the CLI
    // must carry it to the summary, the metrics and the closing line alike.)
    const reported = Number(/, corrupt (\d+), /.exec(r.stderr)?.[1]);
    assert.ok(reported > 0, r.stderr);
    assert.match(r.stderr, new RegExp(`replay: \\d+ frames in .*, corrupt ${reported}, missing [1-9]`));
    assert.match(r.stderr, /sgus: replay: \d+ frames? missing before frame \d+ \(timestamps jump from [\d.]+ s to [\d.]+ s\)\n/);
    assert.match(r.stderr, new RegExp(`input incomplete: ${reported} frames? decoded as damaged; \\d+ frames? missing \\(gaps in its timestamps\\); every frame it held was segmented\\n`));
    const metrics = JSON.parse(await readFile(path.join(out, 'cli-scrambled.metrics.json'), 'utf8')) as { streams: { corrupt: number; missing: number; framesOut: number }[] };
    assert.equal(metrics.streams[0]!.corrupt, reported);
    assert.equal(metrics.streams[0]!.framesOut + metrics.streams[0]!.missing, 100, 'every frame is segmented or counted missing');
  });

  it('a whole file exits 0 with corrupt 0 and missing 0', async () => {
    const file = await clip({ seconds: 4 });
    const r = await runCli(['replay', file, '--quiet', ...model()]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /replay: 100 frames in .*, corrupt 0, missing 0\n/);
  });
});

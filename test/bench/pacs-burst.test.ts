/** The benchmark's PACS burst against a real Orthanc (runs dist/: `npx tsc -p tsconfig.build.json` first). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPacsBurst } from '../../src/bench/pacs-burst.js';
import { orthancSkip } from '../helpers/orthanc.js';

test('a burst of 40 images pushed to sgus listen gives exactly 40 Segmentations and 40 reports in Orthanc, with the rate and peak memory measured', { skip: orthancSkip(), timeout: 300_000 }, async () => {
  const out = await runPacsBurst({ instances: 40, width: 160, height: 120, model: 'unet-m-synth', timeoutS: 240 });
  assert.ok(out.ok, out.ok ? '' : out.reason);
  const r = out.result;
  assert.equal(r.segmentationsStored, 40, 'every image has its Segmentation, none twice');
  assert.equal(r.reportsStored, 40);
  assert.equal(r.model, 'unet-m-synth');
  assert.ok(r.instancesPerSecond > 0 && r.seconds >= r.receiveSeconds);
  if (process.platform === 'linux') {
    assert.ok(r.peakRssMiB !== undefined && r.peakRssMiB > 30, `peak RSS read from /proc: ${r.peakRssMiB}`);
    // The queue is on disk and one image is decoded at a time: 40 images must not pile up in memory.
    assert.ok(r.peakRssMiB < 1024, `peak RSS ${r.peakRssMiB} MiB`);
  }
});

import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadPreset, presetToStream, STREAMS_DIR } from '../../src/pipeline/stream-preset.js';
import { TMP } from '../helpers/pipeline.js';

async function presetFile(name: string, value: unknown): Promise<string> {
  const file = path.join(TMP, `${name}.json`);
  await writeFile(file, JSON.stringify(value));
  return file;
}

describe('stream presets', () => {
  it('every shipped preset in streams/ is valid', async () => {
    const files = (await readdir(STREAMS_DIR)).filter((f) => f.endsWith('.json') && f !== 'schema.json');
    assert.ok(files.includes('sample-exam.json'));
    for (const f of files) {
      const p = await loadPreset(f.replace(/\.json$/, ''));
      assert.equal(`${p.name}.json`, f);
    }
  });

  it('reports every problem in one line naming the file and the field', async () => {
    const file = await presetFile('bad', { name: 'Bad Name', source: { type: 'device', path: 'video0', rate: 0 }, mode: 'fast', extra: 1 });
    await assert.rejects(loadPreset(file), (err: Error) => {
      assert.ok(err.message.startsWith(`${file}: `));
      assert.ok(!err.message.includes('\n'));
      for (const part of [/name: 'Bad Name' does not match/, /mode: must be one of "replay", "live"/, /extra: unknown field/]) assert.match(err.message, part);
      return true;
    });
    const file2 = await presetFile('bad2', { name: 'x', source: { type: 'device', path: 'video0', rate: 0 }, mode: 'live' });
    await assert.rejects(loadPreset(file2), /source\.path: 'video0' does not match \^\/dev\/; source\.rate: must be >= 1, got 0/);
    const file3 = await presetFile('bad3', { name: 'x', source: { type: 'webcam' }, mode: 'live' });
    await assert.rejects(loadPreset(file3), /source\.type: must be one of "file", "device", "url", "lavfi", "synthetic", got "webcam"/);
    const file4 = await presetFile('bad4', { name: 'x', source: { type: 'url' }, mode: 'live' });
    await assert.rejects(loadPreset(file4), /source\.url: is required/);
  });

  it('names nested fields by their path and says what a value must be', async () => {
    const file = await presetFile('bad5', { name: 'x', source: { type: 'synthetic', width: 17, seconds: 'a' }, mode: 'live', settings: { viewCodec: 'x', foo: 1 } });
    await assert.rejects(loadPreset(file), (err: Error) => {
      assert.ok(!err.message.includes('\n'));
      for (const part of [/source\.width: must be a multiple of 2, got 17/, /source\.seconds: must be a number, got "a"/, /settings\.foo: unknown field/, /settings\.viewCodec: must be one of "auto", "jpeg", got "x"/]) assert.match(err.message, part);
      return true;
    });
    await assert.rejects(loadPreset(await presetFile('bad6', { name: 'x', source: {}, mode: 'live' })), /: source\.type: is required$/);
    await assert.rejects(loadPreset(await presetFile('bad7', [1])), /: \(top level\): must be an object, got \[1\]$/);
  });

  it('names a missing preset and the folder to look in', async () => {
    await assert.rejects(loadPreset('no-such-stream'), /no-such-stream\.json: no such stream preset \(see .*streams\)/);
  });

  it('resolves file paths relative to the preset and keeps the settings', async () => {
    const file = await presetFile('rel', { name: 'rel', source: { type: 'file', path: 'exam.mp4' }, mode: 'replay', loop: true, settings: { viewCodec: 'jpeg', stallTimeoutS: 2 } });
    const s = await presetToStream(await loadPreset(file));
    assert.deepEqual(s.source, { type: 'file', path: path.join(TMP, 'exam.mp4') });
    assert.equal(s.loop, true);
    assert.equal(s.realtime, true);
    assert.equal(s.viewCodec, 'jpeg');
    assert.equal(s.stallTimeoutS, 2);
  });

  it('streams a preset whose file is a DICOM cine loop through stdin, with its header size, rate and calibration', async () => {
    const { writeUltrasoundDicom } = await import('../../src/dicom/us-writer.js');
    const { syntheticFrames } = await import('../helpers/dicom.js');
    await writeFile(path.join(TMP, 'loop.dcm'), writeUltrasoundDicom(syntheticFrames(4, 64, 48), { encoding: 'jpeg-baseline', frameTimeMs: 50, calibration: { mmPerPxX: 0.1, mmPerPxY: 0.125 } }));
    const file = await presetFile('dcm', { name: 'dcm', source: { type: 'file', path: 'loop.dcm' }, mode: 'replay', loop: true });
    const s = await presetToStream(await loadPreset(file));
    assert.equal(s.source.type, 'dicom');
    assert.equal(s.source.type === 'dicom' ? s.source.path : '', path.join(TMP, 'loop.dcm'));
    assert.deepEqual(s.probe, { width: 64, height: 48, fps: 20, codec: 'mjpeg', hasBFrames: false, frames: 4, duration: 0.2 });
    assert.equal(s.calibration?.mmPerPxX, 0.1);
    assert.equal(s.calibration?.mmPerPxY, 0.125);
    assert.equal(s.calibration?.source, 'DICOM ultrasound-region');
  });
});

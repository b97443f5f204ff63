import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ErrorCode, SgusError } from '../src/errors.js';

const SRC = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');

describe('SgusError', () => {
  it('is fatal unless told otherwise, and its message is one line naming where', () => {
    const e = new SgusError(ErrorCode.EngineFailure, 'inference failed:\n  out of memory', { where: 'model.onnx' });
    assert.equal(e.fatal, true);
    assert.equal(new SgusError(ErrorCode.EngineFailure, 'x', { fatal: false }).fatal, false);
    assert.equal(e.message, 'model.onnx: inference failed: out of memory');
  });

  it('has no error code that no source file raises', async () => {
    const files = (await readdir(SRC, { recursive: true })).filter((f) => f.endsWith('.ts') && f !== 'errors.ts');
    const text = (await Promise.all(files.map((f) => readFile(path.join(SRC, f), 'utf8')))).join('\n');
    const unused = Object.keys(ErrorCode).filter((k) => !text.includes(`ErrorCode.${k}`));
    assert.deepEqual(unused, []);
  });
});

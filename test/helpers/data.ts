/**
 * Where the real SGUS data lives (`../shared/data/sgus` beside the repository, or `$SGUS_DATA`).
 * Tests on real data call `realDataOrSkip(t)` and skip with a reason where it is absent (a new
 * user's machine); CI has it.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { PACKAGE_ROOT } from '../../src/segmenter/model-registry.js';

export const REAL_DATA_DIR = process.env.SGUS_DATA ?? path.resolve(PACKAGE_ROOT, '..', 'shared', 'data', 'sgus');
export const FROZEN_GRAPHS_DIR = path.resolve(REAL_DATA_DIR, '..', 'tf-frozen-graphs');

export function hasRealData(): boolean {
  return existsSync(path.join(REAL_DATA_DIR, 'annotated', 'manifest.json'));
}

/** Returns the data folder, or marks the test skipped and returns undefined. */
export function realDataOrSkip(t: TestContext): string | undefined {
  if (hasRealData()) return REAL_DATA_DIR;
  t.skip(`real SGUS data not found at ${REAL_DATA_DIR}`);
  return undefined;
}

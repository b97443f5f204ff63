import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupMask, maskArea, toBlackAndWhite } from '../../src/core/mask-cleanup.js';

function grid(rows: string[]): { width: number; height: number; data: Uint8Array } {
  const width = rows[0]!.length;
  const data = new Uint8Array(width * rows.length);
  rows.forEach((r, y) => [...r].forEach((c, x) => (data[y * width + x] = c === '#' ? 1 : 0)));
  return { width, height: rows.length, data };
}

test('specks below the minimum area are removed and larger blobs kept', () => {
  const m = grid(['#.......', '........', '..####..', '..####..', '..####..', '.......#']);
  const out = cleanupMask(m, { minComponentArea: 3 });
  assert.equal(maskArea(out), 12);
  assert.equal(out.data[0], 0);
});

test('small enclosed holes are filled but background touching the border is not', () => {
  const m = grid(['#####...', '#...#...', '#.#.#...', '#...#...', '#####...']);
  const out = cleanupMask(m, { maxHoleArea: 8 });
  assert.equal(out.data[1 * 8 + 1], 1); // inside the ring: filled
  assert.equal(out.data[0 * 8 + 6], 0); // outside: untouched
  const keep = cleanupMask(m, { maxHoleArea: 7 });
  assert.equal(keep.data[1 * 8 + 1], 0); // hole of 8 px is above the limit
});

test('the black-and-white mask is 255 where the class map is 1', () => {
  const bw = toBlackAndWhite(grid(['#.', '.#']));
  assert.deepEqual(Array.from(bw.data), [255, 0, 0, 255]);
});

test('largestOnly keeps the biggest region and fills every hole in it, however large', () => {
  const m = grid(['######..##', '#....#..##', '#....#....', '######....', '.......###']);
  const out = cleanupMask(m, { largestOnly: true });
  // The 6x4 ring (16 px) wins over the 2x2 block and the 3 px bar; its 8 px hole is filled.
  assert.equal(maskArea(out), 24);
  assert.equal(out.data[1 * 10 + 2], 1);
  assert.equal(out.data[0 * 10 + 9], 0);
  assert.equal(out.data[4 * 10 + 9], 0);
  // Without it the hole (8 px) stays open with a limit of 7, and all three regions stay.
  assert.equal(maskArea(cleanupMask(m, { maxHoleArea: 7 })), 23);
});

test('largestOnly on an empty mask gives an empty mask', () => {
  assert.equal(maskArea(cleanupMask(grid(['....', '....']), { largestOnly: true })), 0);
});

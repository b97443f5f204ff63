import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findContours, polygonArea, polygonPerimeter, simplifyClosed } from '../../src/core/contours.js';
import type { GreyImage } from '../../src/core/image.js';

function maskFrom(rows: string[]): GreyImage {
  const height = rows.length;
  const width = rows[0]!.length;
  const data = new Uint8Array(width * height);
  rows.forEach((r, y) => [...r].forEach((ch, x) => (data[y * width + x] = ch === '#' ? 1 : 0)));
  return { width, height, data };
}

test('a filled rectangle has one outer contour through its border pixels in order', () => {
  const m = maskFrom(['......', '.####.', '.####.', '.####.', '......']);
  const cs = findContours(m);
  assert.equal(cs.length, 1);
  const c = cs[0]!;
  assert.equal(c.hole, false);
  assert.equal(c.parent, -1);
  assert.deepEqual(c.points[0], [1, 1]);
  // 4x3 rectangle: border pixels = 2*(4+3)-4 = 10, each visited once.
  assert.equal(c.points.length, 10);
  assert.equal(new Set(c.points.map((p) => p.join(','))).size, 10);
  // Consecutive points are 8-neighbours.
  for (let k = 0; k < c.points.length; k++) {
    const a = c.points[k]!;
    const b = c.points[(k + 1) % c.points.length]!;
    assert.ok(Math.max(Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1])) === 1, `gap between ${a} and ${b}`);
  }
  assert.equal(Math.abs(polygonArea(c.points)), 6); // centres span 3x2
  assert.equal(polygonPerimeter(c.points), 10);
});

test('a ring gives an outer border and a hole border whose parent is the outer one', () => {
  const m = maskFrom(['.......', '.#####.', '.#...#.', '.#...#.', '.#####.', '.......']);
  const cs = findContours(m);
  assert.equal(cs.length, 2);
  const outer = cs.find((c) => !c.hole)!;
  const hole = cs.find((c) => c.hole)!;
  assert.equal(hole.parent, cs.indexOf(outer));
  assert.equal(outer.parent, -1);
});

test('separate blobs, a single pixel and a blob inside a hole are all traced with the right hierarchy', () => {
  const m = maskFrom([
    '..........',
    '.#######..',
    '.#.....#.#',
    '.#.###.#..',
    '.#.....#..',
    '.#######..',
  ]);
  const cs = findContours(m);
  const outers = cs.filter((c) => !c.hole);
  assert.equal(outers.length, 3);
  const single = outers.find((c) => c.points.length === 1)!;
  assert.deepEqual(single.points, [[9, 2]]);
  const inner = outers.find((c) => c.points.some(([x, y]) => x === 4 && y === 3))!;
  const parentHole = cs[inner.parent]!;
  assert.equal(parentHole.hole, true);
});

test('a blob touching the image edge is traced along the edge', () => {
  const m = maskFrom(['###', '###']);
  const cs = findContours(m);
  assert.equal(cs.length, 1);
  assert.equal(cs[0]!.points.length, 6);
});

test('a digital disc contour encloses an area close to pi r^2 and simplification keeps its shape', () => {
  const size = 101;
  const r = 40;
  const data = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) if ((x - 50) ** 2 + (y - 50) ** 2 <= r * r) data[y * size + x] = 1;
  const [c] = findContours({ width: size, height: size, data });
  assert.ok(c);
  const area = Math.abs(polygonArea(c.points));
  // Pixel-centre polygon is about half a pixel inside the true disc.
  assert.ok(Math.abs(area - Math.PI * (r - 0.5) ** 2) / (Math.PI * r * r) < 0.02, `area ${area}`);
  const s = simplifyClosed(c.points, 1);
  assert.ok(s.length < c.points.length / 3, `simplified to ${s.length} of ${c.points.length}`);
  assert.ok(Math.abs(Math.abs(polygonArea(s)) - area) / area < 0.03);
});

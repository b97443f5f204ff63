/** The disk queue of `sgus listen`: order, and what a restart finds after a crash at each step. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ListenQueue } from '../../src/pacs/listen-queue.js';
import { tempDir } from '../helpers/dicom.js';

async function receive(q: ListenQueue, text: string): Promise<string> {
  const f = q.incomingPath();
  await writeFile(f, text);
  return q.commitReceived(f);
}

test('received images come out oldest first, and numbering goes on after a reopen', async () => {
  const dir = tempDir('sgus-queue-');
  const q = await ListenQueue.open(dir);
  const a = await receive(q, 'a');
  const b = await receive(q, 'b');
  assert.deepEqual(await q.received(), [a, b]);
  const q2 = await ListenQueue.open(dir);
  const c = await receive(q2, 'c');
  assert.deepEqual(await q2.received(), [a, b, c], 'a reopened queue numbers after what it holds');
});

test('a reopen drops half-received files and half-written results, and keeps the image to segment again', async () => {
  const dir = tempDir('sgus-queue-');
  const q = await ListenQueue.open(dir);
  const a = await receive(q, 'a');
  await writeFile(q.incomingPath(), 'half a C-STORE');
  const tmp = await q.resultsDir(a);
  await writeFile(path.join(tmp, 'x.seg.dcm'), 'half');
  const q2 = await ListenQueue.open(dir);
  assert.deepEqual(await readdir(path.join(dir, 'incoming')), []);
  assert.deepEqual(await q2.outbox(), [], 'unpublished results are not sent');
  assert.deepEqual(await q2.received(), [a], 'the image is segmented again');
});

test('results published but the image not yet removed (a crash between the two): the image is not segmented twice', async () => {
  const dir = tempDir('sgus-queue-');
  const q = await ListenQueue.open(dir);
  const a = await receive(q, 'a');
  // What commitResults leaves when stopped after its rename: the outbox item and the image both there.
  await mkdir(path.join(dir, 'outbox', path.basename(a, '.dcm')));
  const q2 = await ListenQueue.open(dir);
  assert.deepEqual(await q2.received(), []);
  assert.equal((await q2.outbox()).length, 1);
});

test('commitResults moves an image to the outbox whole, sent() empties it, fail() sets it aside with its reason', async () => {
  const dir = tempDir('sgus-queue-');
  const q = await ListenQueue.open(dir);
  const a = await receive(q, 'a');
  const b = await receive(q, 'b');
  const tmp = await q.resultsDir(a);
  await writeFile(path.join(tmp, 'u.sr.dcm'), 'sr');
  await writeFile(path.join(tmp, 'u.seg.dcm'), 'seg');
  const item = await q.commitResults(a, tmp);
  assert.deepEqual(await q.received(), [b]);
  assert.deepEqual((await q.itemFiles(item)).map((f) => path.basename(f)), ['u.seg.dcm', 'u.sr.dcm'], 'Segmentation first, then the report that references it');
  await q.sent(item);
  assert.deepEqual(await q.outbox(), []);
  await q.fail(b, 'not an ultrasound image');
  assert.deepEqual(await q.counts(), { received: 0, outbox: 0 });
  assert.deepEqual((await readdir(path.join(dir, 'failed'))).sort(), [path.basename(b), `${path.basename(b, '.dcm')}.txt`].sort());
});

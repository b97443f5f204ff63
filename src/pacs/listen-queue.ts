/**
 * The on-disk queue of `sgus listen`, so that nothing a scanner sent is lost when SGUS Live stops
 * or the PACS is down. Every step is a rename within one folder tree (atomic on one file system),
 * made after the data is fsynced:
 *
 *   incoming/   a C-STORE being received (deleted at start: the sender got no success, it resends)
 *   received/   <seq>.dcm  stored, confirmed to the sender, not yet segmented
 *   outbox/     <seq>/     its Segmentation and report, not yet stored on the PACS
 *   failed/     <seq>.*    what could not be segmented or was refused by the PACS, with a .txt reason
 *
 * An item moves received → outbox in one rename (the results folder appears whole, then the
 * received file goes), so a restart never segments an image twice; results keep the UIDs they
 * were written with, so one resent after a crash between "stored" and "removed" is the same
 * object again, which a PACS keeps once. Sequence numbers keep arrival order.
 */
import { mkdir, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describeError, ErrorCode, SgusError } from '../errors.js';

const SEQ_DIGITS = 10;

export class ListenQueue {
  readonly dir: string;
  #next = 1;
  #tmp = 0;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Opens (creating) the queue at `dir`; drops half-received and half-written leftovers. */
  static async open(dir: string): Promise<ListenQueue> {
    const q = new ListenQueue(dir);
    try {
      for (const sub of ['incoming', 'received', 'outbox', 'failed']) await mkdir(path.join(dir, sub), { recursive: true });
      await rm(path.join(dir, 'incoming'), { recursive: true, force: true });
      await mkdir(path.join(dir, 'incoming'));
      for (const e of await readdir(path.join(dir, 'outbox'))) if (e.startsWith('.')) await rm(path.join(dir, 'outbox', e), { recursive: true, force: true });
      let max = 0;
      for (const sub of ['received', 'outbox', 'failed']) {
        for (const e of await readdir(path.join(dir, sub))) {
          const n = Number.parseInt(e, 10);
          if (Number.isFinite(n) && n > max) max = n;
        }
      }
      q.#next = max + 1;
      // An outbox item whose image is still in received/: the crash came between the two renames.
      const out = new Set(await readdir(path.join(dir, 'outbox')));
      for (const e of await readdir(path.join(dir, 'received'))) if (out.has(path.basename(e, '.dcm'))) await rm(path.join(dir, 'received', e), { force: true });
    } catch (err) {
      throw new SgusError(ErrorCode.FileUnreadable, `cannot open the queue: ${describeError(err)}`, { where: dir, cause: err });
    }
    return q;
  }

  /** A fresh path under incoming/ for a reception in progress. */
  incomingPath(): string {
    return path.join(this.dir, 'incoming', `${process.pid}-${++this.#tmp}.part`);
  }

  /** Makes a completely received file durable in received/; returns its queued path. */
  async commitReceived(incoming: string): Promise<string> {
    await fsyncFile(incoming);
    const seq = this.#nextSeq();
    const file = path.join(this.dir, 'received', `${seq}.dcm`);
    await rename(incoming, file);
    await fsyncDir(path.join(this.dir, 'received'));
    return file;
  }

  /** Received images, oldest first. */
  async received(): Promise<string[]> {
    return (await readdir(path.join(this.dir, 'received'))).filter((e) => e.endsWith('.dcm')).sort().map((e) => path.join(this.dir, 'received', e));
  }

  /** A temporary results folder for `receivedFile` (hidden until `commitResults`). */
  async resultsDir(receivedFile: string): Promise<string> {
    const dir = path.join(this.dir, 'outbox', `.${seqOf(receivedFile)}`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir);
    return dir;
  }

  /** Publishes the results of `receivedFile` to the outbox and drops the image. */
  async commitResults(receivedFile: string, resultsDir: string): Promise<string> {
    for (const f of await readdir(resultsDir)) await fsyncFile(path.join(resultsDir, f));
    await fsyncDir(resultsDir);
    const item = path.join(this.dir, 'outbox', seqOf(receivedFile));
    await rename(resultsDir, item);
    await fsyncDir(path.join(this.dir, 'outbox'));
    await rm(receivedFile, { force: true });
    return item;
  }

  /** Results waiting for the PACS, oldest first; each a folder of DICOM files. */
  async outbox(): Promise<string[]> {
    return (await readdir(path.join(this.dir, 'outbox'))).filter((e) => !e.startsWith('.')).sort().map((e) => path.join(this.dir, 'outbox', e));
  }

  /** The DICOM files of an outbox item, in name order (<stem>.seg.dcm before <stem>.sr.dcm). */
  async itemFiles(item: string): Promise<string[]> {
    return (await readdir(item)).filter((e) => e.endsWith('.dcm')).sort().map((e) => path.join(item, e));
  }

  /** The PACS has the item: it is done. */
  async sent(item: string): Promise<void> {
    await rm(item, { recursive: true, force: true });
  }

  /** Sets an image or outbox item aside in failed/ with the reason, so the queue goes on. */
  async fail(fileOrItem: string, reason: string): Promise<string> {
    const target = path.join(this.dir, 'failed', path.basename(fileOrItem));
    await rename(fileOrItem, target);
    await writeFile(path.join(this.dir, 'failed', `${seqOf(fileOrItem)}.txt`), `${reason}\n`);
    return target;
  }

  /** How many images wait to be segmented and how many results wait for the PACS. */
  async counts(): Promise<{ received: number; outbox: number }> {
    return { received: (await this.received()).length, outbox: (await this.outbox()).length };
  }

  #nextSeq(): string {
    return String(this.#next++).padStart(SEQ_DIGITS, '0');
  }
}

function seqOf(p: string): string {
  return path.basename(p).replace(/\..*$/, '');
}

async function fsyncFile(file: string): Promise<void> {
  const h = await open(file, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

async function fsyncDir(dir: string): Promise<void> {
  // Directory fsync makes the rename itself durable; some file systems refuse it, which is no reason to stop.
  try {
    await fsyncFile(dir);
  } catch {
    // ignored on purpose
  }
}

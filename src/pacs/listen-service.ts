/**
 * `sgus listen` as one object: the receiver puts pushed images into the disk queue, a segmenting
 * loop turns each (in arrival order) into its Segmentation and report, a forwarding loop stores
 * those on the PACS (STOW-RS) in the same order. While the PACS is down the forwarding loop waits
 * and retries; results pile up on disk, not in memory. One image is segmented at a time and the
 * receiver streams to disk, so a burst of pushes costs disk, not memory.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import dicomParser from 'dicom-parser';
import { formatMeasurements } from '../core/gland-measurements.js';
import { openDicom } from '../dicom/dicom-inputs.js';
import { describeError, isSgusError } from '../errors.js';
import type { Segmenter } from '../segmenter/segmenter.js';
import { TypedEmitter } from '../typed-emitter.js';
import { DicomWebClient } from './dicomweb-client.js';
import type { PacsClientOptions } from './pacs-options.js';
import { ListenQueue } from './listen-queue.js';
import { segmentInstance } from './segment-instance.js';
import { StoreScp } from './store-scp.js';
import type { StoreScpOptions } from './store-scp.js';

export interface ListenServiceOptions extends Omit<StoreScpOptions, 'incomingPath' | 'commit'> {
  /** The queue folder. Default './sgus-queue'. */
  queueDir?: string;
  /** The PACS the results go to. */
  pacs: PacsClientOptions;
  /** Opened by the caller; closed by `close()`. */
  segmenter: Segmenter;
  /** Milliseconds between tries while the PACS is down. Default 5000. */
  retryMs?: number;
  /** Frames per inference call. Default 4. */
  batchSize?: number;
}

type ListenEvents = {
  /** One line for the log: what happened, naming the image. */
  log: [line: string];
  /** An image's results are on the PACS. */
  forwarded: [sopInstanceUid: string];
  /** The queues are empty (all received images segmented and stored). */
  idle: [];
};

export class ListenService extends TypedEmitter<ListenEvents> {
  readonly #o: ListenServiceOptions;
  readonly #client: DicomWebClient;
  #queue: ListenQueue | undefined;
  #scp: StoreScp | undefined;
  #wakeSegment: (() => void) | undefined;
  #wakeForward: (() => void) | undefined;
  #loops: Promise<void>[] = [];
  #pacsDown = false;
  #closed = false;

  constructor(options: ListenServiceOptions) {
    super();
    this.#o = options;
    this.#client = new DicomWebClient(options.pacs);
  }

  get port(): number {
    return this.#scp?.port ?? this.#o.port ?? 11112;
  }

  /** Opens the queue (resuming what an earlier run left), starts the loops, then listens. */
  async start(): Promise<void> {
    const queue = await ListenQueue.open(this.#o.queueDir ?? 'sgus-queue');
    this.#queue = queue;
    const left = await queue.counts();
    if (left.received + left.outbox > 0) this.emit('log', `queue ${queue.dir}: ${left.received} image(s) to segment and ${left.outbox} result(s) to store, left by an earlier run`);
    this.#loops = [this.#segmentLoop(queue), this.#forwardLoop(queue)];
    const scp = new StoreScp({
      ...this.#o,
      incomingPath: () => queue.incomingPath(),
      commit: async (file) => {
        await queue.commitReceived(file);
        this.#wakeSegment?.();
      },
    });
    scp.on('received', (i) => this.emit('log', `received ${i.sopInstanceUid} from ${i.callingAet}@${i.host}`));
    scp.on('refused', (l) => this.emit('log', l));
    scp.on('failed', (l) => this.emit('log', l));
    this.#scp = scp;
    await scp.listen();
  }

  /** Stops receiving and the loops; what is queued stays on disk for the next run. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#scp?.close();
    this.#wakeSegment?.();
    this.#wakeForward?.();
    await Promise.all(this.#loops);
    this.#client.close();
    await this.#o.segmenter.close();
  }

  async #idleCheck(queue: ListenQueue): Promise<void> {
    const c = await queue.counts();
    if (c.received === 0 && c.outbox === 0) this.emit('idle');
  }

  /** Resolves when woken (new work) or after `ms`. */
  #sleep(which: 'segment' | 'forward', ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      if (which === 'segment') this.#wakeSegment = done;
      else this.#wakeForward = done;
    });
  }

  async #segmentLoop(queue: ListenQueue): Promise<void> {
    while (!this.#closed) {
      const next = (await queue.received())[0];
      if (next === undefined) {
        await this.#sleep('segment', 60_000);
        continue;
      }
      const name = path.basename(next);
      try {
        const inst = await openDicom(next);
        const dir = await queue.resultsDir(next);
        const r = await segmentInstance(this.#o.segmenter, inst, { dir, batchSize: this.#o.batchSize ?? 4 });
        if (this.#closed) return; // results not committed: the image is segmented again next run
        await queue.commitResults(next, dir);
        this.emit('log', `segmented ${inst.sopInstanceUid}: ${inst.frames} frame${inst.frames === 1 ? '' : 's'}${r.measurements.length === 1 ? `, ${formatMeasurements(r.measurements[0]!)}` : ''}`);
        this.#wakeForward?.();
      } catch (err) {
        if (this.#closed) return;
        const why = describeError(err);
        const where = await queue.fail(next, why).catch(() => next);
        this.emit('log', `cannot segment ${name}: ${why}; set aside in ${where}`);
        await this.#idleCheck(queue);
      }
    }
  }

  async #forwardLoop(queue: ListenQueue): Promise<void> {
    const retryMs = this.#o.retryMs ?? 5000;
    while (!this.#closed) {
      const item = (await queue.outbox())[0];
      if (item === undefined) {
        await this.#idleCheck(queue);
        await this.#sleep('forward', 60_000);
        continue;
      }
      const files = await queue.itemFiles(item);
      try {
        const objects = await Promise.all(files.map((f) => readFile(f)));
        const study = studyOf(objects[0]!);
        const r = await this.#client.store(objects, study);
        if (r.failed.length > 0) throw Object.assign(new Error(`the PACS refused ${r.failed.length} of ${objects.length} objects`), { refused: true });
        await queue.sent(item);
        if (this.#pacsDown) this.emit('log', `PACS ${this.#client.url} is back; sending what waited`);
        this.#pacsDown = false;
        const source = path.basename(files[0]!).replace(/\.seg\.dcm$/, '');
        this.emit('log', `stored the Segmentation and report of ${source} on the PACS`);
        this.emit('forwarded', source);
      } catch (err) {
        if (this.#closed) return;
        // A refusal of these objects will not change on retry: set them aside, go on with the rest.
        if ((err as { refused?: boolean }).refused === true || (isSgusError(err, 'sink-failure') && /stored none/.test((err as Error).message))) {
          const where = await queue.fail(item, describeError(err)).catch(() => item);
          this.emit('log', `the PACS refused ${path.basename(item)}: ${describeError(err)}; set aside in ${where}`);
          continue;
        }
        if (!this.#pacsDown) {
          const c = await queue.counts();
          this.emit('log', `cannot store on the PACS: ${describeError(err)}; ${c.outbox} result(s) wait on disk, retrying every ${(retryMs / 1000).toFixed(1)} s`);
        }
        this.#pacsDown = true;
        // A new result also wakes this: at most one try per result and one per retryMs.
        await this.#sleep('forward', retryMs);
      }
    }
  }
}

/** The Study Instance UID of one of our SEG/SR objects (dicom-parser, up to that tag only). */
function studyOf(bytes: Uint8Array): string | undefined {
  try {
    return dicomParser.parseDicom(bytes, { untilTag: 'x0020000e' }).string('x0020000d') ?? undefined;
  } catch {
    return undefined;
  }
}

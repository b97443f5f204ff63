/**
 * One FFmpeg process per stream, scaling in its own process (not in JavaScript), with up to three
 * outputs from the same decode:
 *   pipe:1  raw RGB24 at the model's input size, for inference (always);
 *   pipe:3  video for viewers: the source's H.264 passed through (Annex B, an AUD before every
 *           picture) when it has no B-frames, else low-latency libx264, or MJPEG (only when asked);
 *   pipe:4  raw pictures at the source size (yuv420p or RGB24), for the annotated video (only when asked).
 * This file owns the process: spawn, flow control, stall watchdog, restart, close, events. The
 * options and defaults are in ffmpeg-source-options.ts, the command line in ffmpeg-args.ts; stderr
 * is read by ffmpeg-stderr.ts, raw pipes cut into pictures by ffmpeg-frame-reader.ts (buffers from
 * ffmpeg-buffer-pool.ts), viewer video by ffmpeg-view-reader.ts, and the parts of one picture
 * joined by ffmpeg-frame-joiner.ts into one `Frame`.
 *
 * Flow control: in replay mode at most `highWaterMark` frames are out (emitted and not yet
 * `release()`d); beyond that every pipe is paused, FFmpeg blocks on its writes and decoding stops,
 * so nothing is lost and nothing grows. In live mode nothing pauses (the batcher keeps the latest
 * frames). A live source whose FFmpeg dies or stalls restarts with exponential backoff, and so does
 * a looping replay; a plain replay reports a fatal error instead, as does any source that cannot
 * open for a reason retrying cannot fix (restart-policy.ts).
 *
 * Over 400 lines on purpose: what is left is one state machine (a run's spawn, its pipes wired to
 * the readers, credits and pausing, the stall watchdog, restart and close) whose steps share the
 * run's state; every part that stands alone has its own file, named above.
 */
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { Observable } from 'rxjs';
import type { Subscriber } from 'rxjs';
import type { RgbImage } from '../core/image.js';
import { ErrorCode, SgusError } from '../errors.js';
import { spawnHelper } from '../helper-process.js';
import { TypedEmitter } from '../typed-emitter.js';
import { fullPictureBytes } from './frame.js';
import type { Frame } from './frame.js';
import { ffmpegArgs, viewPlan } from './ffmpeg-args.js';
import { resolveSourceOptions } from './ffmpeg-source-options.js';
import type { FfmpegSourceOptions, ResolvedSourceOptions } from './ffmpeg-source-options.js';
import type { OpenFailure } from './ffmpeg-log.js';
import { BufferPool } from './ffmpeg-buffer-pool.js';
import { FrameJoiner } from './ffmpeg-frame-joiner.js';
import { RawPictureReader } from './ffmpeg-frame-reader.js';
import { FfmpegStderr } from './ffmpeg-stderr.js';
import { shouldRestart } from './restart-policy.js';
import { ViewPictureReader } from './ffmpeg-view-reader.js';
import { SourceClock } from './source-clock.js';
import { describeSource } from './source-spec.js';

// The options and their defaults live in ffmpeg-source-options.ts; importers keep these names here.
export { FFMPEG_SOURCE_DEFAULTS } from './ffmpeg-source-options.js';
export type { FfmpegSourceOptions } from './ffmpeg-source-options.js';

export interface SourceStarted {
  width: number;
  height: number;
  fps: number;
  codec: string;
  viewCodec: 'h264' | 'jpeg' | undefined;
  viewMode: 'copy' | 'encode' | 'none';
  /** Which run this is (0 = first start, then one per reconnect). */
  run: number;
}

/** A viewer's command to a replay source (checked by the viewer protocol first, again here). */
export interface PlaybackCommand {
  action: 'pause' | 'play' | 'step' | 'seek' | 'speed';
  /** seek: seconds from the start. */
  t?: number;
  /** speed: pace against the file's rate. */
  speed?: number;
  /** step: +1 or -1 frame. */
  frames?: 1 | -1;
}

/** A replay's playback after a command. */
export interface PlaybackState {
  paused: boolean;
  speed: number;
  /** Index and pts the playback moved to, or of the last frame out. */
  index: number;
  pts: number;
  /** Frames read before this epoch are stale (see `Frame.epoch`). */
  epoch: number;
}

export interface SourceEvents {
  started: [info: SourceStarted];
  reconnecting: [info: { attempt: number; delayMs: number; reason: string }];
  corrupt: [info: { reason: string }];
  /** An FFmpeg warning or error line (bounded: at most a few per second are relayed). */
  log: [line: string];
  /** The source's own warnings: frames missing (gaps in the timestamps), a source read behind. */
  warning: [line: string];
  ended: [reason: string];
  /** A replayed file reached its end and holds its last frame, paused (`holdAtEnd`). */
  held: [playback: PlaybackState];
}

interface Run {
  proc: ChildProcess;
  pipes: Readable[];
  info?: SourceStarted;
  exited: boolean;
  /** Why the source killed the run itself (fallen behind), when it did. */
  abort?: string;
  /** The run's picture parts and timestamps, joined into frames. */
  joiner: FrameJoiner;
  /** Stops writing FFmpeg's stdin (a fed source). */
  stopFeed?: () => void;
}

/** Every FFmpeg this process started and has not seen exit, killed if the process exits first. */
const LIVE_PROCESSES = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(proc: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const p of LIVE_PROCESSES) p.kill('SIGKILL');
    });
  }
  LIVE_PROCESSES.add(proc);
  proc.once('exit', () => LIVE_PROCESSES.delete(proc));
}

/** How many FFmpeg processes started here are still running (tests check for leaks). */
export function runningFfmpegCount(): number {
  return LIVE_PROCESSES.size;
}

export class FfmpegSource extends TypedEmitter<SourceEvents> {
  readonly streamId: string;
  readonly mode: 'replay' | 'live';
  readonly #o: ResolvedSourceOptions['o'];
  readonly #known: ResolvedSourceOptions['known'];
  readonly #where: string;
  #subscriber: Subscriber<Frame> | undefined;
  #run: Run | undefined;
  #runCount = 0;
  #failures = 0;
  #closed = false;
  #paused = false;
  #outstanding = 0;
  #nextIndex = 0;
  #corrupt = 0;
  #lastDataTs = 0;
  #stallTimer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #clock: SourceClock;
  #truncated = false;
  #lateSince: number | undefined;
  #draining = false;
  #drainAgain = false;
  #drainFinal = false;
  /** Replay controls: paused by a viewer (not by credits), frames a step may still let out. */
  #userPaused = false;
  #stepCredits = 0;
  #speed = 1;
  #epoch = 0;
  /** The next run starts here (a seek), and the frame index it starts at. */
  #seek: { s: number; index: number; pts: number } | undefined;
  #seeked = false;
  /** Where the playback is: the last frame out, or where a restart will start. */
  #position = { index: 0, pts: 0 };
  /** At the file's end, holding its last frame (`holdAtEnd`); `#reachedEnd` once it ever was. */
  #holding = false;
  #reachedEnd = false;
  /** Reusable pixel buffers by size (bounded: a few sizes, highWaterMark + 4 each). */
  readonly #pool: BufferPool;

  constructor(options: FfmpegSourceOptions) {
    super();
    const r = resolveSourceOptions(options);
    this.mode = r.mode;
    this.streamId = r.streamId;
    this.#o = r.o;
    this.#known = r.known;
    this.#where = r.where;
    this.#pool = new BufferPool({ perSize: this.#o.highWaterMark + 4 });
    this.#clock = new SourceClock({ mode: this.mode, fps: r.known?.fps ?? 25 });
  }

  /** Frames FFmpeg reported damaged (decoded with errors concealed, or undecodable), short reads and unmatched parts. */
  get corrupt(): number {
    return this.#corrupt;
  }

  /** Frames missing from the source so far: gaps in its timestamps. */
  get missing(): number {
    return this.#clock.missing;
  }

  /** FFmpeg found the input file shorter than its index says. */
  get truncated(): boolean {
    return this.#truncated;
  }

  /** A viewer moved the playback (seek, step back, play after a pause): frames were repeated or skipped. */
  get seeked(): boolean {
    return this.#seeked;
  }

  /** The file was read to its end at least once and its last frame held for review (`holdAtEnd`). */
  get reachedEnd(): boolean {
    return this.#reachedEnd;
  }

  /** Facts of the current run (size, rate), once FFmpeg has opened the input. */
  get info(): SourceStarted | undefined {
    return this.#run?.info;
  }

  /** The frames. Starts FFmpeg on subscription; unsubscribing stops it. One subscriber at a time. */
  frames(): Observable<Frame> {
    return new Observable<Frame>((subscriber) => {
      if (this.#subscriber !== undefined || this.#closed) {
        subscriber.error(new SgusError(ErrorCode.InvalidArgument, 'source already started or closed', { where: this.#where }));
        return undefined;
      }
      this.#subscriber = subscriber;
      this.#start();
      return () => this.close();
    });
  }

  /** A frame left the pipeline (sent, written or dropped): one more may be decoded. */
  release(n = 1): void {
    this.#outstanding = Math.max(0, this.#outstanding - n);
    if (this.#outstanding < this.#o.highWaterMark) {
      // Frames already read but held back by the credit limit go first.
      if ((this.#run?.joiner.waiting ?? 0) > 0) this.#drain();
      if (this.#paused && this.#outstanding < this.#o.highWaterMark && !this.#heldByUser()) this.#setPaused(false);
    }
  }

  /**
   * Gives a finished frame's pixel buffers back for reuse (ffmpeg-buffer-pool.ts). Only for a
   * frame nothing reads any more: the pipeline calls it after the last sink.
   */
  recycle(frame: Frame): void {
    this.#pool.give(frame.pixels.data);
    this.#pool.give(frame.full?.data);
  }

  /** Stops FFmpeg and completes the stream. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#stopRun();
    const s = this.#subscriber;
    this.#subscriber = undefined;
    s?.complete();
  }

  #start(): void {
    if (this.#closed) return;
    const o = this.#o;
    const known = this.#known;
    // Without probe facts, a live network source gets a re-encoded view (safe for any codec).
    const plan = viewPlan(o.view, o.source, o.loop, known ?? { codec: 'unknown', hasBFrames: true }, this.#seeked);
    const seek = this.#seek;
    this.#seek = undefined;
    const args = ffmpegArgs({ ...o, ioTimeoutS: o.stallTimeoutS, ...(seek !== undefined ? { seekS: seek.s } : {}), speed: this.#speed, ...(o.stdin !== undefined ? { stdinFormat: o.stdin.inputArgs } : {}) }, plan, known?.fps ?? 25);
    // Its own process group: Ctrl-C reaches sgus only, which stops it quietly (helper-process.ts).
    const proc = spawnHelper(o.ffmpegPath, args, { stdio: [o.stdin !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe', 'pipe'] });
    track(proc);
    // Joined parts are bounded by the pause logic (replay) or by dropping (live).
    const joiner = new FrameJoiner({ mode: this.mode, withView: plan.mode !== 'none', withFull: o.fullFrames });
    const run: Run = { proc, pipes: [], exited: false, joiner };
    // A fed source: paused pipes make FFmpeg block, which stops it reading stdin, which the feed awaits.
    if (o.stdin !== undefined && proc.stdin !== null) run.stopFeed = o.stdin.start(proc.stdin, o.loop, (line) => this.emit('log', line));
    this.#run = run;
    const thisRun = this.#runCount++;
    this.#lateSince = undefined;
    this.#clock.startRun(known?.fps, seek?.pts);
    if (seek !== undefined) this.#nextIndex = seek.index;
    this.#lastDataTs = performance.now();
    let gotData = false;
    let failure: string | undefined;
    // The binary could not be started: no retry will find one.
    let spawnFailure: OpenFailure | undefined;
    // FFmpeg's lines name its input as given to it (a UDP URL with our socket options appended):
    // the user's own name instead.
    const stderr = new FfmpegStderr({ sourceKind: o.source.type, rename: { from: args[args.indexOf('-i') + 1] ?? '', to: describeSource(o.source) } });
    const flowing = (): void => {
      if (gotData) return;
      gotData = true;
      for (const l of stderr.flowing()) this.emit('log', l);
    };
    // pipe:4's reader learns the picture size once the input's size is known.
    const fullReader = new RawPictureReader({ alloc: (n) => this.#pool.take(n) });

    const setInfo = (width: number, height: number, fps: number, codec: string): void => {
      if (run.info !== undefined) return;
      run.info = { width, height, fps, codec, viewCodec: plan.codec, viewMode: plan.mode, run: thisRun };
      // A plain call, not a listener on 'started': a run that fails before it starts would leave
      // its listener behind, one per reconnect.
      if (o.fullFrames) for (const p of fullReader.setPictureBytes(fullPictureBytes(o.fullFormat, width, height))) joiner.addFull(p.bytes);
      this.emit('started', run.info);
      this.#drain();
    };
    if (known !== undefined) setInfo(known.width, known.height, known.fps, known.codec);

    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (text: string) => {
      // A run stopped on purpose (close, a restart) may still say it lost its pipes: not news.
      if (this.#run !== run) return;
      let newPts = false;
      for (const news of stderr.push(text)) {
        switch (news.kind) {
          case 'pts':
            joiner.addPts(news.n, news.ptsTime);
            newPts = true;
            break;
          case 'damaged':
            this.#corrupt++;
            break;
          case 'truncated':
            this.#truncated = true;
            break;
          case 'facts':
            setInfo(news.width, news.height, news.fps, news.codec);
            break;
          case 'log':
            this.emit('log', news.line);
            break;
        }
      }
      // Pixels may have come before their timestamps.
      if (newPts && joiner.waiting > 0) this.#drain();
    });

    // pipe:1, model pixels.
    const modelBytes = o.modelWidth * o.modelHeight * 3;
    const modelReader = new RawPictureReader({ pictureBytes: modelBytes, alloc: (n) => this.#pool.take(n) });
    const stdout = proc.stdout!;
    stdout.on('data', (chunk: Buffer) => {
      this.#lastDataTs = performance.now();
      flowing();
      for (const p of modelReader.push(chunk)) joiner.addModel(p.bytes, p.firstByteTs);
      this.#drain();
    });
    run.pipes.push(stdout);

    // pipe:3, viewer video.
    const viewPipe = proc.stdio[3] as Readable;
    if (plan.mode !== 'none') {
      const views = new ViewPictureReader(plan.codec!);
      viewPipe.on('data', (chunk: Buffer) => {
        for (const p of views.push(chunk, run.info)) joiner.addView(p);
        this.#drain();
      });
      viewPipe.on('end', () => {
        for (const p of views.flush(run.info)) joiner.addView(p);
        // An FFmpeg output that gave up while the run goes on: stop waiting for its parts.
        joiner.viewEnded();
        this.#drain();
      });
      run.pipes.push(viewPipe);
    } else {
      viewPipe.resume();
    }

    // pipe:4, full-size pixels (held by the reader until the size is known).
    const fullPipe = proc.stdio[4] as Readable;
    if (o.fullFrames) {
      fullPipe.on('data', (chunk: Buffer) => {
        for (const p of fullReader.push(chunk)) joiner.addFull(p.bytes);
        this.#drain();
      });
      run.pipes.push(fullPipe);
    } else {
      fullPipe.resume();
    }

    for (const p of run.pipes) p.on('error', () => undefined);
    if (this.#paused) for (const p of run.pipes) p.pause();

    // Stall watchdog: no bytes for stallTimeoutS while reading.
    clearInterval(this.#stallTimer);
    this.#stallTimer = setInterval(() => {
      if (this.#paused || run.exited) {
        this.#lastDataTs = performance.now();
        return;
      }
      const limitS = gotData ? o.stallTimeoutS : o.startTimeoutS;
      if (performance.now() - this.#lastDataTs > limitS * 1000) {
        failure = gotData ? `no data for ${limitS} s` : `no picture within ${limitS} s of opening`;
        proc.kill('SIGKILL');
      }
    }, Math.min(1000, o.stallTimeoutS * 250));
    this.#stallTimer.unref();

    proc.once('error', (err) => {
      failure = `cannot start ffmpeg (${err.message})`;
      // No binary (or not executable): no retry will find one.
      spawnFailure = { what: failure, permanent: true };
    });
    // 'close' fires after every pipe has ended, so all data is in.
    proc.once('close', (code, signal) => {
      run.exited = true;
      clearInterval(this.#stallTimer);
      if (this.#run !== run || this.#closed) return;
      // A run the source killed itself (fallen behind) ends mid-picture by design: not corrupt.
      const short = modelReader.partialBytes;
      if (short > 0 && run.abort === undefined) {
        this.#corrupt++;
        this.emit('corrupt', { reason: `short read: ${short} of ${modelBytes} bytes at the end of the stream` });
      }
      this.#drain(true);
      const open = spawnFailure ?? stderr.openFailure;
      const tail = stderr.lastProblem;
      const exited = `ffmpeg exited with ${signal !== null ? `signal ${signal}` : `code ${String(code)}`}`;
      const reason =
        failure ?? run.abort ?? (code === 0 ? undefined : open !== undefined ? `cannot open: ${open.what}` : `${exited}${tail !== undefined ? `: ${tail}` : ''}`);
      this.#onRunEnded(reason, open?.permanent === true);
    });
  }

  /**
   * Moves joined frames out to the subscriber. `final`: the run ended, emit what is complete.
   * Re-entrant calls (a subscriber releasing credits synchronously) only ask for another pass, so
   * frames always leave in order.
   */
  #drain(final = false): void {
    if (this.#draining) {
      this.#drainAgain = true;
      this.#drainFinal ||= final;
      return;
    }
    this.#draining = true;
    try {
      let f = final;
      do {
        this.#drainAgain = false;
        this.#drainOnce(f);
        f = f || this.#drainFinal;
        this.#drainFinal = false;
      } while (this.#drainAgain);
    } finally {
      this.#draining = false;
    }
  }

  #drainOnce(final: boolean): void {
    const run = this.#run;
    if (run === undefined) return;
    const joiner = run.joiner;
    const dropped = joiner.trim();
    if (dropped > 0) {
      this.#corrupt += dropped;
      this.emit('corrupt', { reason: `${dropped} unmatched picture parts dropped` });
    }
    const s = this.#subscriber;
    if (s === undefined || run.info === undefined) return;
    const info = run.info;
    while (joiner.waiting > 0) {
      // Replay: no more frames out than credits (a pipe chunk can hold several small frames).
      if (this.mode === 'replay' && this.#outstanding >= this.#o.highWaterMark && !final) break;
      if (this.#userPaused && this.#stepCredits === 0) break;
      const joined = joiner.next(final);
      if (joined === undefined) break;
      if (joined.kind === 'no-full') {
        // No full-size picture for it: the annotated video would lose sync, so count it corrupt.
        this.#corrupt++;
        this.emit('corrupt', { reason: 'frame without its full-size picture' });
        continue;
      }
      const m = joined.picture;
      const index = this.#nextIndex++;
      const pixels: RgbImage = { width: this.#o.modelWidth, height: this.#o.modelHeight, data: m.pixels };
      const clocked = this.#clock.frame(m.ptsTime, m.ts);
      const gap = clocked.gap;
      if (gap !== undefined) {
        this.emit('warning', gap.discontinuity
          ? `timestamps jump by ${(gap.toPts - gap.fromPts).toFixed(1)} s before frame ${index}`
          : `${gap.missing} frame${gap.missing === 1 ? '' : 's'} missing before frame ${index} (timestamps jump from ${gap.fromPts.toFixed(3)} s to ${gap.toPts.toFixed(3)} s)`);
      }
      if (this.mode === 'live' && clocked.lagMs > this.#o.maxLagMs) {
        // Late for a second on end (by the frames' arrival, however few arrive): behind for good.
        this.#lateSince ??= m.ts;
        if (m.ts - this.#lateSince >= 1000 && run.abort === undefined) this.#fallenBehind(run, clocked.lagMs);
      } else {
        this.#lateSince = undefined;
      }
      const frame: Frame = {
        streamId: this.streamId,
        index,
        pts: clocked.pts,
        captureTs: clocked.captureTs,
        sourceWidth: info.width,
        sourceHeight: info.height,
        pixels,
      };
      const view = m.view;
      if (view !== undefined) {
        if (view.width === 0) {
          view.width = info.width;
          view.height = info.height;
        }
        frame.view = view;
      }
      if (m.full !== undefined) frame.full = { format: this.#o.fullFormat, width: info.width, height: info.height, data: m.full };
      frame.decodedTs = performance.timeOrigin + performance.now();
      if (this.#epoch > 0) frame.epoch = this.#epoch;
      this.#position = { index, pts: frame.pts };
      if (this.#userPaused && this.#stepCredits > 0 && --this.#stepCredits === 0) this.#setPaused(true);
      if (this.mode === 'replay') {
        this.#outstanding++;
        if (!this.#paused && this.#outstanding >= this.#o.highWaterMark) this.#setPaused(true);
      }
      this.#failures = 0;
      s.next(frame);
      if (this.#subscriber === undefined) return;
    }
  }

  /** Live: the run reads the source ever later (FFmpeg's reads backed up): reopen it at the source's present. */
  #fallenBehind(run: Run, lagMs: number): void {
    const why = `${(lagMs / 1000).toFixed(1)} s behind the source`;
    if (this.#o.source.type === 'file') {
      // Reopening a file would rewind it: frames too old are dropped downstream instead.
      this.emit('warning', `${why}; frames older than the limit are dropped`);
      // Once per episode: again only after the source caught up.
      this.#lateSince = Infinity;
      return;
    }
    run.abort = `fell ${why}`;
    run.proc.kill('SIGKILL');
  }

  /** A file replayed in real time whose end is held for review (`holdAtEnd`), once it gave frames. */
  #canHold(): boolean {
    return this.#o.holdAtEnd && this.mode === 'replay' && this.#o.source.type === 'file' && this.#o.realtime && this.#nextIndex > 0;
  }

  /** Paused by a viewer with no step to let out. */
  #heldByUser(): boolean {
    return this.#userPaused && this.#stepCredits === 0;
  }

  /** The playback now (replay controls). */
  get playback(): PlaybackState {
    return { paused: this.#userPaused, speed: this.#speed, index: this.#position.index, pts: this.#position.pts, epoch: this.#epoch };
  }

  /**
   * A viewer's playback command, for a file replayed in real time. Pause holds the pipes (FFmpeg
   * blocks); play, seek, a step back and a new speed restart FFmpeg at the position (`-ss` before
   * `-i`), as FFmpeg's own pacing would rush to catch up with the time spent paused. Throws an
   * SgusError (InvalidArgument, not fatal) for a command this source cannot do.
   */
  control(c: PlaybackCommand): PlaybackState {
    const refuse = (why: string): never => {
      throw new SgusError(ErrorCode.InvalidArgument, why, { fatal: false, where: this.#where });
    };
    if (this.mode !== 'replay' || this.#o.source.type !== 'file') refuse('only a replayed file can be paused or seeked');
    if (!this.#o.realtime) refuse('a replay at full speed has no playback to control (use --realtime)');
    if (this.#closed) refuse('the replay has ended');
    const fps = this.#run?.info?.fps ?? this.#known?.fps ?? 25;
    const here = this.playback;
    switch (c.action) {
      case 'pause':
        this.#userPaused = true;
        this.#stepCredits = 0;
        this.#setPaused(true);
        break;
      case 'play':
        if (!this.#userPaused) break;
        this.#userPaused = false;
        // At the end, play starts the exam again, as a scanner's cine review does.
        this.#restartAt(this.#holding ? 0 : here.index + 1, fps);
        break;
      case 'speed': {
        const v = c.speed;
        if (v === undefined || !(v >= 0.25 && v <= 4)) return refuse(`speed must be from 0.25 to 4, got ${String(v)}`);
        if (v === this.#speed) break;
        this.#speed = v;
        // Paused: the new pace applies from the next play.
        if (!this.#userPaused) this.#restartAt(here.index + 1, fps);
        break;
      }
      case 'step':
        if (c.frames === -1) {
          this.#userPaused = true;
          this.#stepCredits = 1;
          this.#restartAt(Math.max(0, here.index - 1), fps);
        } else {
          if (this.#holding) return refuse('the replay is at the end of the file: nothing to step to');
          this.#userPaused = true;
          this.#stepCredits++;
          this.#setPaused(false);
          this.#drain();
        }
        break;
      case 'seek': {
        const t = c.t;
        if (t === undefined || !Number.isFinite(t) || t < 0 || t > 86_400) return refuse(`seek needs t from 0 to 86400 s, got ${String(t)}`);
        // Paused, the seek still shows the frame it lands on.
        if (this.#userPaused) this.#stepCredits = 1;
        this.#restartAt(Math.round(t * fps), fps);
        break;
      }
      default:
        refuse(`unknown playback action ${JSON.stringify(String((c as { action: unknown }).action)).slice(0, 40)}`);
    }
    return this.playback;
  }

  /** Stops the run and starts one at frame `index` (its pts `index / fps`: a constant-rate file). */
  #restartAt(index: number, fps: number): void {
    const pts = index / fps;
    this.#epoch++;
    this.#seeked = true;
    // A quarter frame early: the frame at `pts` is the first FFmpeg keeps, whatever the rounding.
    this.#seek = { s: Math.max(0, pts - 0.25 / fps), index, pts };
    this.#position = { index, pts };
    this.#holding = false;
    clearTimeout(this.#retryTimer);
    this.#stopRun();
    this.#paused = false;
    if (this.#heldByUser()) this.#paused = true;
    this.#start();
  }

  #setPaused(p: boolean): void {
    this.#paused = p;
    for (const pipe of this.#run?.pipes ?? []) {
      if (p) pipe.pause();
      else pipe.resume();
    }
  }

  #stopRun(): void {
    clearInterval(this.#stallTimer);
    const run = this.#run;
    if (run === undefined) return;
    this.#run = undefined;
    run.stopFeed?.();
    // Killed before its pipes close, so it has no time to complain about them ('Broken pipe').
    if (!run.exited && run.proc.exitCode === null) run.proc.kill('SIGKILL');
    for (const p of run.pipes) p.destroy();
  }

  #onRunEnded(reason: string | undefined, permanent: boolean): void {
    const s = this.#subscriber;
    if (s === undefined) return;
    const restartable = shouldRestart({ mode: this.mode, loop: this.#o.loop, source: this.#o.source, reason, permanent, deliveredFrames: this.#nextIndex > 0 });
    if (!restartable && reason === undefined && this.#canHold()) {
      // The file's end: its last frame stays, paused, until a viewer seeks or plays, or close().
      this.#stopRun();
      this.#holding = true;
      this.#reachedEnd = true;
      this.#userPaused = true;
      this.#stepCredits = 0;
      this.#paused = false;
      this.emit('held', this.playback);
      return;
    }
    if (!restartable) {
      this.#stopRun();
      this.#subscriber = undefined;
      this.#closed = true;
      if (reason === undefined) {
        this.emit('ended', 'end of stream');
        s.complete();
      } else {
        this.emit('ended', reason);
        s.error(new SgusError(ErrorCode.SourceFailure, reason, { where: this.#where }));
      }
      return;
    }
    this.#stopRun();
    this.#failures++;
    const why = reason ?? 'stream ended';
    if (this.#failures > this.#o.maxReconnects) {
      this.#subscriber = undefined;
      this.#closed = true;
      this.emit('ended', why);
      s.error(new SgusError(ErrorCode.SourceFailure, `${why}; gave up after ${this.#o.maxReconnects} reconnects`, { where: this.#where }));
      return;
    }
    const delayMs = Math.min(this.#o.reconnectMaxMs, this.#o.reconnectInitialMs * 2 ** (this.#failures - 1));
    this.emit('reconnecting', { attempt: this.#failures, delayMs, reason: why });
    this.#retryTimer = setTimeout(() => this.#start(), delayMs);
  }

  /** The running FFmpeg's pid (tests kill it to check recovery). */
  get pid(): number | undefined {
    return this.#run?.proc.pid;
  }
}

/**
 * The FFmpeg command line of a source, as pure functions of its options (no process, no state), so
 * every mode's arguments are unit-tested. Outputs, from one decode:
 *   pipe:1  raw RGB24 at the model's input size (always), with showinfo for each frame's pts;
 *   pipe:3  viewer video: H.264 copied (Annex B, an AUD per picture), libx264, or MJPEG;
 *   pipe:4  raw full-size pictures for the annotated video (only when asked).
 */
import type { SourceSpec } from './source-spec.js';

/** Viewer video asked for: 'auto' passes H.264 through when possible, else libx264; 'none' saves the CPU. */
export type ViewMode = 'none' | 'auto' | 'h264' | 'jpeg';

/** What pipe:3 carries in one run. */
export interface ViewPlan {
  mode: 'copy' | 'encode' | 'none';
  codec: 'h264' | 'jpeg' | undefined;
}

/** Input side of the command line (every field required: the source applies its defaults). */
export interface InputArgOptions {
  /** Read at the native frame rate (`-re`), for real-time replay of files. */
  realtime: boolean;
  /** Loop a file forever (`-stream_loop -1`). */
  loop: boolean;
  /** Seconds of silence after which a network read gives up (FFmpeg's own timeout). */
  ioTimeoutS: number;
  /** A file: start this many seconds in (`-ss` before `-i`: a fast seek, then exact). Default 0. */
  seekS?: number;
  /** Realtime pace against the file's rate (`-readrate`; 1 is `-re`). Default 1. */
  speed?: number;
  /** A source fed through stdin (DICOM): its input format arguments before `-i pipe:0`. Default none. */
  stdinFormat?: readonly string[];
}

/** The whole command line (every field required: the source applies its defaults). */
export interface FfmpegArgsOptions extends InputArgOptions {
  source: SourceSpec;
  /** Size FFmpeg scales pipe:1 to. */
  modelWidth: number;
  modelHeight: number;
  /** Write full-size pictures to pipe:4, in this pixel format. */
  fullFrames: boolean;
  fullFormat: 'yuv420p' | 'rgb24';
}

/**
 * The viewer video of a run. `info`: the input's codec and whether it has B-frames (probed; an
 * unknown input counts as 'unknown' with B-frames, which re-encodes, safe for any codec).
 */
export function viewPlan(view: ViewMode, source: SourceSpec, loop: boolean, info: { codec: string; hasBFrames: boolean }, seeked = false): ViewPlan {
  if (view === 'none') return { mode: 'none', codec: undefined };
  if (view === 'jpeg') return { mode: 'encode', codec: 'jpeg' };
  // Pass-through only when packet order = picture order, so AU k pairs with decoded frame k.
  // Not when looping: FFmpeg 5.1 signals EOF to the copied stream's bitstream filters at the
  // first loop ('A non-NULL packet sent after an EOF') and the viewer video stops for good, while
  // every later frame waits for its missing video part (latency +2.6 s). Encoding is not affected.
  // Nor after a seek: the copy starts at the key frame before the target, the decode at the target.
  if (info.codec === 'h264' && !info.hasBFrames && source.type !== 'url' && !loop && !seeked) return { mode: 'copy', codec: 'h264' };
  return { mode: 'encode', codec: 'h264' };
}

/** FFmpeg arguments before and including `-i`. */
export function ffmpegInputArgs(spec: SourceSpec, o: InputArgOptions): string[] {
  const args: string[] = [];
  switch (spec.type) {
    case 'file':
      if (o.loop) args.push('-stream_loop', '-1');
      if (o.realtime) {
        if (o.speed !== undefined && o.speed !== 1) args.push('-readrate', String(o.speed));
        else args.push('-re');
      }
      // Before -i: FFmpeg jumps to the key frame before it and drops the decoded frames up to it.
      if (o.seekS !== undefined && o.seekS > 0) args.push('-ss', o.seekS.toFixed(6));
      args.push('-i', spec.path);
      break;
    case 'dicom':
      // Looping is the feed's (it writes the frames again), timestamps then keep rising.
      if (o.realtime) args.push('-re');
      args.push(...(o.stdinFormat ?? []), '-i', 'pipe:0');
      break;
    case 'lavfi':
      if (o.realtime) args.push('-re');
      args.push('-f', 'lavfi', '-i', spec.graph);
      break;
    case 'device':
      args.push('-f', 'v4l2');
      if (spec.size !== undefined) args.push('-video_size', spec.size);
      if (spec.rate !== undefined) args.push('-framerate', String(spec.rate));
      if (spec.pixelFormat !== undefined) args.push('-input_format', spec.pixelFormat);
      args.push('-i', spec.path);
      break;
    case 'url': {
      // Low latency: no buffering, short probe. A stream joined mid-GOP has no SPS (so no size)
      // until its next key frame; the source reads the size from the scaler's log line instead,
      // so the probe need not wait for it. UDP sockets get a bounded FIFO that drops on overrun.
      args.push('-fflags', 'nobuffer', '-flags', 'low_delay', '-probesize', '1000000', '-analyzeduration', '2000000');
      let url = spec.url;
      const us = Math.round(o.ioTimeoutS * 1e6);
      if (/^udp:/i.test(url)) {
        url += `${url.includes('?') ? '&' : '?'}overrun_nonfatal=1&fifo_size=50000&timeout=${us}`;
      } else if (/^rtsp/i.test(url)) {
        args.push('-rtsp_transport', 'tcp', '-timeout', String(us));
      } else if (/^(http|https|tcp|srt):/i.test(url)) {
        args.push('-rw_timeout', String(us));
      }
      if (o.realtime) args.push('-re');
      args.push('-i', url);
      break;
    }
  }
  return args;
}

/** The full command line of one run; `fps` sets the libx264 key-frame interval (2 s). */
export function ffmpegArgs(o: FfmpegArgsOptions, plan: ViewPlan, fps: number): string[] {
  // 'verbose' for the scaler's 'w:W h:H fmt:... -> w:224 h:224' line: the true source size even
  // when the input probe could not tell it (a network stream joined before its next key frame).
  // 'level+' prefixes every line with its level, so only warnings and errors reach messages.
  const args = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'level+verbose'];
  args.push(...ffmpegInputArgs(o.source, { realtime: o.realtime, loop: o.loop, ioTimeoutS: o.ioTimeoutS, ...(o.seekS !== undefined ? { seekS: o.seekS } : {}), ...(o.speed !== undefined ? { speed: o.speed } : {}), ...(o.stdinFormat !== undefined ? { stdinFormat: o.stdinFormat } : {}) }));
  args.push('-map', '0:v:0', '-an', '-sn', '-dn', '-fps_mode', 'passthrough', '-vf', `scale=${o.modelWidth}:${o.modelHeight}:flags=bilinear,showinfo=checksum=0`, '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1');
  if (plan.mode === 'copy') {
    args.push('-map', '0:v:0', '-an', '-sn', '-dn', '-c:v', 'copy', '-bsf:v', 'h264_mp4toannexb,h264_metadata=aud=insert', '-f', 'h264', 'pipe:3');
  } else if (plan.mode === 'encode' && plan.codec === 'h264') {
    const gop = Math.max(1, Math.round(fps * 2));
    args.push('-map', '0:v:0', '-an', '-sn', '-dn', '-fps_mode', 'passthrough', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-g', String(gop), '-bsf:v', 'h264_metadata=aud=insert', '-f', 'h264', 'pipe:3');
  } else if (plan.mode === 'encode' && plan.codec === 'jpeg') {
    args.push('-map', '0:v:0', '-an', '-sn', '-dn', '-fps_mode', 'passthrough', '-c:v', 'mjpeg', '-q:v', '5', '-pix_fmt', 'yuvj420p', '-f', 'mjpeg', 'pipe:3');
  }
  if (o.fullFrames) args.push('-map', '0:v:0', '-an', '-sn', '-dn', '-fps_mode', 'passthrough', '-pix_fmt', o.fullFormat, '-f', 'rawvideo', 'pipe:4');
  return args;
}

/** What a source holds, from ffprobe (through fluent-ffmpeg), before the decoding FFmpeg starts. */
import ffmpeg from 'fluent-ffmpeg';
import { ErrorCode, SgusError } from '../errors.js';
import { openFailure } from './ffmpeg-log.js';

export interface VideoProbe {
  width: number;
  height: number;
  /** Frames per second (r_frame_rate, else avg_frame_rate; 25 when unknown). */
  fps: number;
  codec: string;
  /** The stream reorders frames (B-frames): its packets are not in presentation order. */
  hasBFrames: boolean;
  /** Frame count from the container, when it says. */
  frames?: number;
  /** Seconds, when known. */
  duration?: number;
}

function rate(r: string | undefined): number | undefined {
  if (r === undefined) return undefined;
  const [n, d] = r.split('/').map(Number);
  if (n === undefined || !Number.isFinite(n) || n <= 0) return undefined;
  const v = d === undefined ? n : n / d;
  return Number.isFinite(v) && v > 0 && v < 1000 ? v : undefined;
}

/** Probes the first video stream of a file or URL. */
export function probeVideo(input: string, timeoutS = 15): Promise<VideoProbe> {
  return new Promise((resolve, reject) => {
    ffmpeg.ffprobe(input, ['-rw_timeout', String(Math.round(timeoutS * 1e6))].filter(() => /^[a-z]+:\/\//i.test(input)), (err: unknown, data) => {
      if (err !== null && err !== undefined) {
        const lines = String((err as Error).message ?? err).split('\n').filter((l) => l.trim() !== '');
        // In the project's words where FFmpeg's are known ('no such file', 'not a video FFmpeg can
        // read'), not its own ('Invalid data found when processing input').
        const kind = /^[a-z][a-z0-9+.-]*:\/\//i.test(input) ? 'url' : 'file';
        const known = lines.map((l) => openFailure(l.trim(), kind)).find((f) => f !== undefined);
        const text = lines.pop() ?? 'ffprobe failed';
        const why = known !== undefined ? known.what : `cannot read video: ${text.replace(/^.*?: /, '')}`;
        const code = known?.permanent !== true ? ErrorCode.SourceFailure : /no such file|permission|folder/.test(known.what) ? ErrorCode.FileUnreadable : ErrorCode.UnsupportedFormat;
        reject(new SgusError(code, why, { where: input, cause: err }));
        return;
      }
      const v = data.streams.find((s) => s.codec_type === 'video');
      if (v === undefined || v.width === undefined || v.height === undefined) {
        reject(new SgusError(ErrorCode.UnsupportedFormat, 'no video stream', { where: input }));
        return;
      }
      const frames = Number(v.nb_frames);
      const duration = Number(v.duration ?? data.format.duration);
      const out: VideoProbe = {
        width: v.width,
        height: v.height,
        fps: rate(v.r_frame_rate) ?? rate(v.avg_frame_rate) ?? 25,
        codec: v.codec_name ?? 'unknown',
        hasBFrames: (v.has_b_frames ?? 0) > 0,
      };
      if (Number.isInteger(frames) && frames > 0) out.frames = frames;
      if (Number.isFinite(duration) && duration > 0) out.duration = duration;
      resolve(out);
    });
  });
}

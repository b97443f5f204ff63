/**
 * What a stream reads from, and the FFmpeg input arguments for it. Every kind FFmpeg reads:
 * recorded files, V4L2 capture devices, network streams (RTSP, RTP/UDP, SRT, HTTP(S)) and lavfi
 * test sources. `synthetic` sources are turned into files by the preset layer before they get here.
 */
import { ErrorCode, SgusError } from '../errors.js';

export type SourceSpec =
  | { type: 'file'; path: string }
  | {
      type: 'device';
      /** e.g. /dev/video0 */
      path: string;
      /** Capture size 'WxH', e.g. '1280x720'. Default: the device's. */
      size?: string;
      /** Capture frame rate. Default: the device's. */
      rate?: number;
      /** V4L2 pixel format, e.g. 'mjpeg', 'yuyv422'. Default: the device's. */
      pixelFormat?: string;
    }
  | { type: 'url'; url: string }
  | {
      type: 'lavfi';
      /** A lavfi source graph, e.g. 'testsrc2=size=640x480:rate=25'. */
      graph: string;
    };

const NETWORK = /^(rtsp|rtsps|rtp|udp|srt|http|https|tcp|rtmp):\/\//i;

/** A CLI argument (file, URL, device path) as a source. */
export function sourceFromArgument(arg: string): SourceSpec {
  if (NETWORK.test(arg)) return { type: 'url', url: arg };
  if (arg.startsWith('lavfi:')) return { type: 'lavfi', graph: arg.slice('lavfi:'.length) };
  if (/^\/dev\/video\d+$/.test(arg)) return { type: 'device', path: arg };
  if (arg.trim() === '') throw new SgusError(ErrorCode.InvalidArgument, 'empty source');
  return { type: 'file', path: arg };
}

/** Human-readable location of a source, for messages. */
export function describeSource(spec: SourceSpec): string {
  switch (spec.type) {
    case 'file':
    case 'device':
      return spec.path;
    case 'url':
      return spec.url;
    case 'lavfi':
      return `lavfi:${spec.graph}`;
  }
}

export function isNetwork(spec: SourceSpec): boolean {
  return spec.type === 'url';
}

export interface InputArgOptions {
  /** Read at the native frame rate (`-re`), for real-time replay of files. */
  realtime: boolean;
  /** Loop a file forever (`-stream_loop -1`). */
  loop: boolean;
  /** Seconds of silence after which a network read gives up (FFmpeg's own timeout). */
  ioTimeoutS: number;
}

/** FFmpeg arguments before and including `-i`. */
export function ffmpegInputArgs(spec: SourceSpec, o: InputArgOptions): string[] {
  const args: string[] = [];
  switch (spec.type) {
    case 'file':
      if (o.loop) args.push('-stream_loop', '-1');
      if (o.realtime) args.push('-re');
      args.push('-i', spec.path);
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

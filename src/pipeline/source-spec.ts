/**
 * What a stream reads from (its FFmpeg input arguments: ffmpeg-args.ts). Every kind FFmpeg reads:
 * recorded files, V4L2 capture devices, network streams (RTSP, RTP/UDP, SRT, HTTP(S)) and lavfi
 * test sources, and DICOM cine loops FFmpeg reads from its stdin (dicom-source.ts). `synthetic` sources are turned into files by the preset layer before they get here.
 */
import type { DicomInstance } from '../dicom/dicom-file.js';
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
      type: 'dicom';
      /** A DICOM Part 10 ultrasound file (single or multi-frame). */
      path: string;
      /** The file opened beforehand (openDicomSource: codecs loaded, read once). Default: read when the source starts. */
      instance?: DicomInstance;
    }
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
    case 'dicom':
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

/**
 * H.264 Annex B splitting for viewers: FFmpeg writes an elementary stream with an access unit
 * delimiter (AUD, NAL type 9) before every picture (`h264_metadata=aud=insert` or x264 `aud=1`),
 * so one access unit = the bytes from one AUD to the next. WebCodecs wants exactly that: one
 * `EncodedVideoChunk` per picture, key when it holds an IDR slice, with SPS/PPS in-band.
 */

export interface AccessUnit {
  data: Buffer;
  /** Holds an IDR slice (NAL type 5). */
  key: boolean;
  /** WebCodecs codec string from the SPS in this unit ('avc1.PPCCLL'), when it has one. */
  codecString?: string;
}

/** Finds the next start code (00 00 01 or 00 00 00 01) at or after `from`; returns its offset or -1. */
function findStartCode(buf: Buffer, from: number): number {
  for (let i = from; i + 2 < buf.length; i++) {
    if (buf[i] === 0 && buf[i + 1] === 0) {
      if (buf[i + 2] === 1) return i > 0 && buf[i - 1] === 0 ? i - 1 : i;
    }
  }
  return -1;
}

/** Offset of the NAL header byte after a start code beginning at `sc`. */
function nalHeaderAt(buf: Buffer, sc: number): number {
  return buf[sc + 2] === 1 ? sc + 3 : sc + 4;
}

/** 'avc1.PPCCLL' from an SPS NAL's profile_idc, constraint flags and level_idc bytes. */
export function codecStringFromSps(sps: Buffer): string {
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  return `avc1.${hex(sps[1] ?? 0x42)}${hex(sps[2] ?? 0)}${hex(sps[3] ?? 0x1f)}`;
}

/**
 * Incremental splitter: feed stream chunks, get complete access units. Memory is bounded by one
 * access unit plus one chunk (an access unit over `maxUnitBytes` is dropped as corrupt).
 */
export class AnnexBSplitter {
  #pending: Buffer = Buffer.alloc(0);
  /** Offset in #pending where the current unit's AUD starts, or -1 before the first AUD. */
  #scanFrom = 0;
  readonly #maxUnitBytes: number;
  #oversize = 0;

  constructor(maxUnitBytes = 16 * 1024 * 1024) {
    this.#maxUnitBytes = maxUnitBytes;
  }

  /** Units dropped because they exceeded the size bound. */
  get oversize(): number {
    return this.#oversize;
  }

  push(chunk: Buffer): AccessUnit[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const out: AccessUnit[] = [];
    // Walk the start codes; split before every AUD except one at offset 0.
    let unitStart = 0;
    let i = Math.max(0, this.#scanFrom - 3);
    for (;;) {
      const sc = findStartCode(this.#pending, i);
      if (sc < 0) break;
      const h = nalHeaderAt(this.#pending, sc);
      if (h >= this.#pending.length) break;
      const type = this.#pending[h]! & 0x1f;
      if (type === 9 && sc > unitStart) {
        out.push(describeUnit(this.#pending.subarray(unitStart, sc)));
        unitStart = sc;
      }
      i = h + 1;
    }
    this.#pending = unitStart > 0 ? Buffer.from(this.#pending.subarray(unitStart)) : this.#pending;
    this.#scanFrom = Math.max(0, this.#pending.length - 4);
    if (this.#pending.length > this.#maxUnitBytes) {
      this.#pending = Buffer.alloc(0);
      this.#scanFrom = 0;
      this.#oversize++;
    }
    return out;
  }

  /** The last unit at the end of the stream. */
  flush(): AccessUnit[] {
    const rest = this.#pending;
    this.#pending = Buffer.alloc(0);
    this.#scanFrom = 0;
    return rest.length > 4 ? [describeUnit(rest)] : [];
  }
}

/** Key flag and codec string of one access unit. */
export function describeUnit(data: Buffer): AccessUnit {
  let key = false;
  let codecString: string | undefined;
  let i = 0;
  for (;;) {
    const sc = findStartCode(data, i);
    if (sc < 0) break;
    const h = nalHeaderAt(data, sc);
    if (h >= data.length) break;
    const type = data[h]! & 0x1f;
    if (type === 5) key = true;
    if (type === 7 && h + 3 < data.length) codecString = codecStringFromSps(data.subarray(h, h + 4));
    // Slice data is long; once a VCL NAL is seen, later headers are rare and the scan can stop.
    if (type === 1 || type === 5) break;
    i = h + 1;
  }
  return codecString !== undefined ? { data, key, codecString } : { data, key };
}

/**
 * H.264 Annex B, the one module for it on both sides (the pipeline, the viewer hub and the browser
 * import it: plain Uint8Array, no Node or DOM API). FFmpeg writes an elementary stream with an
 * access unit delimiter (AUD, NAL type 9) before every picture (`h264_metadata=aud=insert`), so one
 * access unit = the bytes from one AUD to the next; WebCodecs wants exactly that: one
 * `EncodedVideoChunk` per picture, key when it holds an IDR slice, with SPS/PPS in-band.
 */

export const NalType = {
  Slice: 1,
  Idr: 5,
  Sei: 6,
  Sps: 7,
  Pps: 8,
  Aud: 9,
} as const;

export interface NalUnit {
  type: number;
  /** Offset of the start code. */
  start: number;
  /** Offset of the NAL header byte. */
  payloadStart: number;
  /** End (exclusive) of the NAL unit. */
  end: number;
}

/** One access unit of a stream. */
export interface AccessUnit {
  data: Uint8Array;
  /** Holds an IDR slice. */
  key: boolean;
  /** WebCodecs codec string from the SPS in this unit ('avc1.PPCCLL'), when it has one. */
  codecString?: string;
}

/**
 * The next start code (00 00 01, or 00 00 00 01) at or after `from`: the offsets of its first byte
 * and of the NAL header byte after it; undefined when there is none.
 */
function nextStartCode(bytes: Uint8Array, from: number): { start: number; payloadStart: number } | undefined {
  for (let i = from; i + 2 < bytes.length; i++) {
    if (bytes[i] === 0 && bytes[i + 1] === 0 && bytes[i + 2] === 1) return { start: i > 0 && bytes[i - 1] === 0 ? i - 1 : i, payloadStart: i + 3 };
  }
  return undefined;
}

/** Every NAL unit of an Annex B byte stream, in order. */
export function nalUnits(bytes: Uint8Array): NalUnit[] {
  const units: NalUnit[] = [];
  let sc = nextStartCode(bytes, 0);
  while (sc !== undefined) {
    const next = nextStartCode(bytes, sc.payloadStart);
    const end = next?.start ?? bytes.length;
    if (sc.payloadStart < end) units.push({ type: bytes[sc.payloadStart]! & 0x1f, start: sc.start, payloadStart: sc.payloadStart, end });
    sc = next;
  }
  return units;
}

/** 'avc1.PPCCLL' (profile_idc, constraint flags, level_idc) of the SPS whose header byte is at `at`, or undefined when it is cut short. */
function codecStringAt(bytes: Uint8Array, at: number, end: number): string | undefined {
  if (at + 3 >= end) return undefined;
  const hex = (v: number): string => v.toString(16).padStart(2, '0');
  return `avc1.${hex(bytes[at + 1]!)}${hex(bytes[at + 2]!)}${hex(bytes[at + 3]!)}`;
}

/** WebCodecs codec string ('avc1.PPCCLL') from the first SPS in Annex B `bytes`, or undefined. */
export function codecStringFromSps(bytes: Uint8Array): string | undefined {
  const sps = nalUnits(bytes).find((u) => u.type === NalType.Sps);
  return sps === undefined ? undefined : codecStringAt(bytes, sps.payloadStart, sps.end);
}

/** Key flag and codec string of one access unit. */
export function describeUnit(data: Uint8Array): AccessUnit {
  let key = false;
  let codecString: string | undefined;
  let sc = nextStartCode(data, 0);
  while (sc !== undefined && sc.payloadStart < data.length) {
    const type = data[sc.payloadStart]! & 0x1f;
    const next = nextStartCode(data, sc.payloadStart);
    if (type === NalType.Idr) key = true;
    if (type === NalType.Sps) codecString = codecStringAt(data, sc.payloadStart, next?.start ?? data.length);
    // Slice data is long; once a VCL NAL is seen, later headers are rare and the scan can stop.
    if (type === NalType.Slice || type === NalType.Idr) break;
    sc = next;
  }
  return codecString !== undefined ? { data, key, codecString } : { data, key };
}

/**
 * Incremental splitter: feed stream chunks, get complete access units, split before every AUD.
 * Memory is bounded by one access unit plus one chunk (a unit over `maxUnitBytes` is dropped and
 * counted in `oversize`).
 */
export class AnnexBSplitter {
  #pending: Uint8Array = new Uint8Array(0);
  /** Where the next scan resumes in #pending: start codes before it were seen already. */
  #scanFrom = 0;
  readonly #maxUnitBytes: number;
  #oversize = 0;

  /** `maxUnitBytes`: the largest access unit kept. Default 16 MiB. */
  constructor(maxUnitBytes = 16 * 1024 * 1024) {
    this.#maxUnitBytes = maxUnitBytes;
  }

  /** Units dropped because they exceeded the size bound. */
  get oversize(): number {
    return this.#oversize;
  }

  push(chunk: Uint8Array): AccessUnit[] {
    this.#pending = this.#pending.length === 0 ? chunk : concat(this.#pending, chunk);
    const out: AccessUnit[] = [];
    // Walk the start codes; split before every AUD except one at offset 0.
    let unitStart = 0;
    let i = Math.max(0, this.#scanFrom - 3);
    for (;;) {
      const sc = nextStartCode(this.#pending, i);
      if (sc === undefined || sc.payloadStart >= this.#pending.length) break;
      const type = this.#pending[sc.payloadStart]! & 0x1f;
      if (type === NalType.Aud && sc.start > unitStart) {
        out.push(describeUnit(this.#pending.subarray(unitStart, sc.start)));
        unitStart = sc.start;
      }
      i = sc.payloadStart + 1;
    }
    // A copy of the rest (new Uint8Array, not slice: a Buffer's slice is a view), so the chunk goes
    // with the units handed out.
    this.#pending = unitStart > 0 ? new Uint8Array(this.#pending.subarray(unitStart)) : this.#pending;
    this.#scanFrom = Math.max(0, this.#pending.length - 4);
    if (this.#pending.length > this.#maxUnitBytes) {
      this.#pending = new Uint8Array(0);
      this.#scanFrom = 0;
      this.#oversize++;
    }
    return out;
  }

  /** The last unit at the end of the stream. */
  flush(): AccessUnit[] {
    const rest = this.#pending;
    this.#pending = new Uint8Array(0);
    this.#scanFrom = 0;
    return rest.length > 4 ? [describeUnit(rest)] : [];
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * Remembers the latest SPS/PPS of a stream and returns key access units with them in front when
 * the encoder sent them only once (e.g. FFmpeg with global headers): a viewer that joins mid-stream
 * can only start decoding at an IDR that carries them.
 */
export class ParameterSetCache {
  #sps: Uint8Array | undefined;
  #pps: Uint8Array | undefined;

  /** Returns `au`, or a copy with the cached SPS/PPS prepended when it is a key frame without them. Copies kept: a Buffer's slice would hold the whole unit. */
  prepare(au: Uint8Array, key: boolean): Uint8Array {
    let hasSps = false;
    let hasPps = false;
    for (const u of nalUnits(au)) {
      if (u.type === NalType.Sps) {
        hasSps = true;
        this.#sps = new Uint8Array(au.subarray(u.start, u.end));
      } else if (u.type === NalType.Pps) {
        hasPps = true;
        this.#pps = new Uint8Array(au.subarray(u.start, u.end));
      }
    }
    if (!key || (hasSps && hasPps) || this.#sps === undefined || this.#pps === undefined) return au;
    const out = new Uint8Array(this.#sps.length + this.#pps.length + au.length);
    out.set(this.#sps, 0);
    out.set(this.#pps, this.#sps.length);
    out.set(au, this.#sps.length + this.#pps.length);
    return out;
  }
}

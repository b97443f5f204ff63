/**
 * Small H.264 Annex B helpers for the viewer hub: NAL unit scanning, access-unit splitting, the
 * WebCodecs codec string from an SPS, and putting the parameter sets (SPS/PPS) in front of key frames
 * that lack them — a viewer that joins mid-stream can only start decoding at an IDR that carries them.
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

/** Every NAL unit of an Annex B byte stream, in order. */
export function nalUnits(bytes: Uint8Array): NalUnit[] {
  const starts: { start: number; payloadStart: number }[] = [];
  const n = bytes.length;
  for (let i = 0; i + 2 < n; i++) {
    if (bytes[i] === 0 && bytes[i + 1] === 0) {
      if (bytes[i + 2] === 1) {
        const start = i > 0 && bytes[i - 1] === 0 ? i - 1 : i;
        starts.push({ start, payloadStart: i + 3 });
        i += 2;
      }
    }
  }
  const units: NalUnit[] = [];
  for (let k = 0; k < starts.length; k++) {
    const s = starts[k]!;
    const end = k + 1 < starts.length ? starts[k + 1]!.start : n;
    if (s.payloadStart >= end) continue;
    units.push({ type: bytes[s.payloadStart]! & 0x1f, start: s.start, payloadStart: s.payloadStart, end });
  }
  return units;
}

/** True when the access unit holds an IDR slice. */
export function isKeyAccessUnit(bytes: Uint8Array): boolean {
  return nalUnits(bytes).some((u) => u.type === NalType.Idr);
}

/**
 * Splits an Annex B stream into access units: a new unit starts at an AUD, or (without AUDs) at the
 * first VCL/parameter NAL after a unit that already holds a slice with first_mb_in_slice = 0.
 */
export function splitAccessUnits(bytes: Uint8Array): Uint8Array[] {
  const units = nalUnits(bytes);
  const out: Uint8Array[] = [];
  let auStart = -1;
  let hasSlice = false;
  for (const u of units) {
    const isVcl = u.type === NalType.Slice || u.type === NalType.Idr;
    // first_mb_in_slice is ue(v) first in the slice header: a leading 1 bit means 0 (a new picture).
    const firstSlice = isVcl && ((bytes[u.payloadStart + 1] ?? 0) & 0x80) !== 0;
    const startsNew =
      u.type === NalType.Aud ||
      (hasSlice && (firstSlice || u.type === NalType.Sps || u.type === NalType.Pps || u.type === NalType.Sei));
    if (startsNew && auStart >= 0) {
      out.push(bytes.subarray(auStart, u.start));
      auStart = -1;
      hasSlice = false;
    }
    if (auStart < 0) auStart = u.start;
    if (isVcl) hasSlice = true;
  }
  if (auStart >= 0) out.push(bytes.subarray(auStart));
  return out;
}

/** WebCodecs codec string ('avc1.PPCCLL') from the first SPS in `bytes`, or undefined. */
export function codecStringFromSps(bytes: Uint8Array): string | undefined {
  const sps = nalUnits(bytes).find((u) => u.type === NalType.Sps);
  if (sps === undefined || sps.payloadStart + 3 >= sps.end) return undefined;
  const hex = (v: number): string => v.toString(16).padStart(2, '0');
  return `avc1.${hex(bytes[sps.payloadStart + 1]!)}${hex(bytes[sps.payloadStart + 2]!)}${hex(bytes[sps.payloadStart + 3]!)}`;
}

/**
 * Remembers the latest SPS/PPS of a stream and returns key access units with them in front when
 * the encoder sent them only once (e.g. FFmpeg with global headers).
 */
export class ParameterSetCache {
  #sps: Uint8Array | undefined;
  #pps: Uint8Array | undefined;

  /** Returns `au`, or a copy with the cached SPS/PPS prepended when it is a key frame without them. */
  prepare(au: Uint8Array, key: boolean): Uint8Array {
    const units = nalUnits(au);
    let hasSps = false;
    let hasPps = false;
    for (const u of units) {
      if (u.type === NalType.Sps) {
        hasSps = true;
        this.#sps = au.slice(u.start, u.end);
      } else if (u.type === NalType.Pps) {
        hasPps = true;
        this.#pps = au.slice(u.start, u.end);
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

/**
 * JPEG-LS and JPEG 2000 frames through cornerstone's WebAssembly builds of CharLS and OpenJPEG,
 * the codecs OHIF and cornerstone3D decode DICOM with. They are chosen over FFmpeg (which also
 * decodes both) because they run in-process and synchronously once loaded: no process per frame,
 * no pipe, and the same call shape as the JPEG Baseline and RLE decoders (measured on a 1280x720
 * RGB frame: CharLS 9 ms, FFmpeg 17 ms CPU per frame plus ~0.1 s to start a process).
 *
 * Loading compiles the WebAssembly (tens of ms), so it happens once, on the first file that needs
 * it: `loadCodecFor(transferSyntax)` before `decodeFrame` on such a file.
 */
import { createRequire } from 'node:module';
import { ErrorCode, SgusError } from '../errors.js';
import { TransferSyntax } from './uids.js';

/** What both decoders give back: samples as decoded, little-endian when 16 bits, with their layout. */
export interface DecodedPixels {
  width: number;
  height: number;
  components: number;
  bitsPerSample: number;
  /** True when components are stored one plane after another (JPEG-LS interleave mode "none"). */
  planar: boolean;
  pixels: Uint8Array;
}

interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getDecodedBuffer(): Uint8Array;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number };
  getInterleaveMode?(): number;
  delete(): void;
}

interface WasmCodecModule {
  JpegLSDecoder?: new () => WasmDecoder;
  J2KDecoder?: new () => WasmDecoder;
}

type Family = 'jpeg-ls' | 'jpeg-2000';

const FAMILY_OF: ReadonlyMap<string, Family> = new Map([
  [TransferSyntax.JpegLsLossless, 'jpeg-ls'],
  [TransferSyntax.JpegLsNearLossless, 'jpeg-ls'],
  [TransferSyntax.Jpeg2000Lossless, 'jpeg-2000'],
  [TransferSyntax.Jpeg2000, 'jpeg-2000'],
]);

const PACKAGE: Record<Family, string> = {
  'jpeg-ls': '@cornerstonejs/codec-charls/decodewasmjs',
  'jpeg-2000': '@cornerstonejs/codec-openjpeg/decodewasmjs',
};

const loaded = new Map<Family, WasmCodecModule>();
const loading = new Map<Family, Promise<WasmCodecModule>>();

/** The codec family a transfer syntax needs from this module, or undefined (decoded elsewhere). */
export function wasmCodecFamily(transferSyntaxUid: string): Family | undefined {
  return FAMILY_OF.get(transferSyntaxUid);
}

/** Loads (once) the decoder a transfer syntax needs; a no-op for syntaxes decoded elsewhere. */
export async function loadCodecFor(transferSyntaxUid: string): Promise<void> {
  const family = FAMILY_OF.get(transferSyntaxUid);
  if (family === undefined || loaded.has(family)) return;
  let p = loading.get(family);
  if (p === undefined) {
    const require = createRequire(import.meta.url);
    const factory = require(PACKAGE[family]) as (opts: Record<string, unknown>) => Promise<WasmCodecModule>;
    // The builds print progress lines (OpenJPEG: one per tile) to stdout: silence them, as stdout
    // may be the NDJSON output.
    p = factory({ print: () => undefined, printErr: () => undefined });
    loading.set(family, p);
  }
  loaded.set(family, await p);
}

/** Decodes one JPEG-LS or JPEG 2000 codestream; the codec must have been loaded. */
export function decodeWasmFrame(bytes: Uint8Array, transferSyntaxUid: string, where: string): DecodedPixels {
  const family = FAMILY_OF.get(transferSyntaxUid);
  if (family === undefined) throw new SgusError(ErrorCode.UnsupportedFormat, `transfer syntax ${transferSyntaxUid} has no WebAssembly decoder`, { where, fatal: false });
  const mod = loaded.get(family);
  if (mod === undefined) throw new SgusError(ErrorCode.InvalidArgument, `the ${family} decoder is not loaded (call loadCodecFor first)`, { where });
  const Decoder = family === 'jpeg-ls' ? mod.JpegLSDecoder : mod.J2KDecoder;
  if (Decoder === undefined) throw new SgusError(ErrorCode.UnsupportedFormat, `the ${family} module has no decoder`, { where });
  const dec = new Decoder();
  try {
    dec.getEncodedBuffer(bytes.length).set(bytes);
    try {
      dec.decode();
    } catch (err) {
      // Emscripten throws a bare pointer (a number) for C++ exceptions: say what failed instead.
      throw new SgusError(ErrorCode.CorruptFrame, `${family === 'jpeg-ls' ? 'JPEG-LS' : 'JPEG 2000'} frame does not decode${typeof err === 'object' && err !== null && 'message' in err ? ` (${String((err as Error).message)})` : ''}`, { where, fatal: false });
    }
    const info = dec.getFrameInfo();
    const planar = family === 'jpeg-ls' && info.componentCount > 1 && dec.getInterleaveMode?.() === 0;
    // The decoded buffer is a view into WebAssembly memory, freed by delete(): copy it out.
    return { width: info.width, height: info.height, components: info.componentCount, bitsPerSample: info.bitsPerSample, planar, pixels: new Uint8Array(dec.getDecodedBuffer()) };
  } finally {
    dec.delete();
  }
}

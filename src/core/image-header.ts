/**
 * Image dimensions read from the header alone (PNG IHDR, JPEG SOFn), so that a decompression bomb
 * (a few hundred KB declaring 28000x28000 pixels, gigabytes once decoded) is refused before any
 * pixel buffer is allocated.
 */

export interface ImageHeader {
  format: 'png' | 'jpeg';
  width: number;
  height: number;
}

/** PNG: the signature, then the IHDR chunk, whose first 8 data bytes are width and height (big endian). */
function pngHeader(b: Uint8Array): ImageHeader | undefined {
  if (b.length < 24) return undefined;
  // Bytes 12–15 are the first chunk's type, which the PNG specification requires to be IHDR.
  if (b[12] !== 0x49 || b[13] !== 0x48 || b[14] !== 0x44 || b[15] !== 0x52) return undefined;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { format: 'png', width: view.getUint32(16), height: view.getUint32(20) };
}

/** Start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not. */
function isSof(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** JPEG: walks the marker segments up to the first SOFn (precision, height, width) or the scan. */
function jpegHeader(b: Uint8Array): ImageHeader | undefined {
  let i = 2;
  while (i + 3 < b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    // Markers without a length: TEM, RSTn, SOI.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      i += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return undefined; // end of image or scan before any frame header
    const length = (b[i + 2]! << 8) | b[i + 3]!;
    if (length < 2) return undefined;
    if (isSof(marker)) {
      if (i + 8 >= b.length) return undefined;
      return { format: 'jpeg', height: (b[i + 5]! << 8) | b[i + 6]!, width: (b[i + 7]! << 8) | b[i + 8]! };
    }
    i += 2 + length;
  }
  return undefined;
}

/**
 * The dimensions the file declares, or undefined when its header is missing or damaged (the
 * decoder then says what is wrong). Reads only the first bytes up to the frame header.
 */
export function readImageHeader(bytes: Uint8Array): ImageHeader | undefined {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return pngHeader(bytes);
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return jpegHeader(bytes);
  return undefined;
}

/**
 * Image types shared by every module. Pixel data is row-major, interleaved, 8-bit.
 */

/** A decoded RGB image: `data.length === width * height * 3`. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A single-channel image (mask, class map, grey): `data.length === width * height`. */
export interface GreyImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A single-channel float map (e.g. gland probability), `data.length === width * height`. */
export interface FloatMap {
  width: number;
  height: number;
  data: Float32Array;
}

export function createRgb(width: number, height: number): RgbImage {
  return { width, height, data: new Uint8Array(width * height * 3) };
}

export function createGrey(width: number, height: number): GreyImage {
  return { width, height, data: new Uint8Array(width * height) };
}

/** Grey to RGB by channel replication (the published model takes RGB). */
export function greyToRgb(img: GreyImage): RgbImage {
  const out = createRgb(img.width, img.height);
  for (let i = 0, j = 0; i < img.data.length; i++, j += 3) {
    const v = img.data[i]!;
    out.data[j] = v;
    out.data[j + 1] = v;
    out.data[j + 2] = v;
  }
  return out;
}

/** RGB to grey (luma), e.g. to read a mask stored as an RGB PNG. */
export function rgbToGrey(img: RgbImage): GreyImage {
  const out = createGrey(img.width, img.height);
  for (let i = 0, j = 0; i < out.data.length; i++, j += 3) {
    out.data[i] = Math.round(0.299 * img.data[j]! + 0.587 * img.data[j + 1]! + 0.114 * img.data[j + 2]!);
  }
  return out;
}

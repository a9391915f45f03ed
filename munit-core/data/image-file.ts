// Decodes one image file into the network's input: Float32Array HWC in [-1, 1], with the reference's transforms in the
// reference's order (utils.get_data_loader_folder / _list):
//   PIL open + convert('RGB')  ->  [train] RandomHorizontalFlip  ->  Resize(new_size)  ->  RandomCrop(h, w)
//   ->  ToTensor (x / 255)  ->  Normalize(0.5, 0.5)
// Decoding and resizing run in sharp (libvips, on libuv's thread pool), except PPM and BMP, which sharp cannot read
// (pnm-bmp.ts); the rest is cheap per-pixel work in JS.
import * as fs from 'node:fs';
import sharp from 'sharp';
import { decodePnmBmp, sniffPnmBmp } from './pnm-bmp.js';

/** The random choices and sizes for one image. The loader draws the random parts from its seeded Rng. */
export interface ImageTransform {
  /** Output channels: 3 (grey images replicated) or 1 (colour images reduced to luminance as PIL's convert('L')). */
  channels: 1 | 3;
  /** The shorter side is resized to this (aspect kept), as torchvision's Resize(int). */
  newSize: number;
  cropHeight: number;
  cropWidth: number;
  /** Mirror left-right before resizing (the reference flips training images with probability 1/2). */
  flip: boolean;
  /**
   * Where the crop goes, as fractions in [0, 1): top = floor(cropY * (H - cropHeight + 1)), likewise left. Fractions
   * rather than pixels because the resized size is only known after decoding.
   */
  cropY: number;
  cropX: number;
}

/** A file that cannot be read or decoded (unreadable, corrupt, truncated, unsupported format). Loaders skip these with a warning. */
export class ImageFileError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`Cannot read image ${file}: ${reason}`);
    this.name = 'ImageFileError';
  }
}

/** 8-bit pixels, HWC, `channels` per pixel. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

/** Decodes and transforms one file; rejects with ImageFileError when the file can't be decoded. */
export async function loadImageFile(file: string, t: ImageTransform): Promise<Float32Array> {
  return transformImage(await decodeImageFile(file, t.channels), t, file);
}

/** The reference's transforms on a decoded image (see loadImageFile). */
export async function transformImage(img: RawImage, t: ImageTransform, file: string): Promise<Float32Array> {
  if (t.flip) img = flipHorizontal(img);
  const size = resizedSize(img.width, img.height, t.newSize);
  if (size.width !== img.width || size.height !== img.height) img = await resizeImage(img, size.width, size.height, file);
  if (t.cropHeight > img.height || t.cropWidth > img.width) {
    // Only reachable when the crop exceeds new_size, which config validation rejects; say so if it slips through.
    throw new Error(
      `${file}: the ${t.cropWidth}x${t.cropHeight} crop does not fit the image resized to ${img.width}x${img.height} ` +
        `(new_size ${t.newSize}); crop_image_height/width must not exceed new_size.`,
    );
  }
  const top = Math.floor(t.cropY * (img.height - t.cropHeight + 1));
  const left = Math.floor(t.cropX * (img.width - t.cropWidth + 1));
  return cropToFloat(img, top, left, t.cropHeight, t.cropWidth);
}

/**
 * Reads a file as 8-bit RGB (grey replicated, alpha dropped without compositing, like PIL's convert('RGB')), then to
 * luminance when one channel is asked for. EXIF orientation is ignored, as PIL's Image.open does.
 */
export async function decodeImageFile(file: string, channels: 1 | 3): Promise<RawImage> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (err) {
    throw new ImageFileError(file, describeReadError(err as NodeJS.ErrnoException));
  }
  let rgb: RawImage;
  if (sniffPnmBmp(bytes)) {
    try {
      rgb = { ...decodePnmBmp(bytes), channels: 3 };
    } catch (err) {
      throw new ImageFileError(file, (err as Error).message);
    }
  } else {
    let decoded: { data: Buffer; info: sharp.OutputInfo };
    try {
      // failOn 'warning' (sharp's default, spelt out): a truncated JPEG or PNG is an error, not a half-grey image.
      decoded = await sharp(bytes, { failOn: 'warning' }).removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    } catch (err) {
      throw new ImageFileError(file, describeSharpError(err));
    }
    const { width, height } = decoded.info;
    if (decoded.info.channels !== 3) throw new ImageFileError(file, `decoded to ${decoded.info.channels} channels, expected 3`);
    rgb = { data: new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.length), width, height, channels: 3 };
  }
  return channels === 3 ? rgb : toLuminance(rgb);
}

/** Why a file could not be read, in words (sharp would call an unreadable file an "unsupported image format"). */
function describeReadError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${err.code}): the file is not readable by this user`;
    case 'ENOENT':
      return 'the file does not exist (or is a broken symbolic link)';
    case 'ELOOP':
      return 'it is a symbolic link loop';
    case 'EISDIR':
      return 'it is a folder, not an image';
    default:
      return err.message;
  }
}

/** PIL's convert('L'): L = (19595 R + 38470 G + 7471 B + 2^15) >> 16, i.e. ITU-R 601-2 luma, rounded. */
export function toLuminance(img: RawImage): RawImage {
  if (img.channels === 1) return img;
  const n = img.width * img.height;
  const out = new Uint8Array(n);
  const d = img.data;
  for (let i = 0; i < n; i++) out[i] = (d[3 * i] * 19595 + d[3 * i + 1] * 38470 + d[3 * i + 2] * 7471 + 0x8000) >>> 16;
  return { data: out, width: img.width, height: img.height, channels: 1 };
}

export function flipHorizontal(img: RawImage): RawImage {
  const { width, height, channels: c, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    const row = y * width * c;
    for (let x = 0; x < width; x++) {
      const from = row + x * c;
      const to = row + (width - 1 - x) * c;
      for (let k = 0; k < c; k++) out[to + k] = data[from + k];
    }
  }
  return { ...img, data: out };
}

/**
 * torchvision's Resize(int) output size: the shorter side becomes `newSize`, the longer one int(newSize * long / short)
 * (truncated, same double arithmetic as Python). A square image stays square.
 */
export function resizedSize(width: number, height: number, newSize: number): { width: number; height: number } {
  if (width <= height) return { width: newSize, height: Math.floor((newSize * height) / width) };
  return { width: Math.floor((newSize * width) / height), height: newSize };
}

/**
 * Resizes with libvips' 'linear' kernel: the triangle filter of PIL's BILINEAR, widened when shrinking so it
 * antialiases like PIL does. Differences from PIL: image borders are extended rather than re-normalised, large
 * reductions first box-shrink to within 2x of the target (vips_resize's "gap"), and enlargements sample a grid offset
 * by part of a pixel. Small in practice; sharp's default (lanczos3) would sharpen more than the reference.
 */
export async function resizeImage(img: RawImage, width: number, height: number, file: string): Promise<RawImage> {
  const { channels } = img;
  let pipeline = sharp(img.data, { raw: { width: img.width, height: img.height, channels } }).resize(width, height, {
    kernel: 'linear',
    fit: 'fill',
  });
  // sharp writes raw output as sRGB (3 channels) unless told the image is grey.
  if (channels === 1) pipeline = pipeline.toColourspace('b-w');
  try {
    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== channels) throw new Error(`resized to ${info.channels} channels, expected ${channels}`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels };
  } catch (err) {
    throw new ImageFileError(file, `resizing to ${width}x${height} failed: ${describeSharpError(err)}`);
  }
}

/** uint8 -> [-1, 1] exactly as torchvision does it in float32: (x / 255 - 0.5) / 0.5. */
const TO_UNIT = (() => {
  const table = new Float32Array(256);
  for (let v = 0; v < 256; v++) table[v] = Math.fround(Math.fround(v / 255) - 0.5) / 0.5;
  return table;
})();

/** The value a pixel byte `v` becomes (exported for tests and for code that writes images back). */
export function byteToUnit(v: number): number {
  return TO_UNIT[v];
}

function cropToFloat(img: RawImage, top: number, left: number, height: number, width: number): Float32Array {
  const c = img.channels;
  const out = new Float32Array(height * width * c);
  const rowLength = width * c;
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * img.width + left) * c;
    const to = y * rowLength;
    for (let i = 0; i < rowLength; i++) out[to + i] = TO_UNIT[img.data[from + i]];
  }
  return out;
}

/** sharp's messages are multi-line libvips logs; keep the first line and say which formats are read. */
function describeSharpError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const first = message.split('\n')[0].trim();
  if (/unsupported image format/i.test(first)) return `${first} (PNG, JPEG, PPM, BMP, WebP, TIFF and GIF are read)`;
  return first;
}

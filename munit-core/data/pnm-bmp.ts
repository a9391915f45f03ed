// Decoders for the two image types the reference's loaders accept that sharp (libvips without its optional loaders)
// cannot read: Netpbm (.ppm, and the .pgm/.pbm variants often saved under that name) and Windows BMP. Both give 8-bit
// RGB, as PIL's convert('RGB') does.

/** 8-bit RGB, HWC. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Which of these formats `bytes` is, by its magic number (not by the file's extension). */
export function sniffPnmBmp(bytes: Uint8Array): 'pnm' | 'bmp' | undefined {
  if (bytes.length >= 2 && bytes[0] === 0x50 && bytes[1] >= 0x31 && bytes[1] <= 0x36) return 'pnm'; // P1 ... P6
  if (bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d) return 'bmp'; // BM
  return undefined;
}

/** Throws Error with a reason sentence (the caller adds the file name). */
export function decodePnmBmp(bytes: Uint8Array): RgbImage {
  const kind = sniffPnmBmp(bytes);
  if (kind === 'pnm') return decodePnm(bytes);
  if (kind === 'bmp') return decodeBmp(bytes);
  throw new Error('not a PPM or BMP file');
}

// ---- Netpbm -------------------------------------------------------------------------------------------------------

function decodePnm(bytes: Uint8Array): RgbImage {
  const variant = bytes[1] - 0x30; // 1-3 text, 4-6 binary; 1/4 bitmap, 2/5 grey, 3/6 colour
  let pos = 2;
  /** The next whitespace-separated header token, skipping # comments. */
  const token = (): number => {
    for (;;) {
      while (pos < bytes.length && isSpace(bytes[pos])) pos++;
      if (bytes[pos] !== 0x23) break;
      while (pos < bytes.length && bytes[pos] !== 0x0a && bytes[pos] !== 0x0d) pos++;
    }
    const start = pos;
    while (pos < bytes.length && !isSpace(bytes[pos])) pos++;
    const text = Buffer.from(bytes.subarray(start, pos)).toString('latin1');
    if (!/^\d+$/.test(text)) throw new Error(`damaged PPM header (expected a number, found '${text.slice(0, 20)}')`);
    return Number(text);
  };
  const width = token();
  const height = token();
  const maxval = variant === 1 || variant === 4 ? 1 : token();
  if (width < 1 || height < 1 || maxval < 1 || maxval > 65535) throw new Error(`damaged PPM header (${width}x${height}, maxval ${maxval})`);
  const channels = variant === 3 || variant === 6 ? 3 : 1;
  const count = width * height * channels;
  const samples = new Uint16Array(count);
  if (variant <= 3) {
    for (let i = 0; i < count; i++) {
      if (variant === 1) {
        while (pos < bytes.length && (isSpace(bytes[pos]) || bytes[pos] === 0x23)) pos = bytes[pos] === 0x23 ? skipLine(bytes, pos) : pos + 1;
        if (pos >= bytes.length) throw new Error(`truncated PBM data (${i} of ${count} pixels)`);
        samples[i] = bytes[pos++] === 0x31 ? 0 : 1; // PBM: 1 is black
      } else {
        if (pos >= bytes.length) throw new Error(`truncated PPM data (${i} of ${count} samples)`);
        samples[i] = token();
      }
    }
  } else {
    pos++; // exactly one whitespace byte ends the header
    if (variant === 4) {
      const rowBytes = Math.ceil(width / 8);
      if (pos + rowBytes * height > bytes.length) throw new Error(`truncated PBM data (${bytes.length - pos} of ${rowBytes * height} bytes)`);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) samples[y * width + x] = (bytes[pos + y * rowBytes + (x >> 3)] >> (7 - (x & 7))) & 1 ? 0 : 1;
      }
    } else {
      const wide = maxval > 255;
      const need = count * (wide ? 2 : 1);
      if (pos + need > bytes.length) throw new Error(`truncated PPM data (${bytes.length - pos} of ${need} bytes)`);
      for (let i = 0; i < count; i++) samples[i] = wide ? (bytes[pos + 2 * i] << 8) | bytes[pos + 2 * i + 1] : bytes[pos + i];
    }
  }
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) {
      const v = samples[channels === 3 ? 3 * p + c : p];
      data[3 * p + c] = Math.round((Math.min(v, maxval) * 255) / maxval);
    }
  }
  return { data, width, height };
}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d || b === 0x0b || b === 0x0c;
}

function skipLine(bytes: Uint8Array, pos: number): number {
  while (pos < bytes.length && bytes[pos] !== 0x0a) pos++;
  return pos;
}

// ---- BMP ----------------------------------------------------------------------------------------------------------

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

function decodeBmp(bytes: Uint8Array): RgbImage {
  if (bytes.length < 26) throw new Error(`truncated BMP header (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dataOffset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);
  const core = headerSize === 12; // OS/2 BITMAPCOREHEADER: 16-bit sizes, 3-byte palette entries
  if (!core && bytes.length < 14 + 40) throw new Error(`truncated BMP header (${bytes.length} bytes)`);
  const width = core ? view.getUint16(18, true) : view.getInt32(18, true);
  const rawHeight = core ? view.getUint16(20, true) : view.getInt32(22, true);
  const bpp = core ? view.getUint16(24, true) : view.getUint16(28, true);
  const compression = core ? BI_RGB : view.getUint32(30, true);
  const topDown = rawHeight < 0;
  const height = Math.abs(rawHeight);
  if (width < 1 || height < 1) throw new Error(`damaged BMP header (${width}x${rawHeight})`);
  if (compression !== BI_RGB && compression !== BI_BITFIELDS && compression !== BI_ALPHABITFIELDS) {
    throw new Error(`compressed BMP (compression ${compression}) is not supported; save it uncompressed or as PNG`);
  }
  if (![1, 4, 8, 16, 24, 32].includes(bpp)) throw new Error(`BMP with ${bpp} bits per pixel is not supported`);

  let palette: Uint8Array | undefined;
  if (bpp <= 8) {
    const entrySize = core ? 3 : 4;
    const used = core ? 0 : view.getUint32(46, true);
    const entries = used || 2 ** bpp;
    const start = 14 + headerSize;
    if (start + entries * entrySize > bytes.length) throw new Error('truncated BMP palette');
    palette = new Uint8Array(entries * 3);
    for (let i = 0; i < entries; i++) for (let c = 0; c < 3; c++) palette[3 * i + c] = bytes[start + i * entrySize + 2 - c]; // BGR -> RGB
  }
  // Channel masks: given after the 40-byte header for BITFIELDS, else the defaults (5-5-5 for 16 bits, 8-8-8 otherwise).
  let masks = bpp === 16 ? [0x7c00, 0x03e0, 0x001f] : [0xff0000, 0x00ff00, 0x0000ff];
  if (compression !== BI_RGB) {
    if (14 + 40 + 12 > bytes.length) throw new Error('truncated BMP colour masks');
    masks = [0, 1, 2].map((i) => view.getUint32(14 + 40 + 4 * i, true));
  }

  const rowBytes = Math.ceil((width * bpp) / 32) * 4;
  if (dataOffset + rowBytes * height > bytes.length)
    throw new Error(`truncated BMP data (${Math.max(0, bytes.length - dataOffset)} of ${rowBytes * height} bytes)`);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (topDown ? y : height - 1 - y) * rowBytes;
    for (let x = 0; x < width; x++) {
      const out = 3 * (y * width + x);
      if (palette) {
        const bit = x * bpp;
        const index = (bytes[row + (bit >> 3)] >> (8 - bpp - (bit & 7))) & ((1 << bpp) - 1);
        if (3 * index + 2 >= palette.length) throw new Error(`damaged BMP data (palette index ${index} of ${palette.length / 3})`);
        data.set(palette.subarray(3 * index, 3 * index + 3), out);
      } else if (bpp === 24) {
        const p = row + 3 * x;
        [data[out], data[out + 1], data[out + 2]] = [bytes[p + 2], bytes[p + 1], bytes[p]];
      } else {
        const value = bpp === 16 ? view.getUint16(row + 2 * x, true) : view.getUint32(row + 4 * x, true);
        for (let c = 0; c < 3; c++) data[out + c] = scaleMasked(value, masks[c]);
      }
    }
  }
  return { data, width, height };
}

/** The bits of `value` under `mask`, scaled to 0-255. */
function scaleMasked(value: number, mask: number): number {
  if (mask === 0) return 0;
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  const max = mask >>> shift;
  return Math.round((((value & mask) >>> shift) * 255) / max);
}

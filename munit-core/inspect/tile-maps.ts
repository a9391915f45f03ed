// Feature maps as one picture: every channel a grey tile (min-max normalised on its own, so weak channels still show
// their pattern), tiles row-major in a near-square grid with a 1 px coloured gap.
import sharp from 'sharp';
import { ActivationTiles } from './types.js';

/** More tiles than this make a picture too large to send and too small to read; the first ones are shown. */
export const MAX_TILED_CHANNELS = 256;
/** Tiny maps (a 4x4 code, a 1x1 patch map) are scaled up by a whole factor until a tile's longer side is this long. */
const MIN_TILE_SIDE = 32;
const GAP = 1;
/** Not a grey, so the gaps never look like part of a map. */
const GAP_RGB = [70, 110, 170];

export interface TileLayout {
  columns: number;
  rows: number;
  /** Whole-number upscaling of each map. */
  scale: number;
  tileWidth: number;
  tileHeight: number;
  shown: number;
  width: number;
  height: number;
}

export function tileLayout(channels: number, height: number, width: number): TileLayout {
  const shown = Math.min(channels, MAX_TILED_CHANNELS);
  const columns = Math.ceil(Math.sqrt(shown));
  const rows = Math.ceil(shown / columns);
  const scale = Math.max(1, Math.ceil(MIN_TILE_SIDE / Math.max(height, width)));
  const tileWidth = width * scale;
  const tileHeight = height * scale;
  return {
    columns,
    rows,
    scale,
    tileWidth,
    tileHeight,
    shown,
    width: columns * tileWidth + (columns - 1) * GAP,
    height: rows * tileHeight + (rows - 1) * GAP,
  };
}

/** `data` is [H, W, C] (channels last, as tfjs holds a map); returns the mosaic as RGB bytes. */
export function tileMaps(data: ArrayLike<number>, height: number, width: number, channels: number): { layout: TileLayout; rgb: Uint8Array } {
  const layout = tileLayout(channels, height, width);
  const rgb = new Uint8Array(layout.width * layout.height * 3);
  for (let i = 0; i < rgb.length; i += 3) rgb.set(GAP_RGB, i);
  for (let ch = 0; ch < layout.shown; ch++) {
    let min = Infinity;
    let max = -Infinity;
    for (let p = ch; p < data.length; p += channels) {
      min = Math.min(min, data[p]);
      max = Math.max(max, data[p]);
    }
    // A constant channel (a dead ReLU, say) is drawn black rather than dividing by zero.
    const k = max > min ? 255 / (max - min) : 0;
    const left = (ch % layout.columns) * (layout.tileWidth + GAP);
    const top = Math.floor(ch / layout.columns) * (layout.tileHeight + GAP);
    for (let y = 0; y < layout.tileHeight; y++) {
      const row = Math.floor(y / layout.scale) * width;
      for (let x = 0; x < layout.tileWidth; x++) {
        const v = Math.round((data[(row + Math.floor(x / layout.scale)) * channels + ch] - min) * k);
        rgb.fill(v, ((top + y) * layout.width + left + x) * 3, ((top + y) * layout.width + left + x) * 3 + 3);
      }
    }
  }
  return { layout, rgb };
}

/** The mosaic as a base64 PNG with its layout, as `munit/activations` sends it. */
export async function tilePng(data: ArrayLike<number>, height: number, width: number, channels: number): Promise<ActivationTiles> {
  const { layout, rgb } = tileMaps(data, height, width, channels);
  const png = await sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), { raw: { width: layout.width, height: layout.height, channels: 3 } })
    .png()
    .toBuffer();
  return {
    png: png.toString('base64'),
    columns: layout.columns,
    rows: layout.rows,
    tileWidth: layout.tileWidth,
    tileHeight: layout.tileHeight,
    ...(layout.shown < channels ? { shownChannels: layout.shown } : {}),
  };
}

// Sample grids as the reference's trainer.sample / write_2images draws them, but with labelled rows:
// input, reconstruction, translations with the fixed styles, translations with fresh random styles.
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { MunitTrainer } from './trainer.js';
import type { SampleInputs, SampleOutputs, Translator } from './translate.js';

export interface SampleRow {
  label: string;
  /** [N, H, W, C] in [-1, 1], C = 1 or 3. */
  images: tf.Tensor4D;
}

export interface DirectionSamples {
  direction: 'a2b' | 'b2a';
  rows: SampleRow[];
}

/**
 * The reference's sample(): per image, encode, reconstruct with its own style, translate with the fixed styles
 * (drawn once at the start of training) and with fresh random ones, on the translator's engine. The caller disposes
 * the returned tensors.
 */
export async function sampleOutputs(trainer: MunitTrainer, translator: Translator, xA: tf.Tensor4D, xB: tf.Tensor4D): Promise<DirectionSamples[]> {
  const n = Math.min(xA.shape[0], xB.shape[0], trainer.fixedStyleA.shape[0]);
  const first = <T extends tf.Tensor>(t: T) => tf.slice(t, 0, n) as T;
  const inputs: SampleInputs = {
    x_a: first(xA),
    x_b: first(xB),
    s_a_fixed: first(trainer.fixedStyleA),
    s_b_fixed: first(trainer.fixedStyleB),
    s_a_random: trainer.rng.normal([n, trainer.genA.styleDim]) as tf.Tensor2D,
    s_b_random: trainer.rng.normal([n, trainer.genB.styleDim]) as tf.Tensor2D,
  };
  let out: SampleOutputs;
  try {
    out = await translator.samples(trainer.genA, trainer.genB, inputs);
  } finally {
    tf.dispose([inputs.s_a_fixed, inputs.s_b_fixed, inputs.s_a_random, inputs.s_b_random]);
  }
  const labels = (from: string, to: string) => [`input ${from}`, 'reconstruction', `${from}→${to} fixed styles`, `${from}→${to} random styles`];
  const rows = (images: tf.Tensor4D[], names: string[]) => names.map((label, i) => ({ label, images: images[i] }));
  return [
    { direction: 'a2b', rows: rows([inputs.x_a, out.x_a_recon, out.x_ab1, out.x_ab2], labels('A', 'B')) },
    { direction: 'b2a', rows: rows([inputs.x_b, out.x_b_recon, out.x_ba1, out.x_ba2], labels('B', 'A')) },
  ];
}

export function disposeSamples(samples: DirectionSamples[]): void {
  for (const s of samples) tf.dispose(s.rows.map((r) => r.images));
}

/** [H, W, C] in [-1, 1] -> RGB bytes (grey replicated). Read with data(): webgpu has no synchronous read under Node. */
export async function toRgbBytes(image: tf.Tensor3D): Promise<Uint8Array> {
  const bytes = tf.tidy(() => {
    const rgb = image.shape[2] === 1 ? tf.tile(image, [1, 1, 3]) : image;
    return tf.clipByValue(tf.round(tf.mul(tf.add(rgb, 1), 127.5)), 0, 255);
  });
  const values = await bytes.data();
  bytes.dispose();
  return Uint8Array.from(values);
}

/** [H, W, C] in [-1, 1] -> PNG bytes. */
export async function encodePng(image: tf.Tensor3D): Promise<Buffer> {
  const [h, w] = image.shape;
  return sharp(Buffer.from(await toRgbBytes(image)), { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toBuffer();
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const LABEL_WIDTH = 150;
const GAP = 2;

/** A PNG grid: one labelled row per `SampleRow`, one column per image. */
export async function renderGrid(rows: SampleRow[], title?: string): Promise<Buffer> {
  const [, h, w] = rows[0].images.shape;
  const cols = Math.max(...rows.map((r) => r.images.shape[0]));
  const top = title ? 24 : 0;
  const width = LABEL_WIDTH + cols * (w + GAP);
  const height = top + rows.length * (h + GAP);
  const rowHeight = h + GAP;
  const labels = rows
    .map((r, i) => `<text x="8" y="${top + i * rowHeight + h / 2 + 5}" font-family="sans-serif" font-size="13" fill="#222">${escapeXml(r.label)}</text>`)
    .join('');
  const heading = title ? `<text x="8" y="17" font-family="sans-serif" font-size="14" font-weight="bold" fill="#222">${escapeXml(title)}</text>` : '';
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#fff"/>${heading}${labels}</svg>`;
  const composites: sharp.OverlayOptions[] = [];
  for (const [i, row] of rows.entries()) {
    for (let j = 0; j < row.images.shape[0]; j++) {
      const image = tf.tidy(() => tf.squeeze(tf.slice(row.images, j, 1), [0]) as tf.Tensor3D);
      const raw = await toRgbBytes(image);
      image.dispose();
      composites.push({ input: Buffer.from(raw), raw: { width: w, height: h, channels: 3 }, left: LABEL_WIDTH + j * (w + GAP), top: top + i * rowHeight });
    }
  }
  return sharp(Buffer.from(svg)).composite(composites).png().toBuffer();
}

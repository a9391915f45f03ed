// Speed of forward Conv2D and of our dx / dW for the MUNIT layer shapes (batch 1), on wasm (or the backend
// named by MUNIT_BACKEND: wasm or cpu). Run:
//   node --import tsx munit-core/kernels/bench-conv-gradients.ts [64 128 ...] [--methods] [layer-name-part ...]
// --methods also times each implementation ('conv', 'matmul'), not just the automatic choice.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { conv2dFilterGradient, conv2dInputGradient, convGradientOptions, type ConvGradientMethod } from './conv-gradients.js';

interface Layer {
  name: string;
  k: number;
  s: number;
  ci: number;
  co: number;
  /** Input size as a fraction of the image size (1, 1/2, ...). */
  scale: number;
}

// MUNIT pads explicitly (reflect) before each conv and convolves 'valid'; 4x4/s2 convs pad 1 on each side.
const LAYERS: Layer[] = [
  { name: '7x7 s1 3->64', k: 7, s: 1, ci: 3, co: 64, scale: 1 },
  { name: '4x4 s2 64->128', k: 4, s: 2, ci: 64, co: 128, scale: 1 },
  { name: '4x4 s2 128->256', k: 4, s: 2, ci: 128, co: 256, scale: 1 / 2 },
  { name: '3x3 s1 256->256', k: 3, s: 1, ci: 256, co: 256, scale: 1 / 4 },
  { name: '5x5 s1 256->128', k: 5, s: 1, ci: 256, co: 128, scale: 1 / 2 },
  { name: '5x5 s1 128->64', k: 5, s: 1, ci: 128, co: 64, scale: 1 },
  { name: '7x7 s1 64->3', k: 7, s: 1, ci: 64, co: 3, scale: 1 },
  { name: '4x4 s2 256->512', k: 4, s: 2, ci: 256, co: 512, scale: 1 / 8 },
];

/** Input size that the layer sees: the feature map plus the padding done outside the conv. */
function inputSize(layer: Layer, image: number): number {
  const map = Math.round(image * layer.scale);
  return layer.s === 1 ? map + layer.k - 1 : map + 2;
}

/**
 * Median milliseconds of fn over enough runs to fill about minMs (after one warm-up). Every run gets a fresh
 * copy of the filter, untimed: XNNPACK caches packed weights per tensor, and in training the weights change
 * every step, so a reused filter would make the forward conv look faster than it is in practice.
 * wasm and cpu run kernels synchronously, so no read-back is needed (it would cost more than some kernels).
 */
function time(filter: tf.Tensor4D, fn: (w: tf.Tensor4D) => tf.Tensor, minMs = 300): number {
  const samples: number[] = [];
  const start = performance.now();
  for (let run = 0; run < 4 || (performance.now() - start < minMs && run < 50); run++) {
    const w = tf.clone(filter);
    const t0 = performance.now();
    const out = fn(w);
    const elapsed = performance.now() - t0;
    if (run > 0) samples.push(elapsed);
    tf.dispose([w, out]);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

const methods: ConvGradientMethod[] = ['auto'];

function benchLayer(layer: Layer, image: number): string {
  const h = inputSize(layer, image);
  const x = tf.randomNormal([1, h, h, layer.ci]) as tf.Tensor4D;
  const w = tf.randomNormal([layer.k, layer.k, layer.ci, layer.co]) as tf.Tensor4D;
  const y = tf.conv2d(x, w, layer.s, 'valid');
  const dy = tf.randomNormal(y.shape) as tf.Tensor4D;
  const flops = 2 * y.size * layer.k * layer.k * layer.ci;
  const forward = time(w, (f) => tf.conv2d(x, f, layer.s, 'valid'));
  const gflops = (ms: number) => (flops / ms / 1e6).toFixed(1).padStart(6);
  const ms = (v: number) => v.toFixed(1).padStart(7);
  let line =
    `${String(image).padStart(5)} ${layer.name.padEnd(17)} ${`${h}x${h}`.padEnd(8)} ${(flops / 1e9).toFixed(2).padStart(6)}` +
    ` | ${ms(forward)} ${gflops(forward)}`;
  for (const method of methods) {
    convGradientOptions.dx = method;
    convGradientOptions.dw = method;
    const dx = time(w, (f) => conv2dInputGradient(x.shape, dy, f, layer.s, 'valid'));
    const dw = time(w, () => conv2dFilterGradient(x, dy, w.shape, layer.s, 'valid'));
    line += ` | ${ms(dx)} ${gflops(dx)} | ${ms(dw)} ${gflops(dw)}`;
  }
  convGradientOptions.dx = 'auto';
  convGradientOptions.dw = 'auto';
  tf.dispose([x, w, y, dy]);
  return line;
}

async function main(): Promise<void> {
  await tf.setBackend(process.env.MUNIT_BACKEND ?? 'wasm');
  const args = process.argv.slice(2);
  const sizes = args.map(Number).filter((v) => v > 0);
  if (args.includes('--methods')) methods.push('conv', 'matmul');
  // Any other word selects layers whose name contains it, e.g. "s2" or "256->512".
  const filters = args.filter((a) => !a.startsWith('--') && !(Number(a) > 0));
  console.log(`backend ${tf.getBackend()}; times are medians in ms, rates in GFLOP/s (2*MACs of the forward conv)`);
  console.log('image layer             input     GFLOP |  fwd ms   rate' + methods.map((m) => ` |  dx ${m.padEnd(6)} rate |  dW ${m.padEnd(6)} rate`).join(''));
  for (const image of sizes.length ? sizes : [64, 128]) {
    for (const layer of LAYERS) {
      if (filters.length === 0 || filters.some((f) => layer.name.includes(f))) console.log(benchLayer(layer, image));
    }
  }
  console.log(`tensors alive at the end: ${tf.memory().numTensors}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

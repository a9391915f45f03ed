// The weights and images of the full-size PyTorch fixture (test/fixtures/pytorch/make_full_size.py), computed by the
// same formula: 15M weights are not committed, only the reference's outputs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { referenceShape } from '../../munit-core/layers/params.js';
import type { AdaINGen } from '../../munit-core/networks/generator.js';
import { assignFromTorch } from '../../munit-core/state-dict.js';
import { seeded } from './helpers.js';

function fnv1a(name: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(name)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/** `n` numbers in [0, 1): mulberry32 (helpers.ts `seeded`) seeded by the name's FNV-1a hash. */
function uniform(name: string, n: number): Float64Array {
  const rng = seeded(fnv1a(name));
  return Float64Array.from({ length: n }, () => rng());
}

function weight(name: string, shape: number[]): Float32Array {
  const u = uniform(
    name,
    shape.reduce((a, b) => a * b, 1),
  ).map((v) => v * 2 - 1);
  if (shape.length >= 2) {
    const scale = Math.sqrt(3 / shape.slice(1).reduce((a, b) => a * b, 1));
    return Float32Array.from(u, (v) => v * scale);
  }
  if (name.endsWith('bias') || name.endsWith('beta')) return Float32Array.from(u, (v) => v * 0.1);
  return Float32Array.from(u, (v) => 1 + 0.2 * v);
}

/** Gives every weight and buffer of `gen` (domain 'a' or 'b') the fixture's values. */
export function fillGenerator(gen: AdaINGen, domain: 'a' | 'b'): void {
  for (const entry of gen.params.entries.values()) {
    const shape = referenceShape(entry, entry.variable.shape);
    assignFromTorch(entry.kind, entry.variable, { dtype: 'F32', shape, data: weight(`gen_${domain}.${entry.name}`, shape) });
  }
}

/** [1, size, size, 3]: noise in [-0.5, 0.5] on a vertical ramp. */
export function fixtureImage(name: string, size: number): tf.Tensor4D {
  const u = uniform(name, 3 * size * size);
  const data = new Float32Array(size * size * 3);
  // The formula indexes PyTorch's [1, 3, H, W]; tfjs holds [1, H, W, 3].
  for (let c = 0; c < 3; c++) {
    for (let h = 0; h < size; h++) {
      for (let w = 0; w < size; w++) data[(h * size + w) * 3 + c] = u[(c * size + h) * size + w] - 0.5 + ((h / size) * 0.8 - 0.2);
    }
  }
  return tf.tensor4d(data, [1, size, size, 3]);
}

const dir = path.join(__dirname, '../fixtures/pytorch');

/** The reference's outputs (NHWC) by size and name, and the generator options they were computed with. */
export function fixtureOutputs(): { gen: Record<string, unknown>; get(size: number, name: string): Float32Array } {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'full-size.json'), 'utf8')) as {
    gen: Record<string, unknown>;
    outputs: { size: number; name: string; offset: number; length: number }[];
  };
  const bin = fs.readFileSync(path.join(dir, 'full-size.bin'));
  const all = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
  return {
    gen: manifest.gen,
    get(size, name) {
      const o = manifest.outputs.find((m) => m.size === size && m.name === name);
      if (!o) throw new Error(`full-size.json has no ${name} at ${size}`);
      return all.subarray(o.offset, o.offset + o.length);
    },
  };
}

// Shared set-up for the core tests: one backend per test file (node's runner gives each file its own process).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../munit-core/backend.js';
import type { TrainerSettings } from '../../munit-core/trainer.js';
import { defaultConfig } from '../../munit-core/config/config.js';
import { DEMO_CONFIG_YAML } from '../../munit-core/data/demo-dataset.js';

export async function useBackend(prefer: 'wasm' | 'cpu' = 'wasm'): Promise<void> {
  await initBackend({ prefer });
}

/** The reference config's settings (edges2shoes_folder.yaml): the config defaults. */
export function referenceSettings(): TrainerSettings {
  return defaultConfig();
}

/** A small config for fast tests: same structure, narrow widths. */
export function tinySettings(overrides: Partial<TrainerSettings> = {}): TrainerSettings {
  const base = referenceSettings();
  return {
    ...base,
    gen: { ...base.gen, dim: 8, mlp_dim: 16, n_res: 2, style_dim: 4 },
    dis: { ...base.dis, dim: 8, n_layer: 2, num_scales: 2 },
    display_size: 2,
    ...overrides,
  };
}

/**
 * Max |a-b| relative to the largest |b| (so tolerances do not depend on each tensor's scale), with a floor for
 * tensors that are zero in exact arithmetic (e.g. the gradient of a conv bias followed by instance norm).
 */
export function relErr(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1e-6): number {
  assertSameLength(actual, expected);
  let diff = 0;
  let scale = floor;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

/** Writes `<dir>/<name>.yaml`: the tiny demo config on `dataRoot` with `overrides`. */
export function writeTinyConfig(dir: string, dataRoot: string, size: number, name: string, overrides: Record<string, string | number> = {}): string {
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, tinyDemoConfig(dataRoot, size, overrides));
  return file;
}

/** Max |a - b| over all elements. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assertSameLength(a, b);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function assertSameLength(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
}

export function randomImage(rng: () => number, n: number, h: number, w: number, c: number): tf.Tensor4D {
  const data = new Float32Array(n * h * w * c).map(() => rng() * 2 - 1);
  return tf.tensor4d(data, [n, h, w, c]);
}

/** A tiny deterministic generator for test data. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The demo config with narrow networks for tests; `overrides` are `key: value` lines replacing the demo's. */
export function tinyDemoConfig(dataRoot: string, size: number, overrides: Record<string, string | number> = {}): string {
  let text = DEMO_CONFIG_YAML(dataRoot, size);
  const all: Record<string, string | number> = {
    image_save_iter: 1000, image_display_iter: 1000, display_size: 2, snapshot_save_iter: 1000, log_iter: 1,
    ...overrides,
  };
  for (const [key, value] of Object.entries(all)) text = text.replace(new RegExp(`^(\\s*)${key}:.*$`, 'm'), `$1${key}: ${value}`);
  // Narrow networks: the point is the plumbing, not the model.
  text = text.replace(/^gen:\n  dim: \d+/m, 'gen:\n  dim: 4').replace(/^dis:\n  dim: \d+/m, 'dis:\n  dim: 4');
  text = text.replace(/^  mlp_dim: \d+/m, '  mlp_dim: 8').replace(/^  n_res: \d+/m, '  n_res: 1').replace(/^  num_scales: \d+/m, '  num_scales: 1');
  text = text.replace(/^  n_layer: \d+/m, '  n_layer: 2');
  return text;
}

// Shared set-up for the core tests: one backend per test file (node's runner gives each file its own process).
import * as fs from 'node:fs';
import * as path from 'node:path';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../munit-core/backend.js';
import type { MunitTrainer, TrainerSettings } from '../../munit-core/trainer.js';
import { defaultConfig } from '../../munit-core/config/config.js';
import { demoConfigYaml } from '../../munit-core/data/demo-dataset.js';
import { providerFails } from '../../munit-core/onnx/session.js';

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

/**
 * Runs `fn` (sync or async) and asserts that afterwards exactly `kept` more tensors are alive than before (0 by default:
 * nothing leaked), as tfjs-layers' `expectNoLeakedTensors` does. `kept` is for what `fn` hands back on purpose (returned
 * gradients, a batch taken from a loader). Returns what `fn` returns.
 */
export function expectNoLeakedTensors<T>(fn: () => Promise<T>, kept?: number, what?: string): Promise<T>;
export function expectNoLeakedTensors<T>(fn: () => T, kept?: number, what?: string): T;
export function expectNoLeakedTensors<T>(fn: () => T | Promise<T>, kept = 0, what = 'tensors'): T | Promise<T> {
  const before = tf.memory().numTensors;
  const check = (): void => {
    const grown = tf.memory().numTensors - before;
    assert.equal(grown, kept, `${what}: ${grown} more tensor(s) alive afterwards, expected ${kept}${kept ? ' (the ones handed back)' : ''}`);
  };
  const result = fn();
  if (result instanceof Promise) return result.then((value) => (check(), value));
  check();
  return result;
}

type Values = tf.Tensor | ArrayLike<number>;

/**
 * Asserts |actual - expected| <= atol + rtol * |expected| elementwise (NaN only matches NaN), after checking shape and
 * dtype where both sides are tensors (a plain array is compared by length). A failure names how many values differ
 * and the worst few, with their indices and values, instead of printing every number.
 */
export function expectTensorsClose(actual: Values, expected: Values, tol: number | { atol?: number; rtol?: number } = 1e-5, what = 'tensor'): void {
  const { atol = 0, rtol = 0 } = typeof tol === 'number' ? { atol: tol } : tol;
  const shape = actual instanceof tf.Tensor ? actual.shape : expected instanceof tf.Tensor ? expected.shape : undefined;
  if (actual instanceof tf.Tensor && expected instanceof tf.Tensor) {
    assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
    assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  }
  const a = actual instanceof tf.Tensor ? actual.dataSync() : actual;
  const e = expected instanceof tf.Tensor ? expected.dataSync() : expected;
  assert.equal(a.length, e.length, `${what}: ${a.length} values, expected ${e.length}`);
  const bad: { i: number; excess: number }[] = [];
  for (let i = 0; i < e.length; i++) {
    const [x, y] = [Number(a[i]), Number(e[i])];
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (x === y) continue; // the same infinity
    const excess = Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (!(excess <= 0)) bad.push({ i, excess: Number.isNaN(excess) ? Infinity : excess });
  }
  if (bad.length === 0) return;
  bad.sort((p, q) => q.excess - p.excess);
  const at = (i: number): string => {
    if (!shape || shape.length < 2) return `[${i}]`;
    const index: number[] = [];
    for (let d = shape.length - 1, rest = i; d >= 0; d--) {
      index.unshift(rest % shape[d]);
      rest = Math.floor(rest / shape[d]);
    }
    return `[${index.join(',')}]`;
  };
  const worst = bad.slice(0, 3).map(({ i }) => `${at(i)}: ${a[i]} vs ${e[i]} (diff ${Math.abs(Number(a[i]) - Number(e[i])).toExponential(2)})`);
  assert.fail(`${what}: ${bad.length} of ${e.length} values differ by more than ${rtol ? `${atol} + ${rtol} * |expected|` : atol}; worst ${worst.join('; ')}`);
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
  let text = demoConfigYaml(dataRoot, size);
  const all: Record<string, string | number> = {
    image_save_iter: 1000,
    image_display_iter: 1000,
    display_size: 2,
    snapshot_save_iter: 1000,
    log_iter: 1,
    ...overrides,
  };
  for (const [key, value] of Object.entries(all)) text = text.replace(new RegExp(`^(\\s*)${key}:.*$`, 'm'), `$1${key}: ${value}`);
  // Narrow networks: the point is the plumbing, not the model.
  text = text.replace(/^gen:\n  dim: \d+/m, 'gen:\n  dim: 4').replace(/^dis:\n  dim: \d+/m, 'dis:\n  dim: 4');
  text = text
    .replace(/^  mlp_dim: \d+/m, '  mlp_dim: 8')
    .replace(/^  n_res: \d+/m, '  n_res: 1')
    .replace(/^  num_scales: \d+/m, '  num_scales: 1');
  text = text.replace(/^  n_layer: \d+/m, '  n_layer: 2');
  return text;
}

/**
 * After one step exp_avg is (1 - beta1) g, so comparing it compares the gradients, per weight tensor against its own
 * scale. Tensors whose gradient is below 1e-5 of the largest are noise, and must be the conv biases before a norm:
 * returns the reference's variables of those.
 */
export async function compareGradients(compiled: MunitTrainer, eager: MunitTrainer, tolerance = 1e-3): Promise<Set<tf.Variable>> {
  const noiseOnly = new Set<tf.Variable>();
  await compiled.settle();
  await eager.settle();
  for (const [copt, eopt, nets] of [
    [compiled.genOpt, eager.genOpt, [eager.genA, eager.genB]],
    [compiled.disOpt, eager.disOpt, [eager.disA, eager.disB]],
  ] as const) {
    const names = nets.flatMap((n) => [...n.params.entries.values()].filter((e) => e.trainable).map((e) => e.name));
    const scales = eopt.slots.map((s) => Math.max(...Array.from(s.expAvg.dataSync(), Math.abs)));
    const largest = Math.max(...scales);
    copt.slots.forEach((s, k) => {
      if (scales[k] < 1e-5 * largest) {
        assert.match(names[k], /conv\.bias$/, `${names[k]} has a vanishing gradient`);
        noiseOnly.add(eopt.variables[k]);
        return;
      }
      // Relative to the tensor's scale, but at least 1% of the largest gradient: a small gradient that is a sum with
      // much cancellation (a discriminator bias: 0.4% of the largest) keeps float32 summation noise at 1e-3 of itself.
      const err = relErr(s.expAvg.dataSync(), eopt.slots[k].expAvg.dataSync(), 1e-2 * largest);
      assert.ok(err < tolerance, `gradient of ${names[k]}: relative error ${err}`);
    });
  }
  return noiseOnly;
}

/**
 * Why onnxruntime's WebGPU provider cannot be tested here (no adapter), or undefined when it runs a graph. Where
 * MUNIT_TEST_REQUIRE_WEBGPU=1 (as in CI, which installs Mesa's software Vulkan) that is a failure, not a skip.
 */
export async function webGpuSkipReason(): Promise<string | undefined> {
  const fails = await providerFails('webgpu');
  if (fails === undefined) return undefined;
  const why = `onnxruntime's WebGPU provider does not start here: ${fails}`;
  if (process.env.MUNIT_TEST_REQUIRE_WEBGPU === '1') throw new Error(`${why} (MUNIT_TEST_REQUIRE_WEBGPU=1)`);
  return why;
}

// Training on the webgpu backend (Dawn) matches training on wasm: same losses, same updated weights, read back
// through the checkpoint conversion. Without a GPU, Dawn runs on Mesa's software renderer (llvmpipe), which the
// backend chain never picks by itself; the test forces it. Skipped only where Dawn cannot start at all.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, describeBackend } from '../../munit-core/backend.js';
import { installGradientFixes } from '../../munit-core/kernels/install.js';
import type { TensorMap } from '../../munit-core/safetensors.js';
import { toStateDict } from '../../munit-core/state-dict.js';
import { IterationMetrics, MunitTrainer } from '../../munit-core/trainer.js';
import { expectNoLeakedTensors, expectTensorsClose, randomImage, seeded, tinySettings } from './helpers.js';

// llvmpipe runs at well under 1 GFLOP/s: a tiny config on 32x32 images keeps this file to seconds.
const SIZE = 32;
const ITERATIONS = 3;

interface TrainingRun {
  losses: IterationMetrics['losses'][];
  initial: TensorMap;
  final: TensorMap;
}

/** Every weight of the four networks, as a checkpoint stores them. */
async function weights(t: MunitTrainer): Promise<TensorMap> {
  const nets = { genA: t.genA, genB: t.genB, disA: t.disA, disB: t.disB };
  const maps = await Promise.all(Object.entries(nets).map(([name, net]) => toStateDict(net.params, `${name}.`)));
  return new Map(maps.flatMap((m) => [...m]));
}

/** A few iterations from fixed weights (the seed) and fixed inputs on the current backend. */
async function train(): Promise<TrainingRun> {
  const trainer = new MunitTrainer(tinySettings({ recon_x_cyc_w: 1 }), { seed: 7 });
  const rng = seeded(11);
  const [xA, xB] = [randomImage(rng, 1, SIZE, SIZE, 3), randomImage(rng, 1, SIZE, SIZE, 3)];
  const initial = await weights(trainer);
  const losses: TrainingRun['losses'] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    losses.push((await expectNoLeakedTensors(() => trainer.step(xA, xB), 0, `live tensors after ${tf.getBackend()} step ${i + 1}`)).losses);
  }
  const final = await weights(trainer);
  tf.dispose([xA, xB]);
  trainer.dispose();
  return { losses, initial, final };
}

/** sqrt(sum (a - b)^2) over the named tensors of two weight maps. */
function distance(a: TensorMap, b: TensorMap, names: string[]): number {
  let sum = 0;
  for (const name of names) {
    const [x, y] = [a.get(name)!.data, b.get(name)!.data];
    for (let i = 0; i < x.length; i++) sum += (x[i] - y[i]) ** 2;
  }
  return Math.sqrt(sum);
}

/** Float64 adjoint of reflect padding by p on H and W of an NHWC tensor: each padded cell adds to the pixel it copies. */
function reflectPadAdjoint(g: Float32Array, [n, h, w, c]: number[], p: number): Float64Array {
  const reflect = (i: number, len: number) => (i < 0 ? -i : i >= len ? 2 * (len - 1) - i : i);
  const [hp, wp] = [h + 2 * p, w + 2 * p];
  const dx = new Float64Array(n * h * w * c);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < hp; y++) {
      for (let x = 0; x < wp; x++) {
        const [sy, sx] = [reflect(y - p, h), reflect(x - p, w)];
        for (let k = 0; k < c; k++) dx[((b * h + sy) * w + sx) * c + k] += g[((b * hp + y) * wp + x) * c + k];
      }
    }
  }
  return dx;
}

let skipReason: string | undefined;

before(async () => {
  try {
    const info = await initBackend({ prefer: 'webgpu' });
    console.log(`# ${describeBackend(info)}`);
  } catch (err) {
    skipReason = `Dawn could not start here: ${err instanceof Error ? err.message : String(err)}`;
  }
});

describe('webgpu backend', () => {
  it('MirrorPad gradient includes the reflected borders (our fix, on webgpu)', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const shape = [1, 6, 5, 2];
    const rng = seeded(3);
    const x = randomImage(rng, 1, 6, 5, 2);
    const g = randomImage(rng, 1, 12, 11, 2);
    const dx = tf.grad((v: tf.Tensor) =>
      tf.mirrorPad(
        v,
        [
          [0, 0],
          [3, 3],
          [3, 3],
          [0, 0],
        ],
        'reflect',
      ),
    )(x, g);
    const expected = reflectPadAdjoint((await g.data()) as Float32Array, shape, 3);
    expectTensorsClose(await dx.data(), expected, 1e-5, 'dx');
    tf.dispose([x, g, dx]);
  });

  it(`${ITERATIONS} training iterations give the losses and weights that wasm gives, and leak no tensor`, async (t) => {
    if (skipReason) return t.skip(skipReason);
    const gpu = await train();
    // The same iterations on wasm, as the backend chain sets it up (its convolution gradients and Slice kernel).
    await import('@tensorflow/tfjs-backend-wasm');
    assert.ok(await tf.setBackend('wasm'));
    installGradientFixes('wasm');
    const wasm = await train();

    assert.deepEqual([...gpu.final.keys()], [...wasm.final.keys()], 'same checkpoint names');
    for (const [i, losses] of gpu.losses.entries()) {
      for (const [name, value] of Object.entries(losses)) {
        const expected = wasm.losses[i][name as keyof typeof losses];
        assert.ok(Math.abs(value - expected) <= 1e-4 * Math.abs(expected) + 1e-7, `iteration ${i + 1}: ${name} ${value} on webgpu, ${expected} on wasm`);
      }
    }
    assert.equal(distance(gpu.initial, wasm.initial, [...gpu.initial.keys()]), 0, 'same initial weights');
    // Conv biases just before an instance norm or AdaIN have an exactly-zero gradient: Adam turns float noise into
    // steps there, different on each backend. Every other weight must take the same step.
    const updated = [...wasm.final.keys()].filter((name) => !/^gen[AB]\.(enc_content|dec\.model\.0)\..*conv\.bias$/.test(name));
    const step = (names: string[]) => distance(wasm.final, wasm.initial, names);
    const mismatch = (names: string[]) => distance(gpu.final, wasm.final, names);
    assert.ok(step(updated) > 0, 'the weights moved');
    assert.ok(mismatch(updated) < 1e-2 * step(updated), `all weights: ${mismatch(updated)} apart after steps of ${step(updated)}`);
    for (const name of updated) {
      assert.ok(mismatch([name]) <= 0.1 * step([name]) + 1e-7, `${name}: ${mismatch([name])} apart after a step of ${step([name])}`);
    }
  });
});

// Layer numerics against plain float64 JavaScript written from the definitions in munit-reference.md.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { adaptiveInstanceNorm, instanceNorm, layerNorm } from '../../munit-core/layers/norms.js';
import { avgPool3x3s2ExcludePad, pad2d } from '../../munit-core/layers/padding.js';
import { disLoss, genAdvLoss, l1 } from '../../munit-core/losses.js';
import { upsampleConv2d } from '../../munit-core/layers/upsample-conv.js';
import { AdaINGen } from '../../munit-core/networks/generator.js';
import { expectTensorsClose, relErr, seeded, tinySettings, useBackend } from './helpers.js';

const [N, H, W, C] = [2, 5, 4, 3];
const at = (x: Float32Array | number[], n: number, h: number, w: number, c: number, dims = [N, H, W, C]) => x[((n * dims[1] + h) * dims[2] + w) * dims[3] + c];

function randomData(size: number, seed: number): number[] {
  const r = seeded(seed);
  return Array.from({ length: size }, () => r() * 4 - 2);
}

describe('layers', () => {
  before(() => useBackend('wasm'));
  const data = randomData(N * H * W * C, 1);
  const x = () => tf.tensor4d(data, [N, H, W, C]);

  it('instance norm: per sample and channel over HxW, biased variance, eps 1e-5 inside the sqrt', () => {
    const got = tf.tidy(() => instanceNorm(x()).dataSync());
    const expected: number[] = new Array(data.length);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const vals: number[] = [];
        for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) vals.push(at(data, n, h, w, c));
        const mean = vals.reduce((a, b) => a + b) / vals.length;
        const variance = vals.reduce((a, b) => a + (b - mean) ** 2, 0) / vals.length;
        for (let h = 0; h < H; h++)
          for (let w = 0; w < W; w++) {
            expected[((n * H + h) * W + w) * C + c] = (at(data, n, h, w, c) - mean) / Math.sqrt(variance + 1e-5);
          }
      }
    }
    expectTensorsClose(got, expected, 1e-5, 'instance norm');
  });

  it('LayerNorm: per sample over CxHxW, unbiased std, eps added to the std, per-channel affine', () => {
    const gamma = [0.5, 1.5, -2];
    const beta = [0.1, 0, -0.3];
    const got = tf.tidy(() => layerNorm(x(), tf.tensor1d(gamma), tf.tensor1d(beta)).dataSync());
    const per = H * W * C;
    const expected = data.map((v, i) => {
      const n = Math.floor(i / per);
      const vals = data.slice(n * per, (n + 1) * per);
      const mean = vals.reduce((a, b) => a + b) / per;
      const std = Math.sqrt(vals.reduce((a, b) => a + (b - mean) ** 2, 0) / (per - 1));
      return ((v - mean) / (std + 1e-5)) * gamma[i % C] + beta[i % C];
    });
    expectTensorsClose(got, expected, 1e-5, 'LayerNorm');
  });

  it('AdaIN: instance norm scaled by gamma and shifted by beta, per sample', () => {
    const gamma = [
      [1, 2, 3],
      [-1, 0.5, 0],
    ];
    const beta = [
      [0, 1, 2],
      [3, -1, 0.25],
    ];
    const got = tf.tidy(() => adaptiveInstanceNorm(x(), tf.tensor2d(gamma), tf.tensor2d(beta)).dataSync());
    const normed = tf.tidy(() => instanceNorm(x()).dataSync());
    const expected = Array.from(normed, (v, i) => {
      const n = Math.floor(i / (H * W * C));
      return v * gamma[n][i % C] + beta[n][i % C];
    });
    expectTensorsClose(got, expected, 1e-5, 'AdaIN');
  });

  it('the MLP output splits layer by layer into beta (first) then gamma, in decoder order', () => {
    const gen = new AdaINGen(3, tinySettings().gen);
    tf.tidy(() => {
      const style = tf.randomNormal([2, gen.styleDim]) as tf.Tensor2D;
      const flat = gen.mlp.apply(style).arraySync();
      let offset = 0;
      const channels = gen.decoder.adainChannels();
      assert.equal(
        flat[0].length,
        channels.reduce((a, c) => a + 2 * c, 0),
      );
      gen.adainParams(style).forEach(({ gamma, beta }, layer) => {
        const c = channels[layer];
        assert.deepEqual(
          beta.arraySync(),
          flat.map((row) => row.slice(offset, offset + c)),
        );
        assert.deepEqual(
          gamma.arraySync(),
          flat.map((row) => row.slice(offset + c, offset + 2 * c)),
        );
        offset += 2 * c;
      });
    });
    gen.dispose();
  });

  it('reflect padding mirrors without repeating the edge; zero padding pads zeros', () => {
    const p = 2;
    const [ph, pw] = [H + 2 * p, W + 2 * p];
    const reflect = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
    const got = tf.tidy(() => pad2d(x(), p, 'reflect').dataSync());
    const zero = tf.tidy(() => pad2d(x(), p, 'zero').dataSync());
    for (let n = 0; n < N; n++)
      for (let h = 0; h < ph; h++)
        for (let w = 0; w < pw; w++)
          for (let c = 0; c < C; c++) {
            const i = ((n * ph + h) * pw + w) * C + c;
            assert.equal(got[i], Math.fround(at(data, n, reflect(h - p, H), reflect(w - p, W), c)));
            const inside = h >= p && h < H + p && w >= p && w < W + p;
            assert.equal(zero[i], inside ? Math.fround(at(data, n, h - p, w - p, c)) : 0);
          }
  });

  it('the decoder upsampling convolution by phases equals nearest x2, padding 2 and the 5x5 convolution, values and gradients', () => {
    // The smallest map the reference can reflect-pad (2x2), odd and unequal sides, and a batch of two.
    for (const [shape, co] of [
      [[1, 2, 2, 3], 4],
      [[2, 3, 5, 2], 3],
      [[1, 8, 6, 4], 5],
    ] as [[number, number, number, number], number][]) {
      for (const padType of ['reflect', 'zero'] as const) {
        tf.tidy(() => {
          const xs = tf.tensor4d(
            randomData(
              shape.reduce((a, b) => a * b),
              3,
            ),
            shape,
          );
          const w = tf.tensor4d(randomData(25 * shape[3] * co, 4), [5, 5, shape[3], co]);
          const plain = (x: tf.Tensor4D, k: tf.Tensor4D) =>
            tf.conv2d(pad2d(tf.image.resizeNearestNeighbor(x, [2 * x.shape[1], 2 * x.shape[2]]), 2, padType), k, 1, 'valid');
          // A loss that weighs every output differently, so a misplaced line or phase changes the gradients.
          const weights = tf.tensor4d(randomData(shape[0] * 4 * shape[1] * shape[2] * co, 5), [shape[0], 2 * shape[1], 2 * shape[2], co]);
          const loss = (f: typeof plain) => (x: tf.Tensor, k: tf.Tensor) => tf.sum(tf.mul(tf.square(f(x as tf.Tensor4D, k as tf.Tensor4D)), weights));
          const what = `${padType}, [${shape}] -> ${co}`;
          const [got, want] = [upsampleConv2d(xs, w, padType), plain(xs, w)];
          assert.deepEqual(got.shape, want.shape, what);
          assert.ok(relErr(got.dataSync(), want.dataSync()) < 1e-5, `${what}: values`);
          const [gotGrads, wantGrads] = [tf.grads(loss((x, k) => upsampleConv2d(x, k, padType)))([xs, w]), tf.grads(loss(plain))([xs, w])];
          for (const [i, name] of ['dx', 'dw'].entries()) assert.ok(relErr(gotGrads[i].dataSync(), wantGrads[i].dataSync()) < 1e-5, `${what}: ${name}`);
        });
      }
    }
  });

  it('average pool 3x3 stride 2 padding 1 divides by the real pixels in each window (count_include_pad=False)', () => {
    const got = tf.tidy(() => avgPool3x3s2ExcludePad(x()));
    const [, ho, wo] = got.shape;
    assert.deepEqual([ho, wo], [3, 2]);
    const values = got.dataSync();
    for (let n = 0; n < N; n++)
      for (let i = 0; i < ho; i++)
        for (let j = 0; j < wo; j++)
          for (let c = 0; c < C; c++) {
            let sum = 0;
            let count = 0;
            for (let h = 2 * i - 1; h <= 2 * i + 1; h++)
              for (let w = 2 * j - 1; w <= 2 * j + 1; w++) {
                if (h >= 0 && h < H && w >= 0 && w < W) {
                  sum += at(data, n, h, w, c);
                  count++;
                }
              }
            assert.ok(Math.abs(values[((n * ho + i) * wo + j) * C + c] - sum / count) < 1e-5);
          }
    got.dispose();
  });

  it('LSGAN, nsgan and L1 terms', () => {
    const fake = [
      [0.5, -1],
      [2, 0],
    ];
    const real = [
      [1, 0.25],
      [-0.5, 3],
    ];
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    const sp = (v: number) => Math.log1p(Math.exp(v));
    tf.tidy(() => {
      const f = fake.map((v) => tf.tensor(v));
      const r = real.map((v) => tf.tensor(v));
      const lsD = fake.reduce((s, fv, i) => s + mean(fv.map((v) => v * v)) + mean(real[i].map((v) => (v - 1) ** 2)), 0);
      const lsG = fake.reduce((s, fv) => s + mean(fv.map((v) => (v - 1) ** 2)), 0);
      // BCE(sigmoid(f), 0) = -log(1 - sigmoid(f)) = softplus(f); BCE(sigmoid(r), 1) = softplus(-r).
      const nsD = fake.reduce((s, fv, i) => s + mean(fv.map((v, j) => sp(v) + sp(-real[i][j]))), 0);
      const nsG = fake.reduce((s, fv) => s + mean(fv.map((v) => sp(-v))), 0);
      assert.ok(Math.abs(disLoss(f, r, 'lsgan').dataSync()[0] - lsD) < 1e-6);
      assert.ok(Math.abs(genAdvLoss(f, 'lsgan').dataSync()[0] - lsG) < 1e-6);
      assert.ok(Math.abs(disLoss(f, r, 'nsgan').dataSync()[0] - nsD) < 1e-5);
      assert.ok(Math.abs(genAdvLoss(f, 'nsgan').dataSync()[0] - nsG) < 1e-5);
      assert.ok(Math.abs(l1(tf.tensor(fake[0]), tf.tensor(real[0])).dataSync()[0] - mean([0.5, 1.25])) < 1e-7);
    });
  });
});

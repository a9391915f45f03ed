// The replacement wasm Slice kernel against a plain JavaScript slice, for random boxes of ranks 1 to 5.
import { before, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { seeded, useBackend } from './helpers.js';

function sliceReference(data: number[], shape: number[], begin: number[], size: number[]): number[] {
  const out: number[] = [];
  const walk = (dim: number, offset: number) => {
    const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    for (let i = begin[dim]; i < begin[dim] + size[dim]; i++) {
      if (dim === shape.length - 1) out.push(data[offset + i]);
      else walk(dim + 1, offset + i * stride);
    }
  };
  walk(0, 0);
  return out;
}

before(() => useBackend('wasm'));

it('slices any box of float32 and int32 tensors exactly, reading the input in place', () => {
  assert.equal(tf.getBackend(), 'wasm');
  const r = seeded(11);
  const pick = (n: number) => Math.floor(r() * n);
  for (let t = 0; t < 400; t++) {
    const shape = Array.from({ length: 1 + (t % 5) }, () => 1 + pick(5));
    const begin = shape.map((s) => pick(s));
    const size = shape.map((s, i) => (r() < 0.3 ? s - begin[i] : 1 + pick(s - begin[i])));
    const data = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i - 7);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const got = tf.slice(tf.tensor(data, shape, t % 2 ? 'int32' : 'float32'), begin, size);
      assert.deepEqual(got.shape, size);
      assert.deepEqual(Array.from(got.dataSync()), sliceReference(data, shape, begin, size), `shape ${shape} begin ${begin} size ${size}`);
    });
    assert.equal(tf.memory().numTensors, before);
  }
});

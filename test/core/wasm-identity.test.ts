// The replacement wasm Identity kernel: a clone shares its source's memory and each outlives the other.
import { before, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from './helpers.js';

before(() => useBackend('wasm'));

it('clones without copying, and either tensor stays valid after the other is disposed', () => {
  assert.equal(tf.getBackend(), 'wasm');
  // The counts are kept explicit (not expectNoLeakedTensors): the clone being a tensor of its own, alive while its
  // source is not, and the bytes going back to zero are what this test is about.
  const base = tf.memory();
  const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
  const y = tf.clone(x);
  assert.equal(y.dataId, x.dataId, 'the clone shares the memory (tfjs 4.22 wasm copied it)');
  assert.equal(tf.memory().numTensors, base.numTensors + 2);
  x.dispose();
  assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3, 4, 5, 6]);
  const z = tf.clone(y);
  y.dispose();
  assert.deepEqual(z.shape, [2, 3]);
  assert.deepEqual(Array.from(z.dataSync()), [1, 2, 3, 4, 5, 6]);
  z.dispose();
  assert.equal(tf.memory().numBytes, base.numBytes);
  assert.equal(tf.memory().numTensors, base.numTensors);
});

it('keeps what the gradient tape saved when a weight is replaced after the forward pass', () => {
  const w = tf.variable(tf.tensor1d([2, 3]));
  const { value, grads } = tf.variableGrads(() => {
    const loss = tf.sum(tf.mul(w, w)) as tf.Scalar;
    // The optimiser's way: a new tensor for the weight, while the tape still holds the saved one.
    w.assign(tf.tensor1d([100, 100]));
    return loss;
  }, [w]);
  assert.deepEqual(Array.from(grads[w.name].dataSync()), [4, 6], 'the gradient uses the weight the forward pass saw');
  assert.equal(value.dataSync()[0], 13);
  tf.dispose([value, grads[w.name], w]);
});

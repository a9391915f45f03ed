// The replacement wasm Slice kernel against a plain JavaScript slice, for random boxes of ranks 1 to 5.
import { before, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeakedTensors, seeded, useBackend } from './helpers.js';

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

/**
 * Runs `fn`, recording which tensors' data the wasm backend copies out of its heap meanwhile (`readSync`: what
 * tfjs-backend-wasm 4.22's own Slice does to its whole input first). Reading in place copies out nothing.
 */
function heapReadsDuring<T>(fn: () => T): { result: T; read: unknown[] } {
  const backend = tf.backend() as unknown as { readSync(dataId: unknown, ...rest: unknown[]): unknown };
  const readSync = backend.readSync;
  const read: unknown[] = [];
  backend.readSync = function (this: unknown, dataId: unknown, ...rest: unknown[]) {
    read.push(dataId);
    return readSync.call(this, dataId, ...rest);
  };
  try {
    return { result: fn(), read };
  } finally {
    backend.readSync = readSync;
  }
}

before(() => useBackend('wasm'));

it('the heap-read probe sees a read (so the check below can fail)', () => {
  const x = tf.tensor([1, 2, 3]);
  const { read } = heapReadsDuring(() => x.dataSync());
  assert.deepEqual(read, [x.dataId]);
  x.dispose();
});

it('slices any box of float32 and int32 tensors exactly, reading the input in place', () => {
  assert.equal(tf.getBackend(), 'wasm');
  const r = seeded(11);
  const pick = (n: number) => Math.floor(r() * n);
  for (let t = 0; t < 400; t++) {
    const shape = Array.from({ length: 1 + (t % 5) }, () => 1 + pick(5));
    const begin = shape.map((s) => pick(s));
    const size = shape.map((s, i) => (r() < 0.3 ? s - begin[i] : 1 + pick(s - begin[i])));
    const data = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i - 7);
    const what = `shape ${shape} begin ${begin} size ${size}`;
    expectNoLeakedTensors(
      () =>
        tf.tidy(() => {
          const x = tf.tensor(data, shape, t % 2 ? 'int32' : 'float32');
          const { result: got, read } = heapReadsDuring(() => tf.slice(x, begin, size));
          // In place: the kernel read the input where it lies in the wasm heap, copying nothing out of it.
          assert.deepEqual(read, [], `${what}: the input was copied out of the wasm heap`);
          assert.notEqual(got.dataId, x.dataId, `${what}: the output has its own memory`);
          assert.deepEqual(got.shape, size);
          assert.deepEqual(Array.from(got.dataSync()), sliceReference(data, shape, begin, size), what);
        }),
      0,
      what,
    );
  }
});

// The wasm backend's Sum and Mean add in float64 (munit-core/kernels/wasm-sum.ts).
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from './helpers.js';

describe('wasm Sum and Mean', () => {
  before(() => useBackend('wasm'));

  it('the mean of 1,048,576 copies of 0.1 is 0.1 to float32 precision (float32 running sums were 1e-3 off)', () => {
    const x = tf.fill([1, 1024, 1024, 1], 0.1);
    const mean = tf.mean(x, [1, 2]);
    assert.ok(Math.abs(mean.dataSync()[0] - 0.1) < 1e-8, `${mean.dataSync()[0]}`);
    tf.dispose([x, mean]);
  });

  it('reduces each contiguous run of axes, keeps dims when asked, and falls back for the rest', () => {
    const shape = [2, 3, 4, 5];
    const values = Array.from({ length: 120 }, (_, i) => Math.sin(i) * 10);
    const x = tf.tensor4d(values, shape as [number, number, number, number]);
    const at = (n: number, h: number, w: number, c: number) => values[((n * 3 + h) * 4 + w) * 5 + c];
    const cases: [number[], boolean, (idx: number[]) => number, number[]][] = [
      [[1, 2], false, ([n, c]) => sumOver((h, w) => at(n, h, w, c)), [2, 5]],
      [[1, 2, 3], true, ([n]) => sumOver((h, w) => [0, 1, 2, 3, 4].reduce((s, c) => s + at(n, h, w, c), 0)), [2, 1, 1, 1]],
      [[0, 1, 2], false, ([c]) => [0, 1].reduce((s, n) => s + sumOver((h, w) => at(n, h, w, c)), 0), [5]],
      // Not contiguous: tfjs' own kernel.
      [[1, 3], false, ([n, w]) => [0, 1, 2].reduce((s, h) => s + [0, 1, 2, 3, 4].reduce((t, c) => t + at(n, h, w, c), 0), 0), [2, 4]],
    ];
    function sumOver(f: (h: number, w: number) => number): number {
      let s = 0;
      for (let h = 0; h < 3; h++) for (let w = 0; w < 4; w++) s += f(h, w);
      return s;
    }
    for (const [axes, keepDims, expected, outShape] of cases) {
      const sum = tf.sum(x, axes, keepDims);
      const mean = tf.mean(x, axes, keepDims);
      assert.deepEqual(sum.shape, outShape, `shape over ${axes}`);
      const count = axes.reduce((p, a) => p * shape[a], 1);
      const kept = outShape.filter((d) => d > 1 || outShape.length === 1);
      const data = sum.dataSync();
      const meanData = mean.dataSync();
      for (let k = 0; k < data.length; k++) {
        const idx = kept.length === 2 ? [Math.floor(k / kept[1]), k % kept[1]] : [k];
        assert.ok(Math.abs(data[k] - expected(idx)) < 1e-4, `sum over ${axes} at ${idx}: ${data[k]} vs ${expected(idx)}`);
        assert.ok(Math.abs(meanData[k] - expected(idx) / count) < 1e-5, `mean over ${axes} at ${idx}`);
      }
      tf.dispose([sum, mean]);
    }
    x.dispose();
  });
});

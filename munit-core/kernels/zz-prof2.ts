import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
function t(name: string, fn: () => tf.Tensor, sync: boolean, n = 10) {
  fn().dispose();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) { const o = fn(); if (sync) o.dataSync(); o.dispose(); }
  console.log(name.padEnd(40), sync, ((performance.now() - t0) / n).toFixed(2), 'ms');
}
async function main() {
  await tf.setBackend('wasm');
  for (const size of [1 << 16, 1 << 19, 1 << 21, 1 << 23]) {
    const a = tf.randomNormal([size]);
    t(`clone ${size}`, () => tf.clone(a), false);
    t(`clone ${size}`, () => tf.clone(a), true);
    t(`add ${size}`, () => tf.add(a, a), false);
    t(`neg ${size}`, () => tf.neg(a), false);
    t(`pad ${size}`, () => tf.pad(a, [[1, 1]]), false);
    a.dispose();
  }
}
main();

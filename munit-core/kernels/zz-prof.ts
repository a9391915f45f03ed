import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
function t(name: string, fn: () => tf.Tensor, n = 5) {
  fn().dispose();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) { const o = fn(); o.dispose(); }
  console.log(name.padEnd(55), ((performance.now() - t0) / n).toFixed(2), 'ms');
}
async function main() {
  await tf.setBackend('wasm');
  const L = 64 * 68;
  const xT = tf.randomNormal([128, 68 * 68 + 8]);
  t('js slice [128, L]', () => tf.slice(xT, [0, 5], [128, L]));
  const xT3 = tf.reshape(xT, [128, 68 * 68 + 8, 1]);
  t('C++ stridedSlice fake stride [128, L, 1]', () => tf.stridedSlice(xT3, [0, 5, 0], [128, 5 + L, 1], [1, 1, 2]));
  const x2 = tf.randomNormal([128, 68 * 68 + 8]);
  t('C++ stridedSlice stride 2 on axis1', () => tf.stridedSlice(x2, [0, 0], [128, 2 * L], [1, 2]));
  const x = tf.randomNormal([1, 68, 68, 128]) as tf.Tensor4D;
  const dy = tf.randomNormal([1, 64, 64, 64]) as tf.Tensor4D;
  const xTc = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D;
  const dyF = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
  t('conv-based dW 5x5 128->64 @64 (1.68 GF)', () => tf.conv2d(xTc, dyF, 1, 'valid'));
  t('conv-based dW fresh dy', () => { const f = tf.clone(dyF); const o = tf.conv2d(xTc, f, 1, 'valid'); f.dispose(); return o; });
  const dwf = tf.randomNormal([5, 5, 128, 25]) as tf.Tensor4D;
  t('depthwise im2col 5x5 128 @64', () => tf.depthwiseConv2d(x, dwf, 1, 'valid'));
  const cols = tf.randomNormal([4096, 3200]);
  t('transpose cols [4096,3200]', () => tf.transpose(cols));
  t('transpose x [4624,128]', () => tf.transpose(tf.reshape(x, [-1, 128])));
  const xx = tf.randomNormal([1, 66, 66, 64]) as tf.Tensor4D;
  t('phase split 4D [66*33,2,33,2] style', () => tf.transpose(tf.reshape(tf.transpose(tf.reshape(xx, [-1, 64])), [64 * 33, 2, 33, 2]), [1, 3, 0, 2]));
  t('concat 25 x [128, L] axis 0', () => tf.concat(Array.from({ length: 25 }, () => xT), 0));
}
main();

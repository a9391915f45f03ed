// Spatial padding of NHWC tensors as the reference's Conv2dBlock pads before every convolution.
import * as tf from '@tensorflow/tfjs-core';
import type { PadType } from '../config/enums.js';

export type { PadType };

export function pad2d(x: tf.Tensor4D, p: number, type: PadType): tf.Tensor4D {
  if (p === 0) return x;
  const paddings: [number, number][] = [
    [0, 0],
    [p, p],
    [p, p],
    [0, 0],
  ];
  return type === 'reflect' ? tf.mirrorPad(x, paddings, 'reflect') : tf.pad(x, paddings);
}

/**
 * nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), the pooling between discriminator scales.
 * Written as a zero-padded sum pool divided by the number of real pixels in each window, so it does not
 * depend on whether a backend's average pool counts padding.
 */
export function avgPool3x3s2ExcludePad(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = x.shape;
    const pooled = tf.avgPool(
      tf.pad(x, [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ]),
      3,
      2,
      'valid',
    );
    const [, ho, wo] = pooled.shape;
    const counts = new Float32Array(ho * wo);
    for (let i = 0; i < ho; i++) {
      const rows = Math.min(2 * i + 1, h - 1) - Math.max(2 * i - 1, 0) + 1;
      for (let j = 0; j < wo; j++) {
        const cols = Math.min(2 * j + 1, w - 1) - Math.max(2 * j - 1, 0) + 1;
        counts[i * wo + j] = 9 / (rows * cols);
      }
    }
    return tf.mul(pooled, tf.tensor4d(counts, [1, ho, wo, 1])) as tf.Tensor4D;
  });
}

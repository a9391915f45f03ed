// The normalisations of the reference (networks.py): instance norm, its LayerNorm, AdaIN and batch norm.
// Tensors are NHWC here; "per channel" means over axes [1, 2].
import * as tf from '@tensorflow/tfjs-core';
import type { DisNorm } from '../config/enums.js';
import { loweringSwitch } from '../onnx/lowering-switch.js';

export const NORM_EPS = 1e-5;

export type Norm = DisNorm | 'adain';

/**
 * A kernel only the graph compiler registers (onnx/trace-kernels.ts): for a centred NHWC x, y = x r with
 * r = 1 / sqrt(mean(x^2) + eps) over H x W, as one node instead of five. Eager tfjs computes the same with ops.
 */
export const CENTRED_INSTANCE_NORM = 'MunitCentredInstanceNorm';
const normKernel = loweringSwitch();

/** Runs `fn` (a trace) with instanceNorm's normalisation as the CENTRED_INSTANCE_NORM kernel. */
export const withInstanceNormKernel = <T>(fn: () => T): T => normKernel.during(fn);

/**
 * (x - mean) / sqrt(var + eps) per sample and channel over H x W, biased variance, no affine.
 * With its gradient written out (dx = r (dy - mean(dy) - y mean(dy y))), so backpropagation keeps only y and r
 * instead of every intermediate of the forward ops: the normalisations are most of a step's memory otherwise.
 */
export const instanceNorm: (x: tf.Tensor4D) => tf.Tensor4D = tf.customGrad((x, save) => {
  const input = x as tf.Tensor4D;
  const centred = tf.sub(input, tf.mean(input, [1, 2], true));
  let y: tf.Tensor4D;
  let r: tf.Tensor;
  if (normKernel.on) [y, r] = tf.engine().runKernel(CENTRED_INSTANCE_NORM, { x: centred }, { eps: NORM_EPS }) as [tf.Tensor4D, tf.Tensor];
  else {
    r = tf.rsqrt(tf.add(tf.mean(tf.square(centred), [1, 2], true), NORM_EPS));
    y = tf.mul(centred, r) as tf.Tensor4D;
  }
  (save as tf.GradSaveFunc)([y, r]);
  return {
    value: y,
    gradFunc: (dy, saved) => {
      const [yS, rS] = saved;
      const meanDy = tf.mean(dy, [1, 2], true);
      const meanDyY = tf.mean(tf.mul(dy, yS), [1, 2], true);
      return [tf.mul(rS, tf.sub(tf.sub(dy, meanDy), tf.mul(yS, meanDyY)))];
    },
  };
}) as (x: tf.Tensor4D) => tf.Tensor4D;

/**
 * AdaIN: instance-normalise, then scale by gamma and shift by beta, both [N, C] from the MLP.
 * The reference computes this with F.batch_norm in training mode on a reshaped tensor: identical numbers.
 */
export function adaptiveInstanceNorm(x: tf.Tensor4D, gamma: tf.Tensor2D, beta: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, , , c] = x.shape;
    const g = tf.reshape(gamma, [n, 1, 1, c]);
    const b = tf.reshape(beta, [n, 1, 1, c]);
    return tf.add(tf.mul(instanceNorm(x), g), b) as tf.Tensor4D;
  });
}

/**
 * The reference's own LayerNorm (not torch.nn.LayerNorm): per sample, mean and UNBIASED std over C x H x W,
 * (x - mean) / (std + eps) with eps added to the std, then a per-channel affine.
 */
export function layerNorm(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D): tf.Tensor4D {
  return tf.tidy(() => tf.add(tf.mul(layerNormCore(x), gamma), beta) as tf.Tensor4D);
}

/**
 * y = (x - mean) / (s + eps), s the unbiased std over C x H x W, with its gradient written out for the same reason
 * as instanceNorm's: dx = (dy - mean(dy)) / (s + eps) - y sum(dy y) / ((n - 1) s).
 */
const layerNormCore: (x: tf.Tensor4D) => tf.Tensor4D = tf.customGrad((x, save) => {
  const input = x as tf.Tensor4D;
  const n = input.shape[1] * input.shape[2] * input.shape[3];
  const centred = tf.sub(input, tf.mean(input, [1, 2, 3], true));
  const s = tf.sqrt(tf.div(tf.sum(tf.square(centred), [1, 2, 3], true), Math.max(n - 1, 1)));
  const d = tf.add(s, NORM_EPS);
  const y = tf.div(centred, d) as tf.Tensor4D;
  (save as tf.GradSaveFunc)([y, s, d]);
  return {
    value: y,
    gradFunc: (dy, saved) => {
      const [yS, sS, dS] = saved;
      const first = tf.div(tf.sub(dy, tf.mean(dy, [1, 2, 3], true)), dS);
      const second = tf.mul(yS, tf.div(tf.sum(tf.mul(dy, yS), [1, 2, 3], true), tf.mul(sS, Math.max(n - 1, 1))));
      return [tf.sub(first, second)];
    },
  };
}) as (x: tf.Tensor4D) => tf.Tensor4D;

/**
 * BatchNorm2d in training mode (the reference's discriminators never switch to eval): batch statistics,
 * biased variance, per-channel affine. Running statistics are kept as buffers only for checkpoint compatibility.
 */
export function batchNorm(x: tf.Tensor4D, weight: tf.Tensor1D, bias: tf.Tensor1D): tf.Tensor4D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [0, 1, 2], true);
    const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, NORM_EPS)));
    return tf.add(tf.mul(normed, weight), bias) as tf.Tensor4D;
  });
}

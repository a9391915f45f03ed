// The normalisations of the reference (networks.py): instance norm, its LayerNorm, AdaIN and batch norm.
// Tensors are NHWC here; "per channel" means over axes [1, 2].
import * as tf from '@tensorflow/tfjs-core';

export const NORM_EPS = 1e-5;

export type Norm = 'none' | 'bn' | 'in' | 'ln' | 'adain';

/** (x - mean) / sqrt(var + eps) per sample and channel over H x W, biased variance, no affine. */
export function instanceNorm(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [1, 2], true);
    return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, NORM_EPS))) as tf.Tensor4D;
  });
}

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
  return tf.tidy(() => {
    const count = x.shape[1] * x.shape[2] * x.shape[3];
    const mean = tf.mean(x, [1, 2, 3], true);
    const centred = tf.sub(x, mean);
    const unbiasedVar = tf.div(tf.sum(tf.square(centred), [1, 2, 3], true), Math.max(count - 1, 1));
    const normed = tf.div(centred, tf.add(tf.sqrt(unbiasedVar), NORM_EPS));
    return tf.add(tf.mul(normed, gamma), beta) as tf.Tensor4D;
  });
}

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

// The reference's activations (Conv2dBlock / LinearBlock `activation` argument).
import * as tf from '@tensorflow/tfjs-core';
import type { Activation } from '../config/enums.js';
import { ParamStore } from './params.js';

export type { Activation };

export type ActivationFn = (x: tf.Tensor) => tf.Tensor;

/** Builds the activation; PReLU owns one learnable slope (`<prefix>.activation.weight`, init 0.25, as nn.PReLU()). */
export function makeActivation(kind: Activation, params: ParamStore, prefix: string): ActivationFn {
  switch (kind) {
    case 'relu':
      return (x) => tf.relu(x);
    case 'lrelu':
      return (x) => tf.leakyRelu(x, 0.2);
    case 'prelu': {
      const slope = params.add(`${prefix}.activation.weight`, tf.fill([1], 0.25), 'vector', 'constant');
      return (x) => tf.prelu(x, slope);
    }
    case 'selu':
      return (x) => tf.selu(x);
    case 'tanh':
      return (x) => tf.tanh(x);
    case 'none':
      return (x) => x;
  }
}

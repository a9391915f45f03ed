// The reference's LinearBlock (norm 'none' as the MLP uses it): `<path>.fc.weight` [out, in] there, [in, out] here.
import * as tf from '@tensorflow/tfjs-core';
import { Activation, ActivationFn, makeActivation } from './activation.js';
import { ParamStore } from './params.js';

export class LinearBlock {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  private readonly activate: ActivationFn;

  constructor(
    params: ParamStore,
    readonly path: string,
    inDim: number,
    outDim: number,
    activation: Activation,
  ) {
    this.weight = params.add(`${path}.fc.weight`, tf.zeros([inDim, outDim]), 'linear', 'weight');
    this.bias = params.add(`${path}.fc.bias`, tf.zeros([outDim]), 'vector', 'bias');
    this.activate = makeActivation(activation, params, path);
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.activate(tf.add(tf.matMul(x, this.weight as tf.Tensor2D), this.bias)) as tf.Tensor2D);
  }
}

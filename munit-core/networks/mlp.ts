// MLP (mlp): style code -> all AdaIN parameters of the decoder, in decoder order.
import * as tf from '@tensorflow/tfjs-core';
import { Activation } from '../layers/activation.js';
import { LinearBlock } from '../layers/linear-block.js';
import { ForwardContext } from '../layers/context.js';
import { ParamStore } from '../layers/params.js';

/** The reference's MLP has 3 linear blocks. */
export const MLP_BLOCKS = 3;

export class Mlp {
  readonly blocks: LinearBlock[] = [];

  constructor(
    params: ParamStore,
    readonly path: string,
    inDim: number,
    outDim: number,
    dim: number,
    activation: Activation,
  ) {
    for (let i = 0; i < MLP_BLOCKS; i++) {
      const last = i === MLP_BLOCKS - 1;
      this.blocks.push(new LinearBlock(params, `${path}.model.${i}`, i === 0 ? inDim : dim, last ? outDim : dim, last ? 'none' : activation));
    }
  }

  apply(style: tf.Tensor2D, ctx: ForwardContext = {}): tf.Tensor2D {
    const y = tf.tidy(() => this.blocks.reduce((h, b) => b.apply(h), style));
    ctx.tap?.(this.path, y);
    return y;
  }
}

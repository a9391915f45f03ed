// Decoder (dec): n_res AdaIN residual blocks, then n_upsample x [nearest x2, Conv(5,1,2) halving the width,
// LayerNorm, activation], then Conv(7,1,3) to the image with tanh.
import * as tf from '@tensorflow/tfjs-core';
import { Activation } from '../layers/activation.js';
import { Conv2dBlock } from '../layers/conv2d-block.js';
import { ForwardContext } from '../layers/context.js';
import { PadType } from '../layers/padding.js';
import { ParamStore } from '../layers/params.js';
import { ResBlocks } from '../layers/res-blocks.js';

export class Decoder {
  readonly res: ResBlocks;
  readonly upsampling: Conv2dBlock[] = [];
  readonly out: Conv2dBlock;

  constructor(
    params: ParamStore,
    readonly path: string,
    nUpsample: number,
    nRes: number,
    dim: number,
    outputDim: number,
    activation: Activation,
    padType: PadType,
  ) {
    this.res = new ResBlocks(params, `${path}.model.0`, nRes, dim, 'adain', activation, padType);
    // Module indices: the nn.Upsample layers take the odd slots (1, 3, ...), the convolutions the even ones.
    for (let i = 0; i < nUpsample; i++, dim /= 2) {
      this.upsampling.push(
        new Conv2dBlock(params, `${path}.model.${2 + 2 * i}`, {
          inDim: dim,
          outDim: dim / 2,
          kernel: 5,
          stride: 1,
          padding: 2,
          norm: 'ln',
          activation,
          padType,
          upsample: true,
        }),
      );
    }
    this.out = new Conv2dBlock(params, `${path}.model.${1 + 2 * nUpsample}`, {
      inDim: dim,
      outDim: outputDim,
      kernel: 7,
      stride: 1,
      padding: 3,
      norm: 'none',
      activation: 'tanh',
      padType,
    });
  }

  /** The AdaIN layers in the order the MLP's output is split into (the reference's dec.modules() order). */
  adainChannels(): number[] {
    return this.res.blocks.flatMap((b) => b.convs.map((c) => c.args.outDim));
  }

  apply(content: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    return tf.tidy(() => {
      let h = this.res.apply(content, ctx);
      for (const conv of this.upsampling) h = conv.apply(h, ctx);
      return this.out.apply(h, ctx);
    });
  }
}

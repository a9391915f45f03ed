// ContentEncoder (enc_content): Conv(7,1,3) and n_downsample x Conv(4,2,1), all instance-normalised, then
// n_res instance-normalised residual blocks. Its output is the domain-shared content code.
import * as tf from '@tensorflow/tfjs-core';
import { Activation } from '../layers/activation.js';
import { Conv2dBlock } from '../layers/conv2d-block.js';
import { ForwardContext } from '../layers/context.js';
import { PadType } from '../layers/padding.js';
import { ParamStore } from '../layers/params.js';
import { ResBlocks } from '../layers/res-blocks.js';

export class ContentEncoder {
  readonly blocks: Conv2dBlock[] = [];
  readonly res: ResBlocks;
  readonly outDim: number;

  constructor(
    params: ParamStore,
    readonly path: string,
    nDownsample: number,
    nRes: number,
    inputDim: number,
    dim: number,
    activation: Activation,
    padType: PadType,
  ) {
    const block = (inDim: number, outDim: number, kernel: number, stride: number, padding: number) =>
      new Conv2dBlock(params, `${path}.model.${this.blocks.length}`, { inDim, outDim, kernel, stride, padding, norm: 'in', activation, padType });
    this.blocks.push(block(inputDim, dim, 7, 1, 3));
    for (let i = 0; i < nDownsample; i++, dim *= 2) this.blocks.push(block(dim, dim * 2, 4, 2, 1));
    this.res = new ResBlocks(params, `${path}.model.${this.blocks.length}`, nRes, dim, 'in', activation, padType);
    this.outDim = dim;
  }

  apply(x: tf.Tensor4D, ctx: ForwardContext = {}): tf.Tensor4D {
    return tf.tidy(() =>
      this.res.apply(
        this.blocks.reduce((h, b) => b.apply(h, ctx), x),
        ctx,
      ),
    );
  }
}

// ResBlock: x + Conv(3,1,1)-norm-act -> Conv(3,1,1)-norm; ResBlocks: n of them (`<path>.model.i.model.j`).
import * as tf from '@tensorflow/tfjs-core';
import { Activation } from './activation.js';
import { Conv2dBlock } from './conv2d-block.js';
import { ForwardContext } from './context.js';
import { Norm } from './norms.js';
import { PadType } from './padding.js';
import { ParamStore } from './params.js';

export class ResBlock {
  readonly convs: [Conv2dBlock, Conv2dBlock];

  constructor(
    params: ParamStore,
    readonly path: string,
    dim: number,
    norm: Norm,
    activation: Activation,
    padType: PadType,
  ) {
    const common = { inDim: dim, outDim: dim, kernel: 3, stride: 1, padding: 1, norm, padType };
    this.convs = [
      new Conv2dBlock(params, `${path}.model.0`, { ...common, activation }),
      new Conv2dBlock(params, `${path}.model.1`, { ...common, activation: 'none' }),
    ];
  }

  apply(x: tf.Tensor4D, ctx: ForwardContext = {}): tf.Tensor4D {
    const y = tf.tidy(() => tf.add(x, this.convs[1].apply(this.convs[0].apply(x, ctx), ctx)) as tf.Tensor4D);
    ctx.tap?.(this.path, y);
    return y;
  }
}

export class ResBlocks {
  readonly blocks: ResBlock[];

  constructor(
    params: ParamStore,
    readonly path: string,
    n: number,
    dim: number,
    norm: Norm,
    activation: Activation,
    padType: PadType,
  ) {
    this.blocks = Array.from({ length: n }, (_, i) => new ResBlock(params, `${path}.model.${i}`, dim, norm, activation, padType));
  }

  apply(x: tf.Tensor4D, ctx: ForwardContext = {}): tf.Tensor4D {
    return tf.tidy(() => this.blocks.reduce((h, block) => block.apply(h, ctx), x));
  }
}

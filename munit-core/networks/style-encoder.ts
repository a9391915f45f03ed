// StyleEncoder (enc_style): convolutions with NO normalisation (instance norm would erase the statistics that
// carry style), global average pooling, then a 1x1 conv to the style code.
import * as tf from '@tensorflow/tfjs-core';
import { Activation } from '../layers/activation.js';
import { Conv2dBlock } from '../layers/conv2d-block.js';
import { ForwardContext } from '../layers/context.js';
import { PadType } from '../layers/padding.js';
import { ParamStore } from '../layers/params.js';

/** The reference builds the style encoder with 4 downsamplings whatever gen.n_downsample says. */
export const STYLE_ENCODER_DOWNSAMPLES = 4;

export class StyleEncoder {
  readonly blocks: Conv2dBlock[] = [];
  readonly outWeight: tf.Variable;
  readonly outBias: tf.Variable;
  readonly outDim: number;

  constructor(
    params: ParamStore,
    readonly path: string,
    inputDim: number,
    dim: number,
    styleDim: number,
    activation: Activation,
    padType: PadType,
  ) {
    const block = (inDim: number, outDim: number, kernel: number, stride: number, padding: number) =>
      new Conv2dBlock(params, `${path}.model.${this.blocks.length}`, { inDim, outDim, kernel, stride, padding, norm: 'none', activation, padType });
    this.blocks.push(block(inputDim, dim, 7, 1, 3));
    for (let i = 0; i < 2; i++, dim *= 2) this.blocks.push(block(dim, dim * 2, 4, 2, 1));
    for (let i = 0; i < STYLE_ENCODER_DOWNSAMPLES - 2; i++) this.blocks.push(block(dim, dim, 4, 2, 1));
    // model.<n> is the AdaptiveAvgPool2d(1) (no weights), model.<n+1> the plain nn.Conv2d(dim, style_dim, 1).
    const outPath = `${path}.model.${this.blocks.length + 1}`;
    this.outWeight = params.add(`${outPath}.weight`, tf.zeros([1, 1, dim, styleDim]), 'conv', 'weight');
    this.outBias = params.add(`${outPath}.bias`, tf.zeros([styleDim]), 'vector', 'bias');
    this.outDim = styleDim;
  }

  /** Returns the style code as [N, style_dim] (the reference's [N, style_dim, 1, 1], flattened). */
  apply(x: tf.Tensor4D, ctx: ForwardContext = {}): tf.Tensor2D {
    const s = tf.tidy(() => {
      const features = this.blocks.reduce((h, b) => b.apply(h, ctx), x);
      const pooled = tf.mean(features, [1, 2]) as tf.Tensor2D;
      const w = tf.reshape(this.outWeight, [this.outWeight.shape[2]!, this.outDim]) as tf.Tensor2D;
      return tf.add(tf.matMul(pooled, w), this.outBias) as tf.Tensor2D;
    });
    ctx.tap?.(`${this.path}.model.${this.blocks.length + 1}`, s);
    return s;
  }
}

// AdaINGen (gen_a / gen_b): one domain's auto-encoder. encode(x) = (content, style); decode(content, style).
import * as tf from '@tensorflow/tfjs-core';
import { AdainParams, ForwardContext } from '../layers/context.js';
import { ParamStore } from '../layers/params.js';
import { ContentEncoder } from './content-encoder.js';
import { Decoder } from './decoder.js';
import { Mlp } from './mlp.js';
import { GenOptions } from './options.js';
import { StyleEncoder } from './style-encoder.js';

export class AdaINGen {
  readonly params = new ParamStore();
  readonly styleEncoder: StyleEncoder;
  readonly contentEncoder: ContentEncoder;
  readonly decoder: Decoder;
  readonly mlp: Mlp;

  constructor(
    readonly inputDim: number,
    readonly options: GenOptions,
  ) {
    const { dim, style_dim, n_downsample, n_res, activ, pad_type, mlp_dim } = options;
    this.styleEncoder = new StyleEncoder(this.params, 'enc_style', inputDim, dim, style_dim, activ, pad_type);
    this.contentEncoder = new ContentEncoder(this.params, 'enc_content', n_downsample, n_res, inputDim, dim, activ, pad_type);
    this.decoder = new Decoder(this.params, 'dec', n_downsample, n_res, this.contentEncoder.outDim, inputDim, activ, pad_type);
    const numAdainParams = this.decoder.adainChannels().reduce((sum, c) => sum + 2 * c, 0);
    this.mlp = new Mlp(this.params, 'mlp', style_dim, numAdainParams, mlp_dim, activ);
  }

  get styleDim(): number {
    return this.options.style_dim;
  }

  encode(x: tf.Tensor4D, ctx: ForwardContext = {}): { content: tf.Tensor4D; style: tf.Tensor2D } {
    return tf.tidy(() => ({ content: this.contentEncoder.apply(x, ctx), style: this.styleEncoder.apply(x, ctx) }));
  }

  encodeStyle(x: tf.Tensor4D, ctx: ForwardContext = {}): tf.Tensor2D {
    return this.styleEncoder.apply(x, ctx);
  }

  encodeContent(x: tf.Tensor4D, ctx: ForwardContext = {}): tf.Tensor4D {
    return this.contentEncoder.apply(x, ctx);
  }

  decode(content: tf.Tensor4D, style: tf.Tensor2D, ctx: ForwardContext = {}): tf.Tensor4D {
    return tf.tidy(() => this.decoder.apply(content, { ...ctx, adain: this.adainParams(style, ctx) }));
  }

  /** Splits the MLP output layer by layer: for each AdaIN layer, `channels` betas (bias) then `channels` gammas (weight). */
  adainParams(style: tf.Tensor2D, ctx: ForwardContext = {}): AdainParams[] {
    const flat = this.mlp.apply(style, ctx);
    const result: AdainParams[] = [];
    let offset = 0;
    for (const c of this.decoder.adainChannels()) {
      const beta = tf.slice(flat, [0, offset], [-1, c]) as tf.Tensor2D;
      const gamma = tf.slice(flat, [0, offset + c], [-1, c]) as tf.Tensor2D;
      result.push({ gamma, beta });
      offset += 2 * c;
    }
    return result;
  }

  dispose(): void {
    this.params.dispose();
  }
}

// MsImageDis (dis_a / dis_b): one PatchGAN per scale (`cnns.<scale>`), the input average-pooled between scales.
import * as tf from '@tensorflow/tfjs-core';
import { Conv2dBlock } from '../layers/conv2d-block.js';
import { ForwardContext } from '../layers/context.js';
import { avgPool3x3s2ExcludePad } from '../layers/padding.js';
import { ParamStore } from '../layers/params.js';
import { DisOptions } from './options.js';

interface ScaleNet {
  blocks: Conv2dBlock[];
  outWeight: tf.Variable;
  outBias: tf.Variable;
  outPath: string;
}

export class MsImageDis {
  readonly params = new ParamStore();
  readonly scales: ScaleNet[] = [];

  constructor(
    readonly inputDim: number,
    readonly options: DisOptions,
  ) {
    for (let s = 0; s < options.num_scales; s++) this.scales.push(this.makeNet(`cnns.${s}`));
  }

  private makeNet(path: string): ScaleNet {
    const { n_layer, norm, activ, pad_type } = this.options;
    let dim = this.options.dim;
    const common = { kernel: 4, stride: 2, padding: 1, activation: activ, padType: pad_type };
    const blocks = [new Conv2dBlock(this.params, `${path}.0`, { ...common, inDim: this.inputDim, outDim: dim, norm: 'none' })];
    for (let i = 0; i < n_layer - 1; i++, dim *= 2) {
      blocks.push(new Conv2dBlock(this.params, `${path}.${blocks.length}`, { ...common, inDim: dim, outDim: dim * 2, norm }));
    }
    const outPath = `${path}.${n_layer}`;
    const outWeight = this.params.add(`${outPath}.weight`, tf.zeros([1, 1, dim, 1]), 'conv', 'weight');
    const outBias = this.params.add(`${outPath}.bias`, tf.zeros([1]), 'vector', 'bias');
    return { blocks, outWeight, outBias, outPath };
  }

  /** One patch map [N, h, w, 1] per scale, finest first. */
  apply(x: tf.Tensor4D, ctx: ForwardContext = {}): tf.Tensor4D[] {
    return tf.tidy(() => {
      const outputs: tf.Tensor4D[] = [];
      let input = x;
      for (const [i, net] of this.scales.entries()) {
        const features = net.blocks.reduce((h, b) => b.apply(h, ctx), input);
        const out = tf.add(tf.conv2d(features, net.outWeight as tf.Tensor4D, 1, 'valid'), net.outBias) as tf.Tensor4D;
        ctx.tap?.(net.outPath, out);
        outputs.push(out);
        if (i < this.scales.length - 1) input = avgPool3x3s2ExcludePad(input);
      }
      return outputs;
    });
  }

  dispose(): void {
    this.params.dispose();
  }
}

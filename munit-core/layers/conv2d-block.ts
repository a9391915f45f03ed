// The reference's Conv2dBlock: pad, conv (with bias), norm, activation. Weights named `<path>.conv.weight` etc.
import * as tf from '@tensorflow/tfjs-core';
import { Activation, ActivationFn, makeActivation } from './activation.js';
import { ForwardContext } from './context.js';
import { batchNorm, instanceNorm, layerNorm, adaptiveInstanceNorm, Norm } from './norms.js';
import { pad2d, PadType } from './padding.js';
import { upsampleConv2d } from './upsample-conv.js';
import { ParamStore } from './params.js';

export interface Conv2dBlockArgs {
  inDim: number;
  outDim: number;
  kernel: number;
  stride: number;
  padding: number;
  norm: Norm;
  activation: Activation;
  padType: PadType;
  /** Nearest x2 upsampling first (the decoder's nn.Upsample before its 5x5 convolutions), computed by phases. */
  upsample?: boolean;
}

export class Conv2dBlock {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  private readonly normFn: (x: tf.Tensor4D, ctx: ForwardContext) => tf.Tensor4D;
  private readonly activate: ActivationFn;

  constructor(
    params: ParamStore,
    readonly path: string,
    readonly args: Conv2dBlockArgs,
  ) {
    const { inDim, outDim, kernel, norm } = args;
    if (args.upsample && (kernel !== 5 || args.padding !== 2 || args.stride !== 1))
      throw new Error(`${path}: an upsampling block is the decoder's 5x5 conv, stride 1, padding 2`);
    // The reference's state-dict order: norm, activation, then conv (the order Conv2dBlock creates them).
    this.normFn = makeNorm(norm, outDim, params, path);
    this.activate = makeActivation(args.activation, params, path);
    this.weight = params.add(`${path}.conv.weight`, tf.zeros([kernel, kernel, inDim, outDim]), 'conv', 'weight');
    this.bias = params.add(`${path}.conv.bias`, tf.zeros([outDim]), 'vector', 'bias');
  }

  apply(x: tf.Tensor4D, ctx: ForwardContext = {}): tf.Tensor4D {
    const { padding, padType, stride, upsample } = this.args;
    const y = tf.tidy(() => {
      const w = this.weight as tf.Tensor4D;
      const conv = tf.add(upsample ? upsampleConv2d(x, w, padType) : tf.conv2d(pad2d(x, padding, padType), w, stride, 'valid'), this.bias);
      return this.activate(this.normFn(conv as tf.Tensor4D, ctx)) as tf.Tensor4D;
    });
    ctx.tap?.(this.path, y);
    return y;
  }
}

function makeNorm(norm: Norm, dim: number, params: ParamStore, path: string): (x: tf.Tensor4D, ctx: ForwardContext) => tf.Tensor4D {
  switch (norm) {
    case 'none':
      return (x) => x;
    case 'in':
      return (x) => instanceNorm(x);
    case 'ln': {
      // The reference initialises gamma uniform in [0, 1) (its LayerNorm calls .uniform_()).
      const gamma = params.add(`${path}.norm.gamma`, tf.zeros([dim]), 'vector', 'uniform');
      const beta = params.add(`${path}.norm.beta`, tf.zeros([dim]), 'vector', 'constant');
      return (x) => layerNorm(x, gamma as tf.Tensor1D, beta as tf.Tensor1D);
    }
    case 'bn': {
      const weight = params.add(`${path}.norm.weight`, tf.ones([dim]), 'vector', 'constant');
      const bias = params.add(`${path}.norm.bias`, tf.zeros([dim]), 'vector', 'constant');
      params.add(`${path}.norm.running_mean`, tf.zeros([dim]), 'vector', 'constant', false);
      params.add(`${path}.norm.running_var`, tf.ones([dim]), 'vector', 'constant', false);
      return (x) => batchNorm(x, weight as tf.Tensor1D, bias as tf.Tensor1D);
    }
    case 'adain': {
      // AdaptiveInstanceNorm2d's running statistics: unused by its forward, kept for checkpoint compatibility.
      params.add(`${path}.norm.running_mean`, tf.zeros([dim]), 'vector', 'constant', false);
      params.add(`${path}.norm.running_var`, tf.ones([dim]), 'vector', 'constant', false);
      return (x, ctx) => {
        const next = ctx.adain?.shift();
        if (!next) throw new Error(`${path}: AdaIN layer run without AdaIN parameters (decode needs a style code)`);
        return adaptiveInstanceNorm(x, next.gamma, next.beta);
      };
    }
  }
}

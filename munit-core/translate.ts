// Translation between domains: the content of the input decoded with given style codes, on either engine.
import * as tf from '@tensorflow/tfjs-core';
import { eagerNodeRunner, NodeRunner } from './inspect/activations.js';
import { AdaINGen } from './networks/generator.js';

/**
 * Translates `x` (NHWC in [-1, 1]) from the source generator's domain to the target's, once per style code.
 * `styles` is [numStyles, style_dim]; returns [N * numStyles, H, W, C], input-major (all styles of input 0 first).
 */
export function translateWithStyles(source: AdaINGen, target: AdaINGen, x: tf.Tensor4D, styles: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const content = source.encodeContent(x);
    const outputs: tf.Tensor4D[] = [];
    const numStyles = styles.shape[0];
    for (let i = 0; i < x.shape[0]; i++) {
      const c = tf.slice(content, [i, 0, 0, 0], [1, -1, -1, -1]);
      const repeated = tf.tile(c, [numStyles, 1, 1, 1]) as tf.Tensor4D;
      outputs.push(target.decode(repeated, styles));
    }
    return tf.concat(outputs, 0);
  });
}

/** What the reference's sample() decodes for n images of each domain: their own, fixed and random styles. */
export interface SampleInputs {
  x_a: tf.Tensor4D;
  x_b: tf.Tensor4D;
  /** [n, style_dim] each: the fixed styles drawn at the start of training and fresh random ones. */
  s_a_fixed: tf.Tensor2D;
  s_b_fixed: tf.Tensor2D;
  s_a_random: tf.Tensor2D;
  s_b_random: tf.Tensor2D;
}

/** The reference's names: reconstructions, then translations with the fixed (1) and random (2) styles. */
export const SAMPLE_OUTPUTS = ['x_a_recon', 'x_ab1', 'x_ab2', 'x_b_recon', 'x_ba1', 'x_ba2'] as const;
export type SampleOutputs = Record<(typeof SAMPLE_OUTPUTS)[number], tf.Tensor4D>;

/** The reference's trainer.sample(): each image encoded, reconstructed with its own style, translated with both. */
export function sampleTranslations(genA: AdaINGen, genB: AdaINGen, x: SampleInputs): SampleOutputs {
  return tf.tidy(() => {
    const { content: cA, style: sA } = genA.encode(x.x_a);
    const { content: cB, style: sB } = genB.encode(x.x_b);
    return {
      x_a_recon: genA.decode(cA, sA),
      x_ab1: genB.decode(cA, x.s_b_fixed),
      x_ab2: genB.decode(cA, x.s_b_random),
      x_b_recon: genB.decode(cB, sB),
      x_ba1: genA.decode(cB, x.s_a_fixed),
      x_ba2: genA.decode(cB, x.s_a_random),
    };
  });
}

/**
 * What runs the model outside training: translateWithStyles, the style encoder, the sample grids and the activations, eagerly on tfjs or compiled into graphs on onnxruntime
 * (onnx/compiled-translator.ts). The caller owns the tensors returned; the generators' weights are read at each call,
 * so a live training job's newest weights are used.
 */
export interface Translator {
  /** One line for logs and answers, e.g. "onnxruntime cpu". */
  readonly engine: string;
  translate(source: AdaINGen, target: AdaINGen, x: tf.Tensor4D, styles: tf.Tensor2D): Promise<tf.Tensor4D>;
  /** The style code of each image of `x` under `gen`'s style encoder. */
  encodeStyle(gen: AdaINGen, x: tf.Tensor4D): Promise<tf.Tensor2D>;
  /** sampleTranslations: what the sample grids show. */
  samples(genA: AdaINGen, genB: AdaINGen, x: SampleInputs): Promise<SampleOutputs>;
  /** Node outputs for activation requests (inspect/activations.ts). */
  nodeOutputs: NodeRunner;
  dispose(): void;
}

export const eagerTranslator: Translator = {
  engine: 'tfjs',
  translate: async (source, target, x, styles) => translateWithStyles(source, target, x, styles),
  encodeStyle: async (gen, x) => tf.tidy(() => gen.encodeStyle(x)),
  samples: async (genA, genB, x) => sampleTranslations(genA, genB, x),
  nodeOutputs: eagerNodeRunner,
  dispose: () => undefined,
};

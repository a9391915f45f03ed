// Translation between domains: the content of the input decoded with given style codes, on either engine.
import * as tf from '@tensorflow/tfjs-core';
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

/**
 * What runs a translation: translateWithStyles and the style encoder, eagerly on tfjs or compiled into graphs on onnxruntime
 * (onnx/compiled-translator.ts). The caller owns the tensors returned; the generators' weights are read at each call,
 * so a live training job's newest weights are used.
 */
export interface Translator {
  /** One line for logs and answers, e.g. "onnxruntime cpu". */
  readonly engine: string;
  translate(source: AdaINGen, target: AdaINGen, x: tf.Tensor4D, styles: tf.Tensor2D): Promise<tf.Tensor4D>;
  /** The style code of each image of `x` under `gen`'s style encoder. */
  encodeStyle(gen: AdaINGen, x: tf.Tensor4D): Promise<tf.Tensor2D>;
  dispose(): void;
}

export const eagerTranslator: Translator = {
  engine: 'tfjs',
  translate: async (source, target, x, styles) => translateWithStyles(source, target, x, styles),
  encodeStyle: async (gen, x) => tf.tidy(() => gen.encodeStyle(x)),
  dispose: () => undefined,
};

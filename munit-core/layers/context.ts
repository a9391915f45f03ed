// What a forward pass may carry besides its input: AdaIN parameters to consume, and a tap for inspection.
import * as tf from '@tensorflow/tfjs-core';

/** Called with every block's output and its reference path (e.g. 'enc_content.model.0'); used by inspection. */
export type Tap = (path: string, output: tf.Tensor) => void;

/** AdaIN gamma/beta for one layer, [N, C] each. */
export interface AdainParams {
  gamma: tf.Tensor2D;
  beta: tf.Tensor2D;
}

export interface ForwardContext {
  tap?: Tap;
  /** Consumed in decoder order by the AdaIN layers, as the reference's assign_adain_params does. */
  adain?: AdainParams[];
}

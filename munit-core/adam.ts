// torch.optim.Adam with coupled (L2) weight decay: the decay is added to the gradient before the moments.
import * as tf from '@tensorflow/tfjs-core';

export interface AdamSettings {
  beta1: number;
  beta2: number;
  weightDecay: number;
  eps: number;
}

export interface AdamSlot {
  expAvg: tf.Variable;
  expAvgSq: tf.Variable;
}

/** tf.variable keeps its initial tensor alive as a separate tensor: dispose it. */
function zerosVariable(like: tf.Tensor): tf.Variable {
  const zeros = tf.zerosLike(like);
  const v = tf.variable(zeros, false);
  zeros.dispose();
  return v;
}

export class Adam {
  /** Number of steps taken (PyTorch keeps one per parameter; they always agree here). */
  step = 0;
  readonly slots: AdamSlot[];

  constructor(readonly variables: tf.Variable[], readonly settings: AdamSettings) {
    this.slots = variables.map((v) => ({ expAvg: zerosVariable(v), expAvgSq: zerosVariable(v) }));
  }

  /** Applies one update with learning rate `lr` (read per step, so it can change between iterations). */
  apply(grads: tf.Tensor[], lr: number): void {
    const { beta1, beta2, weightDecay, eps } = this.settings;
    this.step += 1;
    const bc1 = 1 - beta1 ** this.step;
    const bc2 = 1 - beta2 ** this.step;
    const stepSize = lr / bc1;
    tf.tidy(() => {
      this.variables.forEach((p, i) => {
        const { expAvg, expAvgSq } = this.slots[i];
        const g = weightDecay !== 0 ? tf.add(grads[i], tf.mul(p, weightDecay)) : grads[i];
        const m = tf.add(tf.mul(expAvg, beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(expAvgSq, beta2), tf.mul(tf.square(g), 1 - beta2));
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), eps);
        expAvg.assign(m);
        expAvgSq.assign(v);
        p.assign(tf.sub(p, tf.mul(tf.div(m, denom), stepSize)));
      });
    });
  }

  dispose(): void {
    for (const s of this.slots) {
      s.expAvg.dispose();
      s.expAvgSq.dispose();
    }
  }
}

// A seedable random stream: every random tensor of a run draws its tfjs seed from here, so a run is reproducible
// from its seed and resumable from the saved state.
import * as tf from '@tensorflow/tfjs-core';

export class Rng {
  constructor(public state: number) {
    this.state = state >>> 0;
  }

  /** mulberry32: a small, well-distributed 32-bit generator. */
  nextUint32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  normal(shape: number[], std = 1): tf.Tensor {
    return tf.randomNormal(shape, 0, std, 'float32', this.nextUint32());
  }

  uniform(shape: number[], min = 0, max = 1): tf.Tensor {
    return tf.randomUniform(shape, min, max, 'float32', this.nextUint32());
  }

  /** Fisher-Yates shuffle of 0..n-1. */
  permutation(n: number): number[] {
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    return order;
  }
}

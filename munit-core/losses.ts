// The MUNIT loss terms (trainer.py / networks.py of the reference).
import * as tf from '@tensorflow/tfjs-core';
import { instanceNorm } from './layers/norms.js';
import { GanType } from './networks/options.js';

/** recon_criterion: mean absolute error. */
export function l1(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.mean(tf.abs(tf.sub(a, b)));
}

/** D loss summed over scales: LSGAN mean(D(fake)^2) + mean((D(real)-1)^2); nsgan BCE on sigmoid outputs. */
export function disLoss(fakeOuts: tf.Tensor[], realOuts: tf.Tensor[], ganType: GanType): tf.Scalar {
  return tf.tidy(() => {
    const terms = fakeOuts.map((fake, i) => {
      const real = realOuts[i];
      if (ganType === 'lsgan') return tf.add(tf.mean(tf.square(fake)), tf.mean(tf.square(tf.sub(real, 1))));
      // BCE(sigmoid(f), 0) = softplus(f); BCE(sigmoid(r), 1) = softplus(-r): the stable forms.
      return tf.mean(tf.add(tf.softplus(fake), tf.softplus(tf.neg(real))));
    });
    return tf.addN(terms) as tf.Scalar;
  });
}

/** G adversarial loss summed over scales: LSGAN mean((D(fake)-1)^2); nsgan BCE(sigmoid(D(fake)), 1). */
export function genAdvLoss(fakeOuts: tf.Tensor[], ganType: GanType): tf.Scalar {
  return tf.tidy(() => {
    const terms = fakeOuts.map((fake) => (ganType === 'lsgan' ? tf.mean(tf.square(tf.sub(fake, 1))) : tf.mean(tf.softplus(tf.neg(fake)))));
    return tf.addN(terms) as tf.Scalar;
  });
}

/** Domain-invariant perceptual loss: MSE between instance-normalised VGG-16 relu5_3 features. */
export function vggLoss(featuresOf: (x: tf.Tensor4D) => tf.Tensor4D, img: tf.Tensor4D, target: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.squaredDifference(instanceNorm(featuresOf(img)), instanceNorm(featuresOf(target)))));
}

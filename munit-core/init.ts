// weights_init of the reference: every conv/linear weight by the chosen scheme, biases zero.
import * as tf from '@tensorflow/tfjs-core';
import { ParamEntry, ParamStore } from './layers/params.js';
import { Rng } from './random.js';
import type { InitScheme } from './config/enums.js';

/** fan_in / fan_out as PyTorch computes them for [out, in, kH, kW] or [out, in]. */
function fans(entry: ParamEntry): { fanIn: number; fanOut: number } {
  const s = entry.variable.shape as number[];
  if (entry.kind === 'conv') {
    const receptive = s[0] * s[1];
    return { fanIn: s[2] * receptive, fanOut: s[3] * receptive };
  }
  return { fanIn: s[0], fanOut: s[1] };
}

/**
 * Initialises a network's parameters. `scheme` applies to conv/linear weights (the reference's weights_init);
 * LayerNorm gammas are drawn uniform in [0, 1) as the reference's LayerNorm does at construction.
 */
export function initParams(params: ParamStore, scheme: InitScheme, rng: Rng): void {
  for (const entry of params.entries.values()) {
    const value = initialValue(entry, scheme, rng);
    if (value) {
      entry.variable.assign(value);
      value.dispose();
    }
  }
}

/** Re-initialises only the conv/linear weights and biases (the reference's second, `gaussian` pass on the discriminators). */
export function reinitWeights(params: ParamStore, scheme: InitScheme, rng: Rng): void {
  for (const entry of params.entries.values()) {
    if (entry.role !== 'weight' && entry.role !== 'bias') continue;
    const value = initialValue(entry, scheme, rng);
    if (value) {
      entry.variable.assign(value);
      value.dispose();
    }
  }
}

function initialValue(entry: ParamEntry, scheme: InitScheme, rng: Rng): tf.Tensor | undefined {
  const shape = entry.variable.shape;
  switch (entry.role) {
    case 'bias':
      return tf.zeros(shape);
    case 'uniform':
      return rng.uniform(shape);
    case 'constant':
      return undefined;
    case 'weight': {
      const { fanIn, fanOut } = fans(entry);
      switch (scheme) {
        case 'gaussian':
          return rng.normal(shape, 0.02);
        case 'kaiming': // kaiming_normal_(a=0, mode='fan_in'): gain sqrt(2)
          return rng.normal(shape, Math.sqrt(2 / fanIn));
        case 'xavier': // xavier_normal_(gain=sqrt(2))
          return rng.normal(shape, Math.sqrt(2) * Math.sqrt(2 / (fanIn + fanOut)));
        case 'orthogonal':
          return orthogonal(entry, rng);
        case 'default': {
          // PyTorch's own layer init: kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
          const bound = 1 / Math.sqrt(fanIn);
          return rng.uniform(shape, -bound, bound);
        }
      }
    }
  }
}

/** orthogonal_(gain=sqrt(2)) on the weight viewed as [out, in*kH*kW], as PyTorch does. */
function orthogonal(entry: ParamEntry, rng: Rng): tf.Tensor {
  return tf.tidy(() => {
    const s = entry.variable.shape as number[];
    const rows = entry.kind === 'conv' ? s[3] : s[1];
    const cols = entry.variable.size / rows;
    const flat = rng.normal([Math.max(rows, cols), Math.min(rows, cols)]) as tf.Tensor2D;
    const [q, r] = tf.linalg.qr(flat);
    // Make the decomposition unique (sign of R's diagonal), as torch.nn.init.orthogonal_ does.
    const d = tf.sign(tf.sum(tf.mul(r, tf.eye(r.shape[0], r.shape[1])), 0));
    let m = tf.mul(q, d) as tf.Tensor2D;
    if (rows < cols) m = tf.transpose(m);
    m = tf.mul(m, Math.SQRT2) as tf.Tensor2D; // [rows=out, cols]
    // [out, in, kH, kW] -> here [kH, kW, in, out]; [out, in] -> [in, out].
    if (entry.kind === 'conv') return tf.transpose(tf.reshape(m, [s[3], s[2], s[0], s[1]]), [2, 3, 1, 0]);
    return tf.transpose(m);
  });
}

// A flat, ordered store of a network's weights, keyed by the reference's state-dict names.
import * as tf from '@tensorflow/tfjs-core';

/**
 * How a weight is laid out here versus in the reference's PyTorch state dict:
 * - conv: here [kH, kW, in, out] (tfjs NHWC), there [out, in, kH, kW]
 * - linear: here [in, out], there [out, in]
 * - vector: the same 1-D layout on both sides (biases, norm affine parameters, PReLU slopes)
 */
export type ParamKind = 'conv' | 'linear' | 'vector';

export type ParamRole = 'weight' | 'bias' | 'uniform' | 'constant';

export interface ParamEntry {
  name: string;
  variable: tf.Variable;
  kind: ParamKind;
  /** Buffers (AdaIN/BatchNorm running statistics) are saved but never trained and not counted. */
  trainable: boolean;
  /**
   * Which initialiser applies: the config's `init` scheme ('weight' of conv/linear), zeros ('bias'),
   * uniform in [0, 1) (LayerNorm gamma), or the value it was created with ('constant').
   */
  role: ParamRole;
}

export class ParamStore {
  readonly entries = new Map<string, ParamEntry>();

  add(name: string, initial: tf.Tensor, kind: ParamKind, role: ParamRole, trainable = true): tf.Variable {
    if (this.entries.has(name)) throw new Error(`duplicate parameter name '${name}'`);
    // No tfjs variable names: they are global, and two trainers in one process would clash.
    const variable = tf.variable(initial, trainable);
    initial.dispose();
    this.entries.set(name, { name, variable, kind, trainable, role });
    return variable;
  }

  get(name: string): tf.Variable {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`no parameter named '${name}'`);
    return entry.variable;
  }

  trainableVariables(): tf.Variable[] {
    return [...this.entries.values()].filter((e) => e.trainable).map((e) => e.variable);
  }

  /** Number of trainable scalars, as PyTorch's `sum(p.numel() for p in net.parameters())`. */
  countParameters(prefix = ''): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.trainable && e.name.startsWith(prefix)) n += e.variable.size;
    return n;
  }

  dispose(): void {
    for (const e of this.entries.values()) e.variable.dispose();
    this.entries.clear();
  }
}

/** The PyTorch shape of a weight stored here. */
export function referenceShape(entry: Pick<ParamEntry, 'kind'>, shape: readonly number[]): number[] {
  switch (entry.kind) {
    case 'conv':
      return [shape[3], shape[2], shape[0], shape[1]];
    case 'linear':
      return [shape[1], shape[0]];
    case 'vector':
      return [...shape];
  }
}

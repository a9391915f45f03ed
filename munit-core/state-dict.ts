// Conversion between a network's weights and the reference's PyTorch state dict (names, shapes, memory layout).
import * as tf from '@tensorflow/tfjs-core';
import { ParamStore, referenceShape } from './layers/params.js';
import { StoredTensor, TensorMap } from './safetensors.js';

/** here [kH, kW, in, out] -> PyTorch [out, in, kH, kW]; [in, out] -> [out, in]. */
const TO_TORCH = { conv: [3, 2, 0, 1], linear: [1, 0] } as const;
/** PyTorch [out, in, kH, kW] -> here [kH, kW, in, out]; [out, in] -> [in, out]. */
const FROM_TORCH = { conv: [2, 3, 1, 0], linear: [1, 0] } as const;

/** The network's weights and buffers as PyTorch would store them, keyed `<prefix><reference name>`. */
export function toStateDict(params: ParamStore, prefix = ''): TensorMap {
  const out: TensorMap = new Map();
  for (const entry of params.entries.values()) {
    const data = tf.tidy(() => (entry.kind === 'vector' ? entry.variable : tf.transpose(entry.variable, [...TO_TORCH[entry.kind]])).dataSync() as Float32Array);
    out.set(prefix + entry.name, { dtype: 'F32', shape: referenceShape(entry, entry.variable.shape), data: Float32Array.from(data) });
  }
  return out;
}

/**
 * Assigns every weight and buffer from a PyTorch-layout state dict. Every name must be present with the reference
 * shape; `source` names the file in errors. Extra tensors under the prefix are an error too (a different architecture).
 */
export function loadStateDict(params: ParamStore, tensors: TensorMap, source: string, prefix = ''): void {
  const problems: string[] = [];
  for (const entry of params.entries.values()) {
    const stored: StoredTensor | undefined = tensors.get(prefix + entry.name);
    const expected = referenceShape(entry, entry.variable.shape);
    if (!stored) problems.push(`missing '${prefix + entry.name}' [${expected}]`);
    else if (stored.shape.join() !== expected.join()) problems.push(`'${prefix + entry.name}' is [${stored.shape}], expected [${expected}]`);
  }
  const known = new Set([...params.entries.keys()].map((n) => prefix + n));
  for (const name of tensors.keys()) if (name.startsWith(prefix) && !known.has(name)) problems.push(`unexpected '${name}'`);
  if (problems.length) {
    const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : '';
    throw new Error(`${source}: does not match this network (check the config): ${problems.slice(0, 5).join('; ')}${more}`);
  }
  for (const entry of params.entries.values()) {
    const stored = tensors.get(prefix + entry.name)!;
    tf.tidy(() => {
      const t = tf.tensor(stored.data, stored.shape);
      entry.variable.assign(entry.kind === 'vector' ? t : tf.transpose(t, [...FROM_TORCH[entry.kind]]));
    });
  }
}

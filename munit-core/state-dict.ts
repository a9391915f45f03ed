// Conversion between a network's weights and the reference's PyTorch state dict (names, shapes, memory layout).
import * as tf from '@tensorflow/tfjs-core';
import { ParamKind, ParamStore, referenceShape } from './layers/params.js';
import { StoredTensor, TensorMap } from './safetensors.js';

/** here [kH, kW, in, out] -> PyTorch [out, in, kH, kW]; [in, out] -> [out, in]. */
const TO_TORCH = { conv: [3, 2, 0, 1], linear: [1, 0] } as const;
/** PyTorch [out, in, kH, kW] -> here [kH, kW, in, out]; [out, in] -> [in, out]. */
const FROM_TORCH = { conv: [2, 3, 1, 0], linear: [1, 0] } as const;

/**
 * A tensor laid out as a weight of this kind, converted to PyTorch's layout (also used for Adam moments). Read with
 * data(), which every backend has (webgpu has no synchronous read under Node).
 */
export async function toTorchTensor(kind: ParamKind, t: tf.Tensor): Promise<StoredTensor> {
  const layout = kind === 'vector' ? t.clone() : tf.transpose(t, [...TO_TORCH[kind]]);
  const data = (await layout.data()) as Float32Array;
  layout.dispose();
  return { dtype: 'F32', shape: referenceShape({ kind }, t.shape), data: Float32Array.from(data) };
}

/** Assigns a PyTorch-layout tensor to a variable laid out as a weight of this kind. */
export function assignFromTorch(kind: ParamKind, variable: tf.Variable, stored: StoredTensor): void {
  tf.tidy(() => {
    const t = tf.tensor(stored.data, stored.shape);
    variable.assign(kind === 'vector' ? t : tf.transpose(t, [...FROM_TORCH[kind]]));
  });
}

/** The network's weights and buffers as PyTorch would store them, keyed `<prefix><reference name>`. */
export async function toStateDict(params: ParamStore, prefix = ''): Promise<TensorMap> {
  const out: TensorMap = new Map();
  // One tensor at a time: a copy of every weight at once would double the memory a checkpoint needs.
  for (const entry of params.entries.values()) out.set(prefix + entry.name, await toTorchTensor(entry.kind, entry.variable));
  return out;
}

/**
 * Checks that `tensors` holds exactly the expected names (under `prefix`) with the expected PyTorch shapes; throws
 * one error listing the first mismatches, naming `source`.
 */
export function checkTensorNames(expected: Map<string, number[]>, tensors: TensorMap, source: string, prefix = ''): void {
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const stored = tensors.get(name);
    if (!stored) problems.push(`missing '${name}' [${shape}]`);
    else if (stored.shape.join() !== shape.join()) problems.push(`'${name}' is [${stored.shape}], expected [${shape}]`);
  }
  for (const name of tensors.keys()) if (name.startsWith(prefix) && !expected.has(name)) problems.push(`unexpected '${name}'`);
  if (problems.length) {
    const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : '';
    throw new Error(`${source}: does not match this network (check the config): ${problems.slice(0, 5).join('; ')}${more}`);
  }
}

/**
 * Assigns every weight and buffer from a PyTorch-layout state dict. Every name must be present with the reference
 * shape, and nothing else may be under `prefix` (that would be a different architecture).
 */
export function loadStateDict(params: ParamStore, tensors: TensorMap, source: string, prefix = ''): void {
  const expected = new Map([...params.entries.values()].map((e) => [prefix + e.name, referenceShape(e, e.variable.shape)]));
  checkTensorNames(expected, tensors, source, prefix);
  for (const entry of params.entries.values()) assignFromTorch(entry.kind, entry.variable, tensors.get(prefix + entry.name)!);
}

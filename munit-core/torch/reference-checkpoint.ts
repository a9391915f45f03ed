// The objects the reference's trainer.save writes, read from .pt files into our tensor maps:
//   gen_%08d.pt / dis_%08d.pt   {'a': state_dict, 'b': state_dict}
//   optimizer.pt                {'gen': Adam.state_dict(), 'dis': Adam.state_dict()}
// An Adam state dict is {'state': {index: {'step', 'exp_avg', 'exp_avg_sq'}}, 'param_groups': [{..., 'params': [indices]}]},
// indices counting model.parameters() of gen_a then gen_b (so: the state-dict order without buffers).
import { StoredTensor, TensorMap } from '../safetensors.js';
import { describeValue } from './pickle.js';
import { readTorchFile, tensorValues, TorchFileError, TorchTensor } from './torch-file.js';

function toStored(t: TorchTensor): StoredTensor {
  return { dtype: 'F32', shape: [...t.shape], data: tensorValues(t) };
}

function field(map: unknown, key: string, source: string, what: string): unknown {
  if (!(map instanceof Map)) throw new TorchFileError(source, `${what} is ${describeValue(map)}, not a dict`);
  if (!map.has(key)) throw new TorchFileError(source, `${what} has no '${key}' (keys: ${[...map.keys()].slice(0, 8).map(String).join(', ')})`);
  return map.get(key);
}

function stateDict(value: unknown, source: string, what: string): TensorMap {
  if (!(value instanceof Map)) throw new TorchFileError(source, `${what} is ${describeValue(value)}, not a state dict`);
  const out: TensorMap = new Map();
  for (const [name, t] of value) {
    if (typeof name !== 'string' || !(t instanceof TorchTensor))
      throw new TorchFileError(source, `${what}: entry ${describeValue(name)} is ${describeValue(t)}, not a tensor`);
    out.set(name, toStored(t));
  }
  return out;
}

/** A gen_/dis_ file's two networks, keyed `a.<name>` and `b.<name>` as our checkpoints key them. */
export function networkPair(root: unknown, source: string): TensorMap {
  const out: TensorMap = new Map();
  for (const net of ['a', 'b']) {
    for (const [name, t] of stateDict(field(root, net, source, 'the checkpoint'), source, `'${net}'`)) out.set(`${net}.${name}`, t);
  }
  return out;
}

export function readNetworkPair(file: string): TensorMap {
  return networkPair(readTorchFile(file), file);
}

export interface TorchAdamState {
  /** Adam's step count (PyTorch keeps one per parameter; they must agree). */
  step: number;
  /** Moments by parameter index (in model.parameters() order); parameters never stepped have none. */
  moments: Map<number, { exp_avg: StoredTensor; exp_avg_sq: StoredTensor }>;
  /** How many parameters the optimizer was built over. */
  parameterCount: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

function readAdam(value: unknown, source: string, what: string): TorchAdamState {
  const groups = field(value, 'param_groups', source, what);
  if (!Array.isArray(groups) || groups.length === 0) throw new TorchFileError(source, `${what}: param_groups is ${describeValue(groups)}`);
  let parameterCount = 0;
  for (const group of groups) {
    const params = field(group, 'params', source, `${what} param group`);
    if (!Array.isArray(params)) throw new TorchFileError(source, `${what}: a param group's params is ${describeValue(params)}`);
    parameterCount += params.length;
  }
  const first = groups[0] as Map<string, unknown>;
  const betas = field(first, 'betas', source, `${what} param group`);
  const eps = field(first, 'eps', source, `${what} param group`);
  const weightDecay = field(first, 'weight_decay', source, `${what} param group`);
  if (!Array.isArray(betas) || betas.length !== 2 || !betas.every((b) => typeof b === 'number') || typeof eps !== 'number' || typeof weightDecay !== 'number') {
    throw new TorchFileError(source, `${what}: not Adam's settings (betas ${describeValue(betas)}, eps ${describeValue(eps)})`);
  }
  const state = field(value, 'state', source, what);
  if (!(state instanceof Map)) throw new TorchFileError(source, `${what}: state is ${describeValue(state)}`);
  const moments: TorchAdamState['moments'] = new Map();
  const steps = new Set<number>();
  for (const [index, s] of state) {
    if (!Number.isSafeInteger(index) || (index as number) < 0 || (index as number) >= parameterCount) {
      throw new TorchFileError(source, `${what}: state for parameter ${describeValue(index)}, but there are ${parameterCount}`);
    }
    const [m, v, step] = ['exp_avg', 'exp_avg_sq', 'step'].map((key) => field(s, key, source, `${what} state ${index}`));
    if (!(m instanceof TorchTensor) || !(v instanceof TorchTensor))
      throw new TorchFileError(source, `${what} state ${index}: exp_avg/exp_avg_sq are not tensors (not an Adam state)`);
    // `step` is a Python int before PyTorch 1.12 and a 0-d tensor since.
    const n = step instanceof TorchTensor && step.shape.length === 0 ? step.data[step.offset] : step;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new TorchFileError(source, `${what} state ${index}: step is ${describeValue(step)}`);
    steps.add(n);
    moments.set(index as number, { exp_avg: toStored(m), exp_avg_sq: toStored(v) });
  }
  if (steps.size > 1)
    throw new TorchFileError(source, `${what}: parameters were stepped different numbers of times (${[...steps].join(', ')}); one step count is needed`);
  return { step: steps.size ? [...steps][0] : 0, moments, parameterCount, betas: betas as [number, number], eps, weightDecay };
}

/** optimizer.pt's two Adam states. */
export function optimizerPair(root: unknown, source: string): { gen: TorchAdamState; dis: TorchAdamState } {
  return {
    gen: readAdam(field(root, 'gen', source, 'the optimizer file'), source, "'gen'"),
    dis: readAdam(field(root, 'dis', source, 'the optimizer file'), source, "'dis'"),
  };
}

export function readOptimizerPair(file: string): { gen: TorchAdamState; dis: TorchAdamState } {
  return optimizerPair(readTorchFile(file), file);
}

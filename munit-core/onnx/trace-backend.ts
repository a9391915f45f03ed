// A tfjs backend that computes nothing: every kernel call appends ONNX nodes to a graph. Running the model's own
// tfjs code (layers, networks, losses, the gradient tape, Adam) on it turns that code into one ONNX graph, so the
// model is defined once whatever executes it.
import * as tf from '@tensorflow/tfjs-core';
import { KernelBackend } from '@tensorflow/tfjs-core';
import type { BackendValues, DataId, DataType } from '@tensorflow/tfjs-core';
import { withMirrorPadGradientByMatMul } from '../kernels/mirror-pad-gradient.js';
import { withInstanceNormKernel } from '../layers/norms.js';
import type { OnnxProvider } from './engine-names.js';
import { GraphPort, OnnxDtype, OnnxGraph } from './graph.js';

export const TRACE_BACKEND = 'onnx-trace';
/** Outputs of one Split node in a graph for a GPU: with its input, 8 storage buffers, WebGPU's guaranteed limit. */
const SPLIT_OUTPUTS_ON_GPU = 7;

/**
 * A traced tensor. `shape` is what tfjs sees (NHWC for images); the graph stores it with its axes permuted by
 * `perm` (stored axis i is logical axis perm[i]), so images run as NCHW and convolution weights as
 * [out, in, kH, kW], the layouts onnxruntime's kernels want, without a transpose around every op.
 */
export interface TracedValue {
  shape: number[];
  dtype: DataType;
  perm: number[];
  /** Graph value name; empty for a uniform constant not yet needed in the graph. */
  name: string;
  /** Every element equals this (tf.zeros, tf.ones, scalars): kept as one number until a node needs it. */
  uniform?: number;
  /** A constant's values, for readSync and for folding. */
  values?: BackendValues;
  /** Names of this value in other layouts, made on demand. */
  views?: Map<string, string>;
}

export const identityPerm = (rank: number): number[] => Array.from({ length: rank }, (_, i) => i);
/** NHWC tensors stored as NCHW. */
export const NCHW = [0, 3, 1, 2];
/** tfjs conv filters [kH, kW, in, out] stored as PyTorch's [out, in, kH, kW]. */
export const OIHW = [3, 2, 0, 1];

export function onnxDtype(dtype: DataType): OnnxDtype {
  if (dtype === 'float32' || dtype === 'int32' || dtype === 'bool') return dtype;
  throw new Error(`the ONNX compiler does not handle ${dtype} tensors`);
}

/** The default layout of a new value of this rank: images NCHW, everything else as tfjs lays it out. */
export function defaultPerm(rank: number): number[] {
  return rank === 4 ? NCHW : identityPerm(rank);
}

export class TraceBackend extends KernelBackend {
  graph = new OnnxGraph();
  private readonly values = new WeakMap<DataId, TracedValue>();
  /** tfjs' reference counts: a variable assigned a traced tensor shares its data id. */
  private readonly refs = new WeakMap<DataId, number>();
  /** derived()'s values of the current graph. */
  private derivedValues = new Map<string, string>();
  private count = 0;

  /** Starts a new graph; values of the previous one must not be used again. */
  /** What the graph is lowered for (set by traceGraph). */
  target: TraceTarget = 'cpu';

  reset(target: TraceTarget): OnnxGraph {
    this.target = target;
    this.graph = new OnnxGraph();
    this.derivedValues = new Map();
    return this.graph;
  }

  value(dataId: DataId): TracedValue {
    const v = this.values.get(dataId);
    if (!v) throw new Error('internal: a tensor from another backend reached the ONNX trace');
    return v;
  }

  makeValue(v: TracedValue): DataId {
    const dataId = {};
    this.values.set(dataId, v);
    this.refs.set(dataId, 1);
    this.count++;
    return dataId;
  }

  /** A tensor whose value is computed in the graph, stored in layout `perm`. */
  tensorInfo(name: string, shape: number[], dtype: DataType, perm = defaultPerm(shape.length)): tf.TensorInfo {
    return { dataId: this.makeValue({ name, shape, dtype, perm }), shape, dtype };
  }

  /** A graph input as a tfjs tensor. */
  input(name: string, shape: number[], perm = defaultPerm(shape.length), dtype: DataType = 'float32'): tf.Tensor {
    this.graph.addInput({ name, dtype: onnxDtype(dtype), dims: perm.map((a) => shape[a]), perm: [...perm] });
    const info = this.tensorInfo(name, shape, dtype, perm);
    return tf.engine().makeTensorFromDataId(info.dataId, shape, dtype, this);
  }

  /** Marks a traced tensor as a graph output named `name`, stored in layout `perm`. */
  output(name: string, t: tf.Tensor, perm = defaultPerm(t.rank)): GraphPort {
    const v = this.value(t.dataId);
    const port: GraphPort = { name, dtype: onnxDtype(v.dtype), dims: perm.map((a) => v.shape[a]), perm: [...perm] };
    this.graph.addOutput(port, this.inLayout(v, perm));
    return port;
  }

  /**
   * Tensors of these shapes, stored in these layouts, read one after another from a 1-D tensor (a network group's
   * weights held as one buffer). A Split node writes them; on a GPU a tree of Splits, because one shader gets at most
   * 8 storage buffers on some adapters (WebGPU's guaranteed limit).
   */
  splitFlat(flat: tf.Tensor, parts: { shape: number[]; perm: number[] }[]): tf.Tensor[] {
    const sizes = parts.map((p) => p.shape.reduce((a, b) => a * b, 1));
    const names = this.splitTree(this.inLayout(this.value(flat.dataId), [0]), sizes);
    return parts.map(({ shape, perm }, i) => {
      const stored = this.graph.op('Reshape', [names[i], this.graph.int64s(perm.map((a) => shape[a]))]);
      const info = this.tensorInfo(stored, shape, 'float32', perm);
      return tf.engine().makeTensorFromDataId(info.dataId, shape, 'float32', this);
    });
  }

  /** The inverse of splitFlat: the tensors, each in its layout `perm`, one after another in a 1-D tensor. */
  concatFlat(parts: { t: tf.Tensor; perm: number[] }[]): tf.Tensor {
    const flat = parts.map(({ t, perm }) => this.graph.op('Reshape', [this.inLayout(this.value(t.dataId), perm), this.graph.int64s([-1])]));
    const size = parts.reduce((n, { t }) => n + t.size, 0);
    const name = flat.length === 1 ? flat[0] : this.graph.op('Concat', flat, { axis: 0 });
    return tf.engine().makeTensorFromDataId(this.tensorInfo(name, [size], 'float32', [0]).dataId, [size], 'float32', this);
  }

  /** Splits a 1-D value into pieces of `sizes`, with at most SPLIT_OUTPUTS_ON_GPU outputs per node on a GPU. */
  private splitTree(name: string, sizes: number[]): string[] {
    if (sizes.length === 1) return [name];
    const fanOut = this.target === 'gpu' ? SPLIT_OUTPUTS_ON_GPU : sizes.length;
    // Groups of pieces that fill the tree's lower levels, each split again.
    const levels = Math.ceil(Math.log(sizes.length) / Math.log(fanOut) - 1e-9);
    const perGroup = fanOut ** (levels - 1);
    const groups: number[][] = [];
    for (let i = 0; i < sizes.length; i += perGroup) groups.push(sizes.slice(i, i + perGroup));
    const total = (group: number[]) => group.reduce((a, b) => a + b, 0);
    const outputs = this.graph.node('Split', [name, this.graph.int64s(groups.map(total))], { axis: 0 }, groups.length);
    return groups.flatMap((group, i) => this.splitTree(outputs[i], group));
  }

  /**
   * A value computed from `v` alone (a filter's Winograd transform, its flip for the input gradient), made once per
   * graph however many convolutions use the same weights.
   */
  derived(v: TracedValue, key: string, make: () => string): string {
    // Keyed by the stored value, not the TracedValue: the gradient tape saves clones (Identity), which share it.
    if (v.name === '') return make();
    const id = `${key}:${v.name}:${v.perm.join(',')}`;
    let name = this.derivedValues.get(id);
    if (name === undefined) this.derivedValues.set(id, (name = make()));
    return name;
  }

  /** The graph name of `v` materialised in layout `perm` (a Transpose, or a Reshape when only 1-sized axes move). */
  inLayout(v: TracedValue, perm: readonly number[]): string {
    const key = perm.join(',');
    if (v.uniform !== undefined) {
      const cached = v.views?.get(key);
      if (cached) return cached;
      const dims = perm.map((a) => v.shape[a]);
      const name =
        dims.length === 0
          ? this.graph.scalar(v.uniform, onnxDtype(v.dtype))
          : this.graph.op('Expand', [this.graph.scalar(v.uniform, onnxDtype(v.dtype)), this.graph.int64s(dims)]);
      (v.views ??= new Map()).set(key, name);
      return name;
    }
    // A constant from tfjs data (an index map, a count table) becomes an initializer when a node first needs it.
    if (v.name === '' && v.values) v.name = this.graph.constant(v.values as ArrayLike<number>, v.shape, onnxDtype(v.dtype));
    if (v.perm.join(',') === key) return v.name;
    const cached = v.views?.get(key);
    if (cached) return cached;
    const where = v.perm.map((_, i) => i);
    const inv: number[] = [];
    v.perm.forEach((a, i) => (inv[a] = where[i]));
    // Stored axis i of the result is logical axis perm[i], which the value stores at inv[perm[i]].
    const t = perm.map((a) => inv[a]);
    const nonUnit = t.filter((a) => v.perm.map((l) => v.shape[l])[a] !== 1);
    const orderKept = nonUnit.every((a, i) => i === 0 || a > nonUnit[i - 1]);
    const name = orderKept
      ? this.graph.op('Reshape', [v.name, this.graph.int64s(perm.map((a) => v.shape[a]))])
      : this.graph.op('Transpose', [v.name], { perm: t });
    (v.views ??= new Map()).set(key, name);
    return name;
  }

  // --- KernelBackend ------------------------------------------------------------------------------------------

  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    return this.makeValue(constantValue(values, shape, dtype));
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    this.values.set(dataId, constantValue(values, shape, dtype));
    this.refs.set(dataId, refCount);
    this.count++;
  }

  override readSync(dataId: DataId): BackendValues {
    const v = this.value(dataId);
    if (v.values) return v.values;
    if (v.uniform !== undefined) return new Float32Array(v.shape.reduce((a, b) => a * b, 1)).fill(v.uniform);
    throw new Error('a traced tensor has no value until the ONNX graph runs (was a loss read inside the compiled step?)');
  }

  override async read(dataId: DataId): Promise<BackendValues> {
    return this.readSync(dataId);
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const refs = (this.refs.get(dataId) ?? 1) - 1;
    if (refs > 0 && !force) {
      this.refs.set(dataId, refs);
      return false;
    }
    if (this.values.delete(dataId)) this.count--;
    this.refs.delete(dataId);
    return true;
  }

  override refCount(dataId: DataId): number {
    return this.refs.get(dataId) ?? 0;
  }

  override incRef(dataId: DataId): void {
    this.refs.set(dataId, (this.refs.get(dataId) ?? 0) + 1);
  }

  override numDataIds(): number {
    return this.count;
  }

  override memory(): { unreliable: boolean } {
    return { unreliable: true };
  }

  override floatPrecision(): 32 {
    return 32;
  }

  override epsilon(): number {
    return 1e-7;
  }

  override timerAvailable(): boolean {
    return false;
  }

  override async time(f: () => void): Promise<{ kernelMs: number }> {
    f();
    return { kernelMs: 0 };
  }

  override dispose(): void {}
}

/** A constant from tfjs data; uniform arrays (tf.zeros, tf.ones, scalars) stay one number. */
function constantValue(values: BackendValues, shape: number[], dtype: DataType): TracedValue {
  const array = values as ArrayLike<number>;
  let uniform: number | undefined = array.length > 0 ? Number(array[0]) : 0;
  for (let i = 1; i < array.length && uniform !== undefined; i++) if (array[i] !== array[0]) uniform = undefined;
  return { shape, dtype, perm: identityPerm(shape.length), name: '', uniform, values };
}

let backend: TraceBackend | undefined;

/** The trace backend, registered with tfjs on first use. */
export function traceBackend(): TraceBackend {
  if (!backend) {
    const instance = new TraceBackend();
    tf.registerBackend(TRACE_BACKEND, () => instance, -1);
    backend = instance;
  }
  return backend;
}

/**
 * What a graph is lowered for. On a CPU, kernel calls are cheap (about 1 us each in onnxruntime) and multiplies are
 * not, so convolutions run as Winograd and the MirrorPad gradient as slices. On a GPU each kernel call costs tens of
 * microseconds of host time (34 us on onnxruntime's WebGPU over software Vulkan) and multiplies are cheap, so the
 * graph keeps plain convolutions and writes the MirrorPad gradient as two matrix products.
 */
export type TraceTarget = 'cpu' | 'gpu';

export const traceTargetOf = (provider: OnnxProvider): TraceTarget => (provider === 'cpu' ? 'cpu' : 'gpu');

/**
 * Runs `build` with the trace backend active and returns the graph it recorded, lowered for `target`. The switch of
 * backend is synchronous (both are initialised), and so is `build`, so no other tfjs work can interleave.
 */
export function traceGraph<T>(build: (b: TraceBackend) => T, target: TraceTarget = 'cpu'): { graph: OnnxGraph; result: T } {
  const b = traceBackend();
  const previous = tf.getBackend();
  const graph = b.reset(target);
  void tf.setBackend(TRACE_BACKEND);
  if (tf.getBackend() !== TRACE_BACKEND) throw new Error('internal: the trace backend did not become active synchronously');
  try {
    const traced = () => withInstanceNormKernel(() => build(b));
    return { graph, result: target === 'gpu' ? withMirrorPadGradientByMatMul(traced) : traced() };
  } finally {
    void tf.setBackend(previous);
  }
}

// The trace backend's kernels: for each tfjs kernel MUNIT's forward pass, its gradients and Adam call, the ONNX
// nodes that compute it. The gradient rules are tfjs' own (and ours in layers/ and kernels/): the tape runs them on
// this backend, so they become nodes like everything else. Shapes follow tfjs' own shape functions.
import * as tf from '@tensorflow/tfjs-core';
import { backend_util, registerKernel, slice_util, util } from '@tensorflow/tfjs-core';
import type { DataType, KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { defaultPerm, identityPerm, NCHW, OIHW, onnxDtype, TRACE_BACKEND, TraceBackend, TracedValue } from './trace-backend.js';
import type { OnnxGraph } from './graph.js';
import { CENTRED_INSTANCE_NORM } from '../layers/norms.js';
import { winogradApplies, winogradConv, winogradFilter, winogradFilterGradient, winogradInput, WINOGRAD_LAYOUT } from './winograd.js';

type Inputs = Record<string, TensorInfo>;
type Kernel = (b: TraceBackend, inputs: Inputs, attrs: NamedAttrMap) => TensorInfo | TensorInfo[];

const ONNX_TYPE = { float32: 1, int32: 6, bool: 9 } as const;
const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function uniformInfo(b: TraceBackend, value: number, shape: number[], dtype: DataType): TensorInfo {
  return { dataId: b.makeValue({ name: '', shape, dtype, perm: identityPerm(shape.length), uniform: value }), shape, dtype };
}

function result(b: TraceBackend, name: string, shape: number[], dtype: DataType, perm: number[]): TensorInfo {
  return b.tensorInfo(name, shape, dtype, perm);
}

/** The layout an elementwise op computes in: that of a full-shape computed operand, else the default. */
function commonPerm(shape: number[], operands: TracedValue[]): number[] {
  const full = operands.find((v) => v.uniform === undefined && v.shape.length === shape.length && v.shape.every((d, i) => d === shape[i]));
  const ranked = full ?? operands.find((v) => v.uniform === undefined && v.shape.length === shape.length);
  return ranked ? ranked.perm : defaultPerm(shape.length);
}

/** `v` as an operand of an op of rank `rank` computed in layout `perm` (numpy broadcasting, right-aligned). */
function operand(b: TraceBackend, v: TracedValue, rank: number, perm: number[]): string {
  if (v.uniform !== undefined) return b.graph.scalar(v.uniform, onnxDtype(v.dtype));
  if (v.shape.length === rank) return b.inLayout(v, perm);
  const padded = [...Array(rank - v.shape.length).fill(1), ...v.shape];
  const rowMajor = b.inLayout(v, identityPerm(v.shape.length));
  const name = b.graph.op('Reshape', [rowMajor, b.graph.int64s(padded)]);
  return b.inLayout({ name, shape: padded, dtype: v.dtype, perm: identityPerm(rank) }, perm);
}

const FOLD: Record<string, (a: number, c: number) => number> = {
  Add: (a, c) => a + c,
  Sub: (a, c) => a - c,
  Mul: (a, c) => a * c,
  Div: (a, c) => a / c,
  Max: (a, c) => Math.max(a, c),
  Min: (a, c) => Math.min(a, c),
  Pow: (a, c) => a ** c,
  Greater: (a, c) => Number(a > c),
  GreaterOrEqual: (a, c) => Number(a >= c),
  Less: (a, c) => Number(a < c),
  LessOrEqual: (a, c) => Number(a <= c),
  Equal: (a, c) => Number(a === c),
  And: (a, c) => Number(Boolean(a) && Boolean(c)),
};

function binary(op: string, outDtype?: DataType): Kernel {
  return (b, inputs) => {
    const [ta, tb] = [inputs.a, inputs.b];
    const [va, vb] = [b.value(ta.dataId), b.value(tb.dataId)];
    const shape = backend_util.assertAndGetBroadcastShape(va.shape, vb.shape);
    const dtype = outDtype ?? ta.dtype;
    if (va.uniform !== undefined && vb.uniform !== undefined) return uniformInfo(b, FOLD[op](va.uniform, vb.uniform), shape, dtype);
    const perm = commonPerm(shape, [va, vb]);
    // x * 1, x + 0, x - 0, x / 1: no node, or an Expand when the constant widens x (tfjs' mean gradient: dy * ones).
    const neutral = (v: TracedValue, other: TracedValue, side: 'a' | 'b') =>
      v.uniform !== undefined &&
      other.dtype === dtype &&
      ((op === 'Mul' && v.uniform === 1) ||
        (op === 'Add' && v.uniform === 0) ||
        (side === 'b' && ((op === 'Sub' && v.uniform === 0) || (op === 'Div' && v.uniform === 1))));
    for (const [v, other, side] of [
      [va, vb, 'a'],
      [vb, va, 'b'],
    ] as const) {
      if (!neutral(v, other, side)) continue;
      const x = operand(b, other, shape.length, perm);
      const same = other.shape.length === shape.length && other.shape.every((d, i) => d === shape[i]);
      return result(b, same ? x : b.graph.op('Expand', [x, b.graph.int64s(perm.map((a) => shape[a]))]), shape, dtype, perm);
    }
    let [na, nb] = [operand(b, va, shape.length, perm), operand(b, vb, shape.length, perm)];
    // A uniform operand stands in as a scalar; when it is the one that sets the shape, widen the other.
    const widen = (v: TracedValue, n: string) =>
      v.uniform === undefined && (v.shape.length !== shape.length || v.shape.some((d, i) => d !== shape[i])) && sizeOf(v.shape) !== sizeOf(shape)
        ? b.graph.op('Expand', [n, b.graph.int64s(perm.map((a) => shape[a]))])
        : n;
    if (va.uniform !== undefined) nb = widen(vb, nb);
    if (vb.uniform !== undefined) na = widen(va, na);
    return result(b, b.graph.op(op, [na, nb]), shape, dtype, perm);
  };
}

function unary(op: string | ((b: TraceBackend, x: string, attrs: NamedAttrMap) => string), fold?: (x: number, attrs: NamedAttrMap) => number): Kernel {
  return (b, inputs, attrs) => {
    const x = inputs.x;
    const v = b.value(x.dataId);
    if (v.uniform !== undefined && fold) return uniformInfo(b, fold(v.uniform, attrs), v.shape, x.dtype);
    const input = b.inLayout(v, v.perm);
    const name = typeof op === 'string' ? b.graph.op(op, [input]) : op(b, input, attrs);
    return result(b, name, v.shape, x.dtype, v.perm);
  };
}

function reduce(op: 'ReduceSum' | 'ReduceMean' | 'ReduceMax' | 'ReduceMin', fold: (u: number, n: number) => number): Kernel {
  return (b, inputs, attrs) => {
    const x = inputs.x;
    const v = b.value(x.dataId);
    const axes = util.parseAxisParam(attrs.axis as number | number[], v.shape);
    const keepShape = v.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const outShape = attrs.keepDims ? keepShape : v.shape.filter((_, i) => !axes.includes(i));
    if (v.uniform !== undefined) return uniformInfo(b, fold(v.uniform, sizeOf(axes.map((a) => v.shape[a]))), outShape, x.dtype);
    if (axes.length === 0) return result(b, b.inLayout(v, v.perm), outShape, x.dtype, v.perm);
    const stored = axes.map((a) => v.perm.indexOf(a)).sort((p, q) => p - q);
    const input = b.inLayout(v, v.perm);
    // ReduceSum takes its axes as an input from opset 13, the others still as an attribute at opset 17.
    const name = op === 'ReduceSum' ? b.graph.op(op, [input, b.graph.int64s(stored)], { keepdims: 1 }) : b.graph.op(op, [input], { axes: stored, keepdims: 1 });
    const kept: TracedValue = { name, shape: keepShape, dtype: x.dtype, perm: v.perm };
    if (attrs.keepDims) return result(b, name, keepShape, x.dtype, v.perm);
    return reshapeValue(b, kept, outShape);
  };
}

/**
 * The axes of a reshape in groups whose sizes match ([2, 6] -> [2, 3, 2]: {0} -> {0}, {1} -> {1, 2}), 1-sized axes
 * left out; undefined when there are none to group.
 */
function reshapeGroups(from: number[], to: number[]): { ins: number[]; outs: number[] }[] | undefined {
  const [ins, outs] = [from, to].map((s) => s.flatMap((d, a) => (d === 1 ? [] : [a])));
  if (ins.length === 0 || from.includes(0)) return undefined;
  const groups: { ins: number[]; outs: number[] }[] = [];
  let [i, j] = [0, 0];
  while (i < ins.length) {
    const g = { ins: [ins[i]], outs: [outs[j]] };
    let [p, q] = [from[ins[i++]], to[outs[j++]]];
    while (p !== q) {
      if (p < q) p *= from[(g.ins.push(ins[i]), ins[i++])];
      else q *= to[(g.outs.push(outs[j]), outs[j++])];
    }
    groups.push(g);
  }
  return groups;
}

/**
 * A reshape that keeps the stored order of the axes it merges or splits: [N, 2H, 2W, C] stored NCHW reshaped to
 * [N, H, 2, W, 2, C] stays [N, C, H, 2, W, 2] in memory. Only groups of merged axes not stored next to each other
 * (in order) make it move data, once, into the stored order nearest the input's.
 */
function reshapeValue(b: TraceBackend, v: TracedValue, shape: number[]): TensorInfo {
  if (v.uniform !== undefined) return uniformInfo(b, v.uniform, shape, v.dtype);
  if (shape.length === v.shape.length && shape.every((d, i) => d === v.shape[i])) return result(b, b.inLayout(v, v.perm), shape, v.dtype, v.perm);
  const groups = reshapeGroups(v.shape, shape);
  if (!groups) return result(b, b.graph.op('Reshape', [b.inLayout(v, v.perm), b.graph.int64s(shape)]), shape, v.dtype, identityPerm(shape.length));
  const storedAt = (a: number) => v.perm.indexOf(a);
  groups.sort((g, h) => Math.min(...g.ins.map(storedAt)) - Math.min(...h.ins.map(storedAt)));
  const inOrder = groups.flatMap((g) => g.ins);
  const units = (s: number[]) => s.flatMap((d, a) => (d === 1 ? [a] : []));
  const inPerm = [...inOrder, ...units(v.shape)];
  const outPerm = [...groups.flatMap((g) => g.outs), ...units(shape)];
  const name = b.graph.op('Reshape', [b.inLayout(v, inPerm), b.graph.int64s(outPerm.map((a) => shape[a]))]);
  return result(b, name, shape, v.dtype, outPerm);
}

function nchw(b: TraceBackend, t: TensorInfo): string {
  return b.inLayout(b.value(t.dataId), NCHW);
}

/** [top, left, bottom, right] for ONNX from tfjs' pad info. */
function onnxPads(info: backend_util.Conv2DInfo): number[] {
  const p = info.padInfo;
  return [p.top, p.left, p.bottom, p.right];
}

function convInfo(xShape: number[], filterShape: number[], attrs: NamedAttrMap): backend_util.Conv2DInfo {
  const { strides, pad, dilations, dimRoundingMode, dataFormat } = attrs as unknown as tf.Conv2DAttrs;
  if (dataFormat !== undefined && dataFormat !== 'NHWC') throw new Error(`the ONNX compiler takes NHWC convolutions, got ${dataFormat}`);
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations ?? 1,
    pad,
    dimRoundingMode,
  );
}

/** x with the convolution's own zero padding (MUNIT's reflect padding is an op before it, already in x). */
function paddedInput(g: OnnxGraph, xName: string, info: backend_util.Conv2DInfo): string {
  const p = info.padInfo;
  if (p.top + p.bottom + p.left + p.right === 0) return xName;
  return g.op('Pad', [xName, g.int64s([0, 0, p.top, p.left, 0, 0, p.bottom, p.right])], { mode: 'constant' });
}

/** n images of `channels` x `pixels` values as one [channels, n * pixels] matrix for a GEMM (a reshape when n = 1). */
function channelsByPixels(g: OnnxGraph, name: string, n: number, channels: number, pixels: number): string {
  if (n === 1) return g.op('Reshape', [name, g.int64s([channels, pixels])]);
  const byImage = g.op('Reshape', [name, g.int64s([n, channels, pixels])]);
  return g.op('Reshape', [g.op('Transpose', [byImage], { perm: [1, 0, 2] }), g.int64s([channels, n * pixels])]);
}

/**
 * The filter gradient of a convolution, dW[o, c, i, j] = sum over n, y, x of dy[n, o, y, x] x[n, c, s y + i, s x + j]:
 * per tap (i, j) one strided Slice of x and one GEMM against dy, stacked into [co, ci, kh, kw].
 */
function filterGradient(b: TraceBackend, xName: string, dyName: string, info: backend_util.Conv2DInfo): string {
  const g = b.graph;
  const {
    filterHeight: kh,
    filterWidth: kw,
    strideHeight: sh,
    strideWidth: sw,
    outHeight: ho,
    outWidth: wo,
    batchSize: n,
    inChannels: ci,
    outChannels: co,
  } = info;
  const padded = paddedInput(g, xName, info);
  const flat = (name: string, channels: number) => channelsByPixels(g, name, n, channels, ho * wo);
  const dy = flat(dyName, co);
  const taps: string[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const whole = i === 0 && j === 0 && sh === 1 && sw === 1 && kh === 1 && kw === 1;
      const s = whole
        ? padded
        : g.op('Slice', [padded, g.int64s([i, j]), g.int64s([i + sh * (ho - 1) + 1, j + sw * (wo - 1) + 1]), g.int64s([2, 3]), g.int64s([sh, sw])]);
      const tap = g.op('Gemm', [dy, flat(s, ci)], { transB: 1 });
      taps.push(kh * kw === 1 ? tap : g.op('Unsqueeze', [tap, g.int64s([2])]));
    }
  }
  const stacked = taps.length === 1 ? taps[0] : g.op('Concat', taps, { axis: 2 });
  return g.op('Reshape', [stacked, g.int64s([co, ci, kh, kw])]);
}

/**
 * The filter gradient as one GEMM over an im2col matrix: x as n * ci one-channel images, convolved with kh * kw
 * one-hot filters, gives every tap's window ([n * ci, kh * kw, Ho, Wo]); dW [co, ci * kh * kw] = dy [co, n Ho Wo]
 * times its transpose, already in PyTorch's [out, in, kH, kW] order.
 */
function filterGradientByIm2col(b: TraceBackend, xName: string, dyName: string, info: backend_util.Conv2DInfo): string {
  const g = b.graph;
  const { filterHeight: kh, filterWidth: kw, outHeight: ho, outWidth: wo, batchSize: n, inChannels: ci, outChannels: co } = info;
  const p = info.padInfo;
  const padded = paddedInput(g, xName, info);
  const taps = kh * kw;
  const oneHot = new Float32Array(taps * taps);
  for (let t = 0; t < taps; t++) oneHot[t * taps + t] = 1;
  const images = g.op('Reshape', [padded, g.int64s([n * ci, 1, info.inHeight + p.top + p.bottom, info.inWidth + p.left + p.right])]);
  const windows = g.op('Conv', [images, g.constant(oneHot, [taps, 1, kh, kw], 'float32')], {
    kernel_shape: [kh, kw],
    strides: [info.strideHeight, info.strideWidth],
    dilations: [info.dilationHeight, info.dilationWidth],
  });
  const cols = channelsByPixels(g, windows, n, ci * taps, ho * wo);
  const dy = channelsByPixels(g, dyName, n, co, ho * wo);
  return g.op('Reshape', [g.op('Gemm', [dy, cols], { transB: 1 }), g.int64s([co, ci, kh, kw])]);
}

/**
 * The filter gradient as one convolution: x with its channels as the batch ([ci, n, H, W]) correlated with dy as
 * co filters of n channels ([co, n, Ho, Wo]) dilated by the stride gives dW as [ci, co, kh, kw].
 */
function filterGradientByConv(b: TraceBackend, inputs: Inputs, info: backend_util.Conv2DInfo): string {
  const x = b.inLayout(b.value(inputs.x.dataId), [3, 0, 1, 2]);
  const dy = b.inLayout(b.value(inputs.dy.dataId), [3, 0, 1, 2]);
  const p = info.padInfo;
  return b.graph.op('Conv', [x, dy], {
    kernel_shape: [info.outHeight, info.outWidth],
    dilations: [info.strideHeight, info.strideWidth],
    pads: [p.top, p.left, p.bottom, p.right],
  });
}

function pool(b: TraceBackend, op: 'AveragePool' | 'MaxPool', x: TensorInfo, attrs: NamedAttrMap, extra: Record<string, number> = {}): TensorInfo {
  const info = poolInfo(x.shape, attrs);
  const name = b.graph.op(op, [nchw(b, x)], {
    kernel_shape: [info.filterHeight, info.filterWidth],
    strides: [info.strideHeight, info.strideWidth],
    pads: onnxPads(info),
    ...extra,
  });
  return result(b, name, info.outShape, 'float32', NCHW);
}

/**
 * instanceNorm's normalisation of a centred map (layers/norms.ts): one LayerNormalization over its rows stored as
 * [N*C, H*W], whose InvStdDev output is r. The map comes centred because LayerNormalization on WebGPU takes the
 * variance as mean(x^2) - mean^2: for a channel of mean 10 and spread 0.01 that put y 0.15 off, against 1e-7 centred.
 */
const centredInstanceNorm: Kernel = (b, inputs, attrs) => {
  const v = b.value(inputs.x.dataId);
  const [n, h, w, c] = v.shape;
  const rows = b.graph.op('Reshape', [b.inLayout(v, NCHW), b.graph.int64s([n * c, h * w])]);
  const ones = b.graph.constant(new Array<number>(h * w).fill(1), [h * w], 'float32');
  const [yRows, , invStd] = b.graph.node('LayerNormalization', [rows, ones], { axis: -1, epsilon: { f: attrs.eps as number } }, 3);
  return [
    result(b, b.graph.op('Reshape', [yRows, b.graph.int64s([n, c, h, w])]), v.shape, 'float32', NCHW),
    result(b, b.graph.op('Reshape', [invStd, b.graph.int64s([n, c, 1, 1])]), [n, 1, 1, c], 'float32', NCHW),
  ];
};

const kernels: Record<string, Kernel> = {
  [CENTRED_INSTANCE_NORM]: centredInstanceNorm,
  Add: binary('Add'),
  Sub: binary('Sub'),
  Multiply: binary('Mul'),
  RealDiv: binary('Div'),
  Maximum: binary('Max'),
  Minimum: binary('Min'),
  Pow: binary('Pow'),
  Greater: binary('Greater', 'bool'),
  GreaterEqual: binary('GreaterOrEqual', 'bool'),
  Less: binary('Less', 'bool'),
  LessEqual: binary('LessOrEqual', 'bool'),
  Equal: binary('Equal', 'bool'),
  LogicalAnd: binary('And', 'bool'),
  SquaredDifference: (b, inputs, attrs) => {
    const d = kernels.Sub(b, inputs, attrs) as TensorInfo;
    return kernels.Multiply(b, { a: d, b: d }, {}) as TensorInfo;
  },

  Relu: unary('Relu', (x) => Math.max(0, x)),
  Tanh: unary('Tanh', Math.tanh),
  Sigmoid: unary('Sigmoid', (x) => 1 / (1 + Math.exp(-x))),
  Softplus: unary('Softplus', (x) => Math.log1p(Math.exp(x))),
  Selu: unary('Selu'),
  Elu: unary('Elu'),
  Abs: unary('Abs', Math.abs),
  Neg: unary('Neg', (x) => -x),
  Sign: unary('Sign', Math.sign),
  Sqrt: unary('Sqrt', Math.sqrt),
  Rsqrt: unary(
    (b, x) => b.graph.op('Reciprocal', [b.graph.op('Sqrt', [x])]),
    (x) => 1 / Math.sqrt(x),
  ),
  Reciprocal: unary('Reciprocal', (x) => 1 / x),
  Square: unary(
    (b, x) => b.graph.op('Mul', [x, x]),
    (x) => x * x,
  ),
  Exp: unary('Exp', Math.exp),
  Log: unary('Log', Math.log),
  Log1p: unary((b, x) => b.graph.op('Log', [b.graph.op('Add', [x, b.graph.scalar(1)])]), Math.log1p),
  Floor: unary('Floor', Math.floor),
  LeakyRelu: unary((b, x, attrs) => b.graph.op('LeakyRelu', [x], { alpha: { f: attrs.alpha as number } })),
  Step: unary(
    (b, x, attrs) => b.graph.op('Where', [b.graph.op('Greater', [x, b.graph.scalar(0)]), b.graph.scalar(1), b.graph.scalar(attrs.alpha as number)]),
    (x, attrs) => (x > 0 ? 1 : (attrs.alpha as number)),
  ),
  ClipByValue: unary(
    (b, x, attrs) => b.graph.op('Clip', [x, b.graph.scalar(attrs.clipValueMin as number), b.graph.scalar(attrs.clipValueMax as number)]),
    (x, attrs) => Math.min(Math.max(x, attrs.clipValueMin as number), attrs.clipValueMax as number),
  ),
  Prelu: (b, inputs) => {
    const v = b.value(inputs.x.dataId);
    const slope = operand(b, b.value(inputs.alpha.dataId), v.shape.length, v.perm);
    return result(b, b.graph.op('PRelu', [b.inLayout(v, v.perm), slope]), v.shape, 'float32', v.perm);
  },
  Select: (b, inputs) => {
    const [c, t, e] = [inputs.condition, inputs.t, inputs.e].map((x) => b.value(x.dataId));
    const shape = t.shape;
    const perm = commonPerm(shape, [t, e, c]);
    const names = [c, t, e].map((v) => (v.uniform !== undefined && v === c ? b.inLayout(v, perm) : operand(b, v, shape.length, perm)));
    return result(b, b.graph.op('Where', names), shape, inputs.t.dtype, perm);
  },
  Cast: (b, inputs, attrs) => {
    const v = b.value(inputs.x.dataId);
    const dtype = attrs.dtype as DataType;
    if (v.uniform !== undefined) return uniformInfo(b, dtype === 'bool' ? Number(v.uniform !== 0) : v.uniform, v.shape, dtype);
    if (dtype === v.dtype) return result(b, b.inLayout(v, v.perm), v.shape, dtype, v.perm);
    return result(b, b.graph.op('Cast', [b.inLayout(v, v.perm)], { to: ONNX_TYPE[onnxDtype(dtype) as keyof typeof ONNX_TYPE] }), v.shape, dtype, v.perm);
  },
  Identity: (b, inputs) => {
    const v = b.value(inputs.x.dataId);
    return { dataId: b.makeValue({ ...v }), shape: v.shape, dtype: v.dtype };
  },
  ZerosLike: (b, inputs) => uniformInfo(b, 0, inputs.x.shape, inputs.x.dtype),
  OnesLike: (b, inputs) => uniformInfo(b, 1, inputs.x.shape, inputs.x.dtype),
  Fill: (b, _inputs, attrs) => uniformInfo(b, attrs.value as number, attrs.shape as number[], (attrs.dtype as DataType) ?? 'float32'),

  Reshape: (b, inputs, attrs) => {
    const v = b.value(inputs.x.dataId);
    return reshapeValue(b, v, util.inferFromImplicitShape(attrs.shape as number[], sizeOf(v.shape)));
  },
  Transpose: (b, inputs, attrs) => {
    // Free: the same stored data, read with a composed permutation.
    const v = b.value(inputs.x.dataId);
    const q = attrs.perm as number[];
    const shape = q.map((a) => v.shape[a]);
    if (v.uniform !== undefined) return uniformInfo(b, v.uniform, shape, v.dtype);
    const qInv: number[] = [];
    q.forEach((a, k) => (qInv[a] = k));
    return result(
      b,
      b.inLayout(v, v.perm),
      shape,
      v.dtype,
      v.perm.map((a) => qInv[a]),
    );
  },
  Sum: reduce('ReduceSum', (u, n) => u * n),
  Mean: reduce('ReduceMean', (u) => u),
  Max: reduce('ReduceMax', (u) => u),
  Min: reduce('ReduceMin', (u) => u),
  AddN: (b, inputs) => {
    const list = (inputs as unknown as TensorInfo[]).map((t) => b.value(t.dataId));
    const shape = list[0].shape;
    if (list.every((v) => v.uniform !== undefined))
      return uniformInfo(
        b,
        list.reduce((s, v) => s + v.uniform!, 0),
        shape,
        'float32',
      );
    const perm = commonPerm(shape, list);
    const names = list.map((v) => (v.uniform !== undefined ? b.inLayout(v, perm) : operand(b, v, shape.length, perm)));
    return result(b, names.length === 1 ? names[0] : b.graph.op('Sum', names), shape, 'float32', perm);
  },
  Concat: (b, inputs, attrs) => {
    const list = (inputs as unknown as TensorInfo[]).map((t) => b.value(t.dataId)).filter((v) => sizeOf(v.shape) > 0);
    const axis = util.parseAxisParam(attrs.axis as number, list[0].shape)[0];
    const shape = list[0].shape.map((d, i) => (i === axis ? list.reduce((s, v) => s + v.shape[axis], 0) : d));
    if (list.length === 1) return result(b, b.inLayout(list[0], list[0].perm), shape, list[0].dtype, list[0].perm);
    const perm = commonPerm(
      list[0].shape,
      list.filter((v) => v.uniform === undefined),
    );
    return result(
      b,
      b.graph.op(
        'Concat',
        list.map((v) => b.inLayout(v, perm)),
        { axis: perm.indexOf(axis) },
      ),
      shape,
      list[0].dtype,
      perm,
    );
  },
  Pack: (b, inputs, attrs) => {
    const list = (inputs as unknown as TensorInfo[]).map((t) => b.value(t.dataId));
    const axis = attrs.axis as number;
    const expanded = list[0].shape.slice();
    expanded.splice(axis, 0, 1);
    const pieces = list.map((v) => b.value(reshapeValue(b, v, expanded).dataId));
    const shape = expanded.map((d, i) => (i === axis ? list.length : d));
    const perm = identityPerm(shape.length);
    return result(
      b,
      b.graph.op(
        'Concat',
        pieces.map((v) => b.inLayout(v, perm)),
        { axis },
      ),
      shape,
      list[0].dtype,
      perm,
    );
  },
  Slice: (b, inputs, attrs) => {
    const v = b.value(inputs.x.dataId);
    const [begin, size] = slice_util.parseSliceParams(inputs.x as tf.Tensor, attrs.begin as number[], attrs.size as number[]);
    if (v.uniform !== undefined) return uniformInfo(b, v.uniform, size, v.dtype);
    const axes = v.perm.map((_, i) => i).filter((i) => begin[v.perm[i]] !== 0 || size[v.perm[i]] !== v.shape[v.perm[i]]);
    if (axes.length === 0) return result(b, b.inLayout(v, v.perm), size, v.dtype, v.perm);
    const starts = axes.map((i) => begin[v.perm[i]]);
    const ends = axes.map((i) => begin[v.perm[i]] + size[v.perm[i]]);
    const name = b.graph.op('Slice', [b.inLayout(v, v.perm), b.graph.int64s(starts), b.graph.int64s(ends), b.graph.int64s(axes)]);
    return result(b, name, size, v.dtype, v.perm);
  },
  SplitV: (b, inputs, attrs) => {
    const v = b.value(inputs.x.dataId);
    const axis = util.parseAxisParam(attrs.axis as number, v.shape)[0];
    const sizes = backend_util.prepareSplitSize(inputs.x as tf.Tensor, attrs.numOrSizeSplits as number | number[], axis);
    const stored = v.perm.indexOf(axis);
    let begin = 0;
    return sizes.map((size) => {
      const shape = v.shape.map((d, i) => (i === axis ? size : d));
      const start = begin;
      begin += size;
      if (v.uniform !== undefined) return uniformInfo(b, v.uniform, shape, v.dtype);
      const name = b.graph.op('Slice', [b.inLayout(v, v.perm), b.graph.int64s([start]), b.graph.int64s([start + size]), b.graph.int64s([stored])]);
      return result(b, name, shape, v.dtype, v.perm);
    });
  },
  Unpack: (b, inputs, attrs) => {
    // tf.unstack (the gradient of tf.stack): one Slice per index along the axis, each reshaped without it.
    const v = b.value(inputs.value.dataId);
    const axis = util.parseAxisParam(attrs.axis as number, v.shape)[0];
    const shape = v.shape.filter((_, i) => i !== axis);
    if (v.uniform !== undefined) return Array.from({ length: v.shape[axis] }, () => uniformInfo(b, v.uniform!, shape, v.dtype));
    return Array.from({ length: v.shape[axis] }, (_, k) => {
      const name = b.graph.op('Slice', [b.inLayout(v, v.perm), b.graph.int64s([k]), b.graph.int64s([k + 1]), b.graph.int64s([v.perm.indexOf(axis)])]);
      return reshapeValue(b, { name, shape: v.shape.map((d, i) => (i === axis ? 1 : d)), dtype: v.dtype, perm: v.perm }, shape);
    });
  },
  Reverse: (b, inputs, attrs) => {
    const v = b.value(inputs.x.dataId);
    const dims = util.parseAxisParam(attrs.dims as number | number[], v.shape).filter((a) => v.shape[a] > 1);
    if (v.uniform !== undefined || dims.length === 0) return { dataId: b.makeValue({ ...v }), shape: v.shape, dtype: v.dtype };
    const axes = dims.map((a) => v.perm.indexOf(a));
    const g = b.graph;
    // A Slice with step -1 from the last element to before the first.
    const name = g.op('Slice', [
      b.inLayout(v, v.perm),
      g.int64s(dims.map((a) => v.shape[a] - 1)),
      g.int64s(dims.map((a) => -v.shape[a] - 1)),
      g.int64s(axes),
      g.int64s(dims.map(() => -1)),
    ]);
    return result(b, name, v.shape, v.dtype, v.perm);
  },
  PadV2: (b, inputs, attrs) => padKernel(b, inputs, attrs, 'constant'),
  MirrorPad: (b, inputs, attrs) => {
    // Symmetric padding by at most 1 repeats the edge, ONNX's 'edge' mode; deeper symmetric padding has no ONNX mode.
    const edge = attrs.mode === 'symmetric' && (attrs.paddings as [number, number][]).every(([lo, hi]) => lo <= 1 && hi <= 1);
    if (attrs.mode !== 'reflect' && !edge) throw new Error(`the ONNX compiler has reflect padding and symmetric padding by 1 only, not '${attrs.mode}'`);
    return padKernel(b, inputs, attrs, edge ? 'edge' : 'reflect');
  },
  DepthToSpace: (b, inputs, attrs) => {
    const [n, h, w, c] = inputs.x.shape;
    const s = attrs.blockSize as number;
    if (attrs.dataFormat !== 'NHWC') throw new Error(`the ONNX compiler takes NHWC DepthToSpace, got ${attrs.dataFormat}`);
    // tfjs' NHWC channel order (i * s + j) * C + c is ONNX's DCR mode on NCHW.
    const name = b.graph.op('DepthToSpace', [nchw(b, inputs.x)], { blocksize: s, mode: 'DCR' });
    return result(b, name, [n, h * s, w * s, c / (s * s)], 'float32', NCHW);
  },
  Tile: (b, inputs, attrs) => {
    const v = b.value(inputs.x.dataId);
    const reps = attrs.reps as number[];
    const shape = v.shape.map((d, i) => d * reps[i]);
    if (v.uniform !== undefined) return uniformInfo(b, v.uniform, shape, v.dtype);
    return result(b, b.graph.op('Tile', [b.inLayout(v, v.perm), b.graph.int64s(v.perm.map((a) => reps[a]))]), shape, v.dtype, v.perm);
  },

  Conv2D: (b, inputs, attrs) => {
    const info = convInfo(inputs.x.shape, inputs.filter.shape, attrs);
    const w = b.value(inputs.filter.dataId);
    const [x, filter] = [nchw(b, inputs.x), b.inLayout(w, OIHW)];
    if (winogradApplies(info, b.target)) {
      const u = b.derived(w, 'winograd filter', () => winogradFilter(b.graph, filter, info.outChannels, info.inChannels));
      // The input's transform is kept for the filter gradient, which takes it from the same x.
      const v = b.derived(b.value(inputs.x.dataId), 'winograd input', () => winogradInput(b.graph, x, info));
      return result(b, winogradConv(b.graph, v, u, info), info.outShape, 'float32', WINOGRAD_LAYOUT);
    }
    const name = b.graph.op('Conv', [x, filter], {
      kernel_shape: [info.filterHeight, info.filterWidth],
      strides: [info.strideHeight, info.strideWidth],
      dilations: [info.dilationHeight, info.dilationWidth],
      pads: onnxPads(info),
    });
    return result(b, name, info.outShape, 'float32', NCHW);
  },
  Conv2DBackpropInput: (b, inputs, attrs) => {
    const inputShape = attrs.inputShape as number[];
    const info = convInfo(inputShape, inputs.filter.shape, attrs);
    const p = info.padInfo;
    // ConvTranspose's output is s (in - 1) + k - pads + output_padding: output_padding recovers the rows a strided
    // convolution dropped.
    const outputPadding = [
      inputShape[1] - (info.strideHeight * (info.outHeight - 1) + info.filterHeight - p.top - p.bottom),
      inputShape[2] - (info.strideWidth * (info.outWidth - 1) + info.filterWidth - p.left - p.right),
    ];
    const g = b.graph;
    const filter = b.value(inputs.filter.dataId);
    if (info.strideHeight === 1 && info.strideWidth === 1 && info.dilationHeight === 1 && info.dilationWidth === 1) {
      // dx = dy correlated with the filter turned 180 degrees, in and out swapped, padded by k - 1 - pad: a plain
      // Conv, which onnxruntime runs far faster than ConvTranspose.
      const [kh, kw] = [info.filterHeight, info.filterWidth];
      const [ci, co, taps] = [info.inChannels, info.outChannels, kh * kw];
      // Turning both spatial axes is reversing the kh * kw taps: [in * out, taps] times the reversal matrix.
      const flipped = b.derived(filter, 'flipped', () => {
        const reversal = new Float32Array(taps * taps);
        for (let t = 0; t < taps; t++) reversal[t * taps + taps - 1 - t] = 1;
        const rows = g.op('Reshape', [b.inLayout(filter, [2, 3, 0, 1]), g.int64s([ci * co, taps])]);
        return g.op('Reshape', [g.op('MatMul', [rows, g.constant(reversal, [taps, taps], 'float32')]), g.int64s([ci, co, kh, kw])]);
      });
      const pads = [kh - 1 - p.top, kw - 1 - p.left, kh - 1 - p.bottom, kw - 1 - p.right];
      // As Winograd where the forward would be, its output rounded up to blocks of 4 (more zero rows of dy) and cropped.
      const [n, h, w] = inputShape;
      const [eh, ew] = [(4 - (h % 4)) % 4, (4 - (w % 4)) % 4];
      const [, oh, ow] = inputs.dy.shape;
      const padded = [n, oh + pads[0] + pads[2] + eh, ow + pads[1] + pads[3] + ew, co] as [number, number, number, number];
      const transposed = backend_util.computeConv2DInfo(padded, [kh, kw, co, ci], 1, 1, 'valid');
      if (pads.every((q) => q >= 0) && winogradApplies(transposed, b.target)) {
        const dy = g.op('Pad', [nchw(b, inputs.dy), g.int64s([0, 0, pads[0], pads[1], 0, 0, pads[2] + eh, pads[3] + ew])], { mode: 'constant' });
        const u = b.derived(filter, 'winograd filter flipped', () => winogradFilter(g, flipped, ci, co));
        const full = winogradConv(g, winogradInput(g, dy, transposed), u, transposed);
        const name = eh + ew === 0 ? full : g.op('Slice', [full, g.int64s([0, 0]), g.int64s([h, w]), g.int64s([2, 3])]);
        return result(b, name, inputShape, 'float32', WINOGRAD_LAYOUT);
      }
      const name = g.op('Conv', [nchw(b, inputs.dy), flipped], { kernel_shape: [kh, kw], pads });
      return result(b, name, inputShape, 'float32', NCHW);
    }
    const name = g.op('ConvTranspose', [nchw(b, inputs.dy), b.inLayout(filter, OIHW)], {
      kernel_shape: [info.filterHeight, info.filterWidth],
      strides: [info.strideHeight, info.strideWidth],
      pads: onnxPads(info),
      output_padding: outputPadding,
    });
    return result(b, name, inputShape, 'float32', NCHW);
  },
  Conv2DBackpropFilter: (b, inputs, attrs) => {
    const filterShape = attrs.filterShape as number[];
    const info = convInfo(inputs.x.shape, filterShape, attrs);
    // Chosen by timing each form on onnxruntime's CPU provider (2 cores, AVX-512) for MUNIT's shapes at 64, 128
    // and 256: one dilated convolution when a side has a few channels (the RGB convolutions), one GEMM over an
    // im2col matrix up to 32x32 outputs or when strided, per-tap GEMMs for wide layers at 64x64 and above (an im2col
    // matrix there is hundreds of MB); and Winograd's where the forward runs as Winograd, from its input transform.
    const strided = info.strideHeight > 1 || info.strideWidth > 1;
    // (The dilated form would also need a crop when a stride drops the input's last rows.)
    if (Math.min(info.inChannels, info.outChannels) <= 4 && !strided)
      return result(b, filterGradientByConv(b, inputs, info), filterShape, 'float32', [2, 3, 0, 1]);
    const [x, dy] = [nchw(b, inputs.x), nchw(b, inputs.dy)];
    if (winogradApplies(info, b.target)) {
      const v = b.derived(b.value(inputs.x.dataId), 'winograd input', () => winogradInput(b.graph, x, info));
      return result(b, winogradFilterGradient(b.graph, dy, v, info), filterShape, 'float32', OIHW);
    }
    if (info.outHeight * info.outWidth <= 1024 || strided) return result(b, filterGradientByIm2col(b, x, dy, info), filterShape, 'float32', OIHW);
    return result(b, filterGradient(b, x, dy, info), filterShape, 'float32', OIHW);
  },
  AvgPool: (b, inputs, attrs) => pool(b, 'AveragePool', inputs.x, attrs, { count_include_pad: 0 }),
  AvgPoolGrad: (b, inputs, attrs) => {
    const inputShape = inputs.input.shape;
    const info = poolInfo(inputShape, attrs);
    const p = info.padInfo;
    if (p.top + p.bottom + p.left + p.right > 0) throw new Error('the ONNX compiler differentiates unpadded average pools only');
    const c = inputShape[3];
    const { filterHeight: kh, filterWidth: kw } = info;
    // Each window's gradient spread evenly over it: a depthwise transposed convolution with 1 / (kh kw).
    const weights = b.graph.constant(new Float32Array(c * kh * kw).fill(1 / (kh * kw)), [c, 1, kh, kw], 'float32');
    const name = b.graph.op('ConvTranspose', [nchw(b, inputs.dy), weights], {
      kernel_shape: [kh, kw],
      strides: [info.strideHeight, info.strideWidth],
      group: c,
      output_padding: [inputShape[1] - (info.strideHeight * (info.outHeight - 1) + kh), inputShape[2] - (info.strideWidth * (info.outWidth - 1) + kw)],
    });
    return result(b, name, inputShape, 'float32', NCHW);
  },
  MaxPool: (b, inputs, attrs) => pool(b, 'MaxPool', inputs.x, attrs),
  MaxPoolGrad: (b, inputs, attrs) => {
    const [n, h, w, c] = inputs.input.shape;
    const info = poolInfo(inputs.input.shape, attrs);
    const { filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow } = info;
    if (info.strideHeight !== kh || info.strideWidth !== kw || oh * kh !== h || ow * kw !== w) {
      throw new Error('the ONNX compiler differentiates max pools whose windows tile the input only (VGG-16: 2x2, stride 2)');
    }
    // Each window's gradient goes where the input equals the window's maximum. tfjs picks one position on a tie;
    // in VGG-16 ties are zeros after a ReLU, whose own gradient removes them.
    const g = b.graph;
    const windows = g.op('Reshape', [nchw(b, inputs.input), g.int64s([n, c, oh, kh, ow, kw])]);
    const maxima = g.op('Reshape', [nchw(b, inputs.output), g.int64s([n, c, oh, 1, ow, 1])]);
    const dy = g.op('Reshape', [nchw(b, inputs.dy), g.int64s([n, c, oh, 1, ow, 1])]);
    const mask = g.op('Cast', [g.op('Equal', [windows, maxima])], { to: ONNX_TYPE.float32 });
    return result(b, g.op('Reshape', [g.op('Mul', [mask, dy]), g.int64s([n, c, h, w])]), [n, h, w, c], 'float32', NCHW);
  },
  ResizeNearestNeighbor: (b, inputs, attrs) => {
    const [n, , , c] = inputs.images.shape;
    const [oh, ow] = attrs.size as [number, number];
    if (attrs.alignCorners || attrs.halfPixelCenters) throw new Error('the ONNX compiler has plain nearest-neighbour resizing only');
    // tfjs: source = floor(dst * in / out), which is ONNX's asymmetric transform with floor rounding.
    const name = b.graph.op('Resize', [nchw(b, inputs.images), '', '', b.graph.int64s([n, c, oh, ow])], {
      mode: 'nearest',
      coordinate_transformation_mode: 'asymmetric',
      nearest_mode: 'floor',
    });
    return result(b, name, [n, oh, ow, c], 'float32', NCHW);
  },
  ResizeNearestNeighborGrad: (b, inputs) => {
    const [n, h, w, c] = inputs.images.shape;
    const [, oh, ow] = inputs.dy.shape;
    const [fh, fw] = [oh / h, ow / w];
    if (!Number.isInteger(fh) || !Number.isInteger(fw)) throw new Error('the ONNX compiler differentiates whole-number upsampling only');
    const g = b.graph;
    const blocks = g.op('Reshape', [nchw(b, inputs.dy), g.int64s([n, c, h, fh, w, fw])]);
    return result(b, g.op('ReduceSum', [blocks, g.int64s([3, 5])], { keepdims: 0 }), [n, h, w, c], 'float32', NCHW);
  },
  BatchMatMul: (b, inputs, attrs) => {
    // tfjs passes rank 2 or more: [...batch, rows, cols].
    const [va, vb] = [b.value(inputs.a.dataId), b.value(inputs.b.dataId)];
    const [ta, tb] = [Boolean(attrs.transposeA), Boolean(attrs.transposeB)];
    const [ra, rb] = [va.shape.length, vb.shape.length];
    const m = ta ? va.shape[ra - 1] : va.shape[ra - 2];
    const n = tb ? vb.shape[rb - 2] : vb.shape[rb - 1];
    const batchShape = backend_util.assertAndGetBroadcastShape(va.shape.slice(0, -2), vb.shape.slice(0, -2));
    const shape = [...batchShape, m, n];
    const g = b.graph;
    if (sizeOf(batchShape) === 1) {
      // Rank-2 Gemm with the transposes as flags; an operand stored transposed flips its flag instead of moving.
      const as2d = (v: TracedValue, transposed: boolean): [string, number] => {
        const r = v.shape.length;
        const [rows, cols] = [v.shape[r - 2], v.shape[r - 1]];
        const swapped = v.uniform === undefined && v.perm[r - 1] === r - 2 && v.perm[r - 2] === r - 1;
        const name = swapped ? v.name : b.inLayout(v, identityPerm(r));
        return [r === 2 ? name : g.op('Reshape', [name, g.int64s(swapped ? [cols, rows] : [rows, cols])]), Number(transposed !== swapped)];
      };
      const [a2, fa] = as2d(va, ta);
      const [b2, fb] = as2d(vb, tb);
      const mm = g.op('Gemm', [a2, b2], { transA: fa, transB: fb });
      const name = shape.length === 2 ? mm : g.op('Reshape', [mm, g.int64s(shape)]);
      return result(b, name, shape, 'float32', identityPerm(shape.length));
    }
    const side = (v: TracedValue, transposed: boolean) => {
      const p = identityPerm(v.shape.length);
      if (transposed) [p[p.length - 2], p[p.length - 1]] = [p[p.length - 1], p[p.length - 2]];
      return b.inLayout(v, p);
    };
    return result(b, g.op('MatMul', [side(va, ta), side(vb, tb)]), shape, 'float32', identityPerm(shape.length));
  },
};

function poolInfo(xShape: number[], attrs: NamedAttrMap): backend_util.Conv2DInfo {
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.AvgPoolAttrs;
  return backend_util.computePool2DInfo(xShape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
}

function padKernel(b: TraceBackend, inputs: Inputs, attrs: NamedAttrMap, mode: 'constant' | 'reflect' | 'edge'): TensorInfo {
  const v = b.value(inputs.x.dataId);
  const paddings = attrs.paddings as [number, number][];
  const shape = v.shape.map((d, i) => d + paddings[i][0] + paddings[i][1]);
  const value = mode === 'constant' ? ((attrs.constantValue as number) ?? 0) : 0;
  if (v.uniform !== undefined && mode === 'constant' && value === v.uniform) return uniformInfo(b, value, shape, v.dtype);
  if (paddings.every(([lo, hi]) => lo === 0 && hi === 0)) return result(b, b.inLayout(v, v.perm), shape, v.dtype, v.perm);
  const perm = v.uniform !== undefined ? defaultPerm(shape.length) : v.perm;
  const pads = [...perm.map((a) => paddings[a][0]), ...perm.map((a) => paddings[a][1])];
  const args = [b.inLayout(v, perm), b.graph.int64s(pads)];
  if (mode === 'constant') args.push(b.graph.scalar(value, onnxDtype(v.dtype)));
  return result(b, b.graph.op('Pad', args, { mode }), shape, v.dtype, perm);
}

// A kernel not listed above fails the trace with tfjs' own "Kernel 'X' not registered for backend 'onnx-trace'".

/** Runs a kernel and checks that the shapes it records are the ones tfjs computed: a wrong one would be silent. */
function checked(kernelName: string, kernel: Kernel, b: TraceBackend, inputs: Inputs, attrs: NamedAttrMap): TensorInfo | TensorInfo[] {
  const out = kernel(b, inputs, attrs);
  for (const info of Array.isArray(out) ? out : [out]) {
    const v = b.value(info.dataId);
    if (v.shape.join(',') !== info.shape.join(',') || v.perm.length !== v.shape.length) {
      throw new Error(`internal: ${kernelName} recorded shape [${v.shape}] (layout [${v.perm}]) for a [${info.shape}] tensor`);
    }
  }
  return out;
}

let registered = false;

export function registerTraceKernels(): void {
  if (registered) return;
  registered = true;
  for (const [kernelName, kernel] of Object.entries(kernels)) {
    const config: KernelConfig = {
      kernelName,
      backendName: TRACE_BACKEND,
      kernelFunc: ({ inputs, attrs, backend }) => checked(kernelName, kernel, backend as TraceBackend, inputs as Inputs, attrs as NamedAttrMap),
    };
    registerKernel(config);
  }
}

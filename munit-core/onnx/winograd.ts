// Winograd's minimal filtering F(4x4, 3x3) (Lavin and Gray, 2016) for the wide 3x3 convolutions: each 4x4 block of
// outputs from a 6x6 block of inputs in 36 multiplies per channel pair instead of 144. As ONNX ops: the input
// transform is a convolution of each channel with 36 fixed 6x6 kernels (stride 4), the products are 36 batched GEMMs,
// and the output transform is one GEMM by a fixed matrix and a DepthToSpace into place. The input gradient is the
// same on dy with the flipped filters, and the filter gradient reuses the forward's input transform. Measured on
// onnxruntime's CPU provider for MUNIT's 256-channel residual convolutions: 24 ms against 36 ms for its direct
// convolution at 64x64, 7.7 against 9.1 ms at 32x32. At 16x16 (the residual blocks of 64x64 images) a forward alone
// is 0.41 against 0.85 ms, but a whole 64x64 training step gains nothing measurable (0.66-0.76 s either way, in
// alternation), so it starts at 32x32 outputs.
import type { TraceTarget } from './trace-backend.js';
import type { backend_util } from '@tensorflow/tfjs-core';
import type { OnnxGraph } from './graph.js';

const TILE = 4;
/** The stored layout of winogradConv's NHWC result: [C, N, H, W]. */
export const WINOGRAD_LAYOUT = [3, 0, 1, 2];
const WINDOW = TILE + 2;
const POINTS = WINDOW * WINDOW;

/** B^T, G and A^T of F(4, 3) with the interpolation points 0, +-1, +-2 and infinity. */
const BT = [
  [4, 0, -5, 0, 1, 0],
  [0, -4, -4, 1, 1, 0],
  [0, 4, -4, -1, 1, 0],
  [0, -2, -1, 2, 1, 0],
  [0, 2, -1, -2, 1, 0],
  [0, 4, 0, -5, 0, 1],
];
const G = [
  [1 / 4, 0, 0],
  [-1 / 6, -1 / 6, -1 / 6],
  [-1 / 6, 1 / 6, -1 / 6],
  [1 / 24, 1 / 12, 1 / 6],
  [1 / 24, -1 / 12, 1 / 6],
  [0, 0, 1],
];
const AT = [
  [1, 1, 1, 1, 1, 0],
  [0, 1, -1, 2, -2, 0],
  [0, 1, 1, 4, 4, 0],
  [0, 1, -1, 8, -8, 1],
];

/** kron(M, M) as a [rows^2, cols^2] matrix: the 2-D transform M X M^T of a flattened block. */
function kron(m: number[][]): Float32Array {
  const [rows, cols] = [m.length, m[0].length];
  const out = new Float32Array(rows * rows * cols * cols);
  for (let p = 0; p < rows; p++)
    for (let q = 0; q < rows; q++)
      for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) out[(p * rows + q) * cols * cols + i * cols + j] = m[p][i] * m[q][j];
  return out;
}

/**
 * Unpadded, unstrided 3x3 convolutions on at least 32x32 outputs in blocks of 4, with 64 or more channels each side,
 * in a graph for a CPU: on a GPU the transforms' extra kernel calls cost more than the multiplies they save.
 */
export function winogradApplies(info: backend_util.Conv2DInfo, target: TraceTarget = 'cpu'): boolean {
  const p = info.padInfo;
  return (
    target === 'cpu' &&
    info.filterHeight === 3 &&
    info.filterWidth === 3 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    p.top + p.bottom + p.left + p.right === 0 &&
    info.outHeight % TILE === 0 &&
    info.outWidth % TILE === 0 &&
    info.outHeight * info.outWidth >= 32 * 32 &&
    Math.min(info.inChannels, info.outChannels) >= 64
  );
}

/** U [36, co, ci]: G g G^T of every filter of w ([co, ci, 3, 3]). */
export function winogradFilter(g: OnnxGraph, w: string, co: number, ci: number): string {
  // Transposing the 9-tap filters is a quarter of the 36-point result's size.
  const taps = g.op('Transpose', [g.op('Reshape', [w, g.int64s([co * ci, 9])])], { perm: [1, 0] });
  return g.op('Reshape', [g.op('MatMul', [g.constant(kron(G), [POINTS, 9], 'float32'), taps]), g.int64s([POINTS, co, ci])]);
}

/** V [36, ci, n * tiles]: B^T d B of every 6x6 window of x (NCHW), 4 apart. */
export function winogradInput(g: OnnxGraph, x: string, info: backend_util.Conv2DInfo): string {
  const { batchSize: n, inChannels: ci, outHeight: h, outWidth: wd } = info;
  const images = g.op('Reshape', [x, g.int64s([n * ci, 1, info.inHeight, info.inWidth])]);
  const windows = g.op('Conv', [images, g.constant(kron(BT), [POINTS, 1, WINDOW, WINDOW], 'float32')], {
    kernel_shape: [WINDOW, WINDOW],
    strides: [TILE, TILE],
  });
  const byPoint = g.op('Transpose', [g.op('Reshape', [windows, g.int64s([n, ci, POINTS, (h / TILE) * (wd / TILE)])])], { perm: [2, 1, 0, 3] });
  return g.op('Reshape', [byPoint, g.int64s([POINTS, ci, (n * h * wd) / (TILE * TILE)])]);
}

/**
 * The convolution with the filters u (winogradFilter) of the input v (winogradInput) as F(4x4, 3x3), stored
 * [out, n, h, w] (WINOGRAD_LAYOUT).
 */
export function winogradConv(g: OnnxGraph, v: string, u: string, info: backend_util.Conv2DInfo): string {
  const { batchSize: n, outChannels: co, outHeight: h, outWidth: wd } = info;
  const [th, tw] = [h / TILE, wd / TILE];
  const m = g.op('Reshape', [g.op('MatMul', [u, v]), g.int64s([POINTS, co * n * th * tw])]);
  // Y = A^T m A per block: [4, 4, co, n, th, tw], put in place by DepthToSpace (its DCR channel order is the
  // block's (row, column) outermost) as [co, n, h, w]; a Transpose that does the same is 3-4x slower.
  const blocks = g.op('MatMul', [g.constant(kron(AT), [TILE * TILE, POINTS], 'float32'), m]);
  const placed = g.op('DepthToSpace', [g.op('Reshape', [blocks, g.int64s([1, TILE * TILE * co * n, th, tw])])], { blocksize: TILE, mode: 'DCR' });
  return g.op('Reshape', [placed, g.int64s([co, n, h, wd])]);
}

/**
 * The filter gradient of that convolution from dy (NCHW) and its input's v: dW = G^T (sum over tiles of
 * (A dY A^T) x V) G, [36] batched GEMMs of a quarter of an im2col GEMM's multiplies; [co, ci, 3, 3].
 */
export function winogradFilterGradient(g: OnnxGraph, dy: string, v: string, info: backend_util.Conv2DInfo): string {
  const { batchSize: n, inChannels: ci, outChannels: co, outHeight: h, outWidth: wd } = info;
  const [th, tw] = [h / TILE, wd / TILE];
  // dy's 4x4 blocks as [16, co, n * tiles]: SpaceToDepth is DepthToSpace's inverse, as in winogradConv.
  const byImage = g.op('SpaceToDepth', [g.op('Reshape', [dy, g.int64s([1, n * co, h, wd])])], { blocksize: TILE });
  const blocks =
    n === 1
      ? g.op('Reshape', [byImage, g.int64s([TILE * TILE, co * th * tw])])
      : g.op('Reshape', [
          g.op('Transpose', [g.op('Reshape', [byImage, g.int64s([TILE * TILE, n, co, th * tw])])], { perm: [0, 2, 1, 3] }),
          g.int64s([TILE * TILE, co * n * th * tw]),
        ]);
  const dm = g.op('Reshape', [
    g.op('Gemm', [g.constant(kron(AT), [TILE * TILE, POINTS], 'float32'), blocks], { transA: 1 }),
    g.int64s([POINTS, co, n * th * tw]),
  ]);
  const du = g.op('MatMul', [dm, g.op('Transpose', [v], { perm: [0, 2, 1] })]);
  // Taken transposed, so that the gradient comes out in the weights' own [co, ci, 3, 3] order, which Adam works in.
  const taps = g.op('Gemm', [g.op('Reshape', [du, g.int64s([POINTS, co * ci])]), g.constant(kron(G), [POINTS, 9], 'float32')], { transA: 1 });
  return g.op('Reshape', [taps, g.int64s([co, ci, 3, 3])]);
}

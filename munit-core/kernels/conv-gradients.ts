// Conv2D gradients built only from ops that run fast on the wasm backend.
//
// Why: tfjs-backend-wasm has no Conv2DBackpropFilter kernel at all, and its Conv2DBackpropInput runs at about
// a tenth of forward-convolution speed; the pure-JS cpu backend's filter gradient runs at ~0.02 GFLOP/s,
// 20-40x slower than the one here on the same backend. What is fast on wasm is XNNPACK: Conv2D, and
// BatchMatMul without transposes and with batch 1 (anything else goes to a scalar loop). Pad, Concat,
// Reshape and Transpose up to rank 4 are cheap too.
// Slow, and avoided here: Slice (it copies its whole source into JS on every call), Gather and StridedSlice
// (25-100 ns per element), Reverse and Transpose above rank 4 (30-70 ns per element). And every new filter
// (or right-hand matMul operand) costs XNNPACK ~15 ns per element to repack, so filter-sized work matters
// when feature maps are small.
//
// dx, two ways ('auto' picks by shape):
//  - 'conv': the sub-pixel decomposition of the transposed convolution: ONE stride-1 convolution of dy with
//    the filter rearranged so that each stride phase of dx is a block of output channels, then a
//    depth-to-space interleave. Strided layers never convolve a zero-stuffed dy.
//  - 'matmul': colsT = W @ dy^T and col2im with pads and adds; no filter rearrangement or repacking, for
//    feature maps so small that the filter is the bulk of the work.
// dW, two ways ('auto' picks by shape; 'conv' nearly everywhere):
//  - 'conv': the filter gradient is itself a convolution, with the input channels as the batch and dy as
//    the filter; output columns are folded into channels so XNNPACK's kernels get enough of them.
//  - 'matmul': per kernel tap, dW_tap [Ci, Co] = xWindow [Ci, L] @ dy [L, Co] on channels-first phase
//    images, where each tap's window is a contiguous range; ~10% faster for 3x3 kernels on 256 channels.
//    (An im2col matrix with one big matMul was slower than both: building it needs Gather at 25 ns per
//    element, or a transposed or freshly packed operand of the same size.)
// Everything uses differentiable ops, so these gradients can be differentiated again.
import * as tf from '@tensorflow/tfjs-core';
import { backend_util, Conv2D, getGradient, registerGradient, unregisterGradient } from '@tensorflow/tfjs-core';
import type { Conv2DAttrs, GradConfig, NamedAttrMap, Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';

type Shape4 = [number, number, number, number];
type Conv2DPad = Conv2DAttrs['pad'];
export type ConvGradientMethod = 'auto' | 'conv' | 'matmul';

/** Exposed for benchmarks and tests. */
export const convGradientOptions: {
  /** Which method each gradient uses; 'auto' picks per layer shape. */
  dx: ConvGradientMethod;
  dw: ConvGradientMethod;
  /** Most floats the filter gradients' biggest temporaries may hold (64 MB); bigger work goes in pieces. */
  maxTemporaryFloats: number;
} = { dx: 'auto', dw: 'auto', maxTemporaryFloats: 16 * 1024 * 1024 };

/** Geometry of one forward convolution, as the forward kernel sees it. */
interface ConvGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  /** Zero rows/columns the forward conv puts before the input. */
  padTop: number;
  padLeft: number;
}

/** Geometry for the cases we handle, or undefined where the previous gradient must be used. */
function convGeometry(xShape: Shape4, filterShape: Shape4, attrs: Conv2DAttrs): ConvGeometry | undefined {
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs;
  if (dataFormat !== 'NHWC' || dimRoundingMode !== undefined) return undefined;
  if (!backend_util.tupleValuesAreOne(dilations)) return undefined;
  const info = backend_util.computeConv2DInfo(xShape, filterShape, strides, 1, pad);
  if (info.padInfo.top < 0 || info.padInfo.left < 0) return undefined;
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/** Pads (positive amounts) or crops (negative amounts) axes 1 and 2 of a rank-4 tensor with zeros. */
function padOrCrop2d(t: Tensor4D, top: number, bottom: number, left: number, right: number): Tensor4D {
  const [n, h, w, c] = t.shape;
  const cropTop = Math.max(0, -top);
  const cropLeft = Math.max(0, -left);
  const keptH = h - cropTop - Math.max(0, -bottom);
  const keptW = w - cropLeft - Math.max(0, -right);
  let out = t;
  if (keptH !== h || keptW !== w) out = tf.slice(out, [0, cropTop, cropLeft, 0], [n, keptH, keptW, c]);
  if (top > 0 || bottom > 0 || left > 0 || right > 0) {
    const p = (v: number) => Math.max(0, v);
    out = tf.pad(out, [
      [0, 0],
      [p(top), p(bottom)],
      [p(left), p(right)],
      [0, 0],
    ]);
  }
  return out;
}

/**
 * Interleaves the stride phases: [sh, sw, B*R, C] (phase-major) -> [B, R*sh, C*sw, 1]. Rank 4 on purpose:
 * wasm transposes above rank 4 are an order of magnitude slower.
 */
function interleavePhaseMajor(phases: Tensor4D, b: number): Tensor4D {
  const [sh, sw, br, c] = phases.shape;
  const rows = br / b;
  if (sh === 1 && sw === 1) return tf.reshape(phases, [b, rows, c, 1]);
  const moved = tf.transpose(phases, [2, 0, 3, 1]);
  return tf.reshape(moved, [b, rows * sh, c * sw, 1]);
}

// ---------------------------------------------------------------------------------------------------------
// dx by convolution

/**
 * One-hot [Mh*Mw*sh*sw, Kh*Kw] matrix whose row (jh, jw, ph, pw) picks tap (ph + sh*(Mh-1-jh), pw + ...)
 * of the filter, or nothing past the kernel's edge. Multiplying the filter by it is the cheapest tap
 * shuffle on wasm: 3-4x faster than Reverse even for 25 taps, and Gather is slower still.
 */
function phaseTapSelection(g: ConvGeometry, mh: number, mw: number): Tensor2D {
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = g;
  const slots = mh * mw * sh * sw;
  const select = new Float32Array(slots * kh * kw);
  let row = 0;
  for (let jh = 0; jh < mh; jh++) {
    for (let jw = 0; jw < mw; jw++) {
      for (let ph = 0; ph < sh; ph++) {
        for (let pw = 0; pw < sw; pw++, row++) {
          const th = ph + sh * (mh - 1 - jh);
          const tw = pw + sw * (mw - 1 - jw);
          if (th < kh && tw < kw) select[row * kh * kw + th * kw + tw] = 1;
        }
      }
    }
  }
  return tf.tensor2d(select, [slots, kh * kw]);
}

/**
 * Rearranges filter [Kh, Kw, Ci, Co] into the stride-1 filter [Mh, Mw, Co, sh*sw*Ci] whose output channel
 * block (ph, pw) computes stride phase (ph, pw) of dx, with M = ceil(K / s).
 *
 * Padded input row t = s*q + p receives dy[q - m] * w[p + s*m] for m >= 0. As a correlation over
 * j = M-1-m that is dyPadded[q + j] * w[p + s*(M-1-j)]: each phase's sub-filter is every s-th tap of the
 * filter, reversed, with zeros past K (none for the 4x4/s2 layers of MUNIT).
 */
function phaseFilter(filter: Tensor4D, g: ConvGeometry, mh: number, mw: number): Tensor4D {
  const { strideHeight: sh, strideWidth: sw, inChannels: ci, outChannels: co } = g;
  const taps = g.filterHeight * g.filterWidth;
  const flat = tf.reshape(filter, [taps, ci * co]);
  const shuffled = tf.matMul(phaseTapSelection(g, mh, mw), flat);
  const bySlot = tf.reshape(shuffled, [mh * mw, sh * sw, ci, co]);
  const swapped = tf.transpose(bySlot, [0, 3, 1, 2]);
  return tf.reshape(swapped, [mh, mw, co, sh * sw * ci]);
}

/** One axis of the dx convolution: which phase rows to compute and how to pad dy for them. */
interface PhaseAxis {
  taps: number;
  /** Padding (negative: cropping) of dy before and after along this axis. */
  before: number;
  after: number;
  /** Rows of the interleaved result to drop before dx starts. */
  offset: number;
}

function phaseAxis(kernel: number, stride: number, pad: number, inSize: number, outSize: number): PhaseAxis {
  const taps = Math.ceil(kernel / stride);
  // Phase rows q in [first, end) cover padded input rows [pad, pad + inSize) (t = stride*q + p).
  const first = Math.floor(pad / stride);
  const end = Math.ceil((pad + inSize) / stride);
  // Output row r of the stride-1 conv is phase row first + r and reads dy[first + r - (taps-1) + j].
  return { taps, before: taps - 1 - first, after: end - outSize, offset: pad - stride * first };
}

function inputGradientByConv(dy: Tensor4D, filter: Tensor4D, g: ConvGeometry): Tensor4D {
  const { strideHeight: sh, strideWidth: sw, inChannels: ci, batch: n } = g;
  const rows = phaseAxis(g.filterHeight, sh, g.padTop, g.inHeight, g.outHeight);
  const cols = phaseAxis(g.filterWidth, sw, g.padLeft, g.inWidth, g.outWidth);
  const w = phaseFilter(filter, g, rows.taps, cols.taps);
  // Cropping is done by slicing; padding is given to the convolution itself, which costs nothing extra.
  const neg = (v: number) => Math.min(0, v);
  const pos = (v: number) => Math.max(0, v);
  const cropped = padOrCrop2d(dy, neg(rows.before), neg(rows.after), neg(cols.before), neg(cols.after));
  const padding: backend_util.ExplicitPadding = [
    [0, 0],
    [pos(rows.before), pos(rows.after)],
    [pos(cols.before), pos(cols.after)],
    [0, 0],
  ];
  const phases = tf.conv2d(cropped, w, 1, padding);
  const [, r, c] = phases.shape;
  let full: Tensor4D = phases;
  if (sh > 1 || sw > 1) {
    // [N, R, C, (ph, pw, Ci)] -> [N, R, ph, C, (pw, Ci)]: (pw, Ci) stay together, so this is rank 4 per image.
    const moved = tf.transpose(tf.reshape(phases, [n, r, c, sh, sw * ci]), [0, 1, 3, 2, 4]);
    full = tf.reshape(moved, [n, r * sh, c * sw, ci]);
  }
  return cropTo(full, rows.offset, cols.offset, g);
}

/** dx = full[offset rows/cols ...] when that is not all of it (wasm's Slice copies its whole source). */
function cropTo(full: Tensor4D, top: number, left: number, g: ConvGeometry): Tensor4D {
  const [, h, w] = full.shape;
  if (top === 0 && left === 0 && h === g.inHeight && w === g.inWidth) return full;
  return padOrCrop2d(full, -top, g.inHeight + top - h, -left, g.inWidth + left - w);
}

// ---------------------------------------------------------------------------------------------------------
// dx by matMul + col2im

/**
 * colsT [(kh, kw, i), (n, y, x)] = W [Kh*Kw*Ci, Co] @ dy^T [Co, N*Ho*Wo], then every tap's block is added
 * at its place: padded input (s*y + kh, s*x + kw), i.e. phase (kh % s, kw % s) at offset (kh / s, kw / s).
 * Works channels-first and transposes once at the end. Costs a slice of colsT per tap, so it is only
 * chosen when the feature map is small next to the filter.
 */
function inputGradientByMatMul(dy: Tensor4D, filter: Tensor4D, g: ConvGeometry): Tensor4D {
  const { batch: n, outHeight: ho, outWidth: wo, inChannels: ci, outChannels: co, strideHeight: sh, strideWidth: sw } = g;
  const pixels = n * ho * wo;
  const colsT = tf.matMul(tf.reshape(filter, [-1, co]), tf.transpose(tf.reshape(dy, [pixels, co])));
  const mh = Math.ceil(g.filterHeight / sh);
  const mw = Math.ceil(g.filterWidth / sw);
  const [qh, qw] = [ho + mh - 1, wo + mw - 1];
  const placed: Tensor4D[][] = Array.from({ length: sh * sw }, () => []);
  for (let kh = 0; kh < g.filterHeight; kh++) {
    for (let kw = 0; kw < g.filterWidth; kw++) {
      const tap = kh * g.filterWidth + kw;
      const block: Tensor4D = tf.reshape(tf.slice(colsT, [tap * ci, 0], [ci, pixels]), [ci * n, ho, wo, 1]);
      const [oy, ox] = [Math.floor(kh / sh), Math.floor(kw / sw)];
      placed[(kh % sh) * sw + (kw % sw)].push(
        tf.pad(block, [
          [0, 0],
          [oy, mh - 1 - oy],
          [ox, mw - 1 - ox],
          [0, 0],
        ]),
      );
    }
  }
  const phaseSums = placed.map((list): Tensor4D => (list.length === 0 ? tf.zeros([ci * n, qh, qw, 1]) : list.length === 1 ? list[0] : tf.addN(list)));
  const stacked: Tensor4D = tf.reshape(tf.concat(phaseSums, 0), [sh, sw, ci * n * qh, qw]);
  const full = interleavePhaseMajor(stacked, ci * n);
  const dxT = cropTo(full, g.padTop, g.padLeft, g);
  // [Ci, N, H, W] -> [N, H, W, Ci]
  const nhwc = tf.transpose(tf.reshape(dxT, [ci, n * g.inHeight * g.inWidth]));
  return tf.reshape(nhwc, [n, g.inHeight, g.inWidth, ci]);
}

// ---------------------------------------------------------------------------------------------------------
// dW by convolution

/**
 * dW[kh,kw,i,o] = sum_{n,y,x} xpad[n, s*y+kh, s*x+kw, i] * dy[n,y,x,o] is a convolution of the images
 * xpad[:, :, :, i] (a batch of Ci images with N channels) with dy as a [Ho, Wo, N, Co] filter dilated by s.
 *
 * Convolved like that, XNNPACK gets only N (usually 1) input channels per tap and runs at half speed. So we
 * fold r output columns into the channels: with x = r*x' + a, the term is xpad[.., s*r*x' + s*a + kw] *
 * dy[.., r*x' + a], i.e. a convolution of shifted = [xpad[col + s*a] for a < r] (r*N channels, made by one
 * cheap one-hot convolution) with dy reshaped to [Ho, Wo/r, r*N, Co], dilated by (s, s*r).
 */
function filterGradientByConv(x: Tensor4D, dy: Tensor4D, g: ConvGeometry): Tensor4D {
  const { strideHeight: sh, strideWidth: sw, batch: n, outWidth: wo, outChannels: co } = g;
  const r = columnFold(wo);
  const woFolded = r * Math.ceil(wo / r);
  // Exactly the rows/columns the forward conv reads (for the zero-extended dy), so the output is Kh x Kw.
  const bottom = sh * (g.outHeight - 1) + g.filterHeight - g.inHeight - g.padTop;
  const right = sw * (woFolded - 1) + g.filterWidth - g.inWidth - g.padLeft;
  const xpad = padOrCrop2d(x, g.padTop, bottom, g.padLeft, right);
  const images: Tensor4D = tf.transpose(xpad, [3, 1, 2, 0]);
  const dyWide =
    woFolded === wo
      ? dy
      : tf.pad(dy, [
          [0, 0],
          [0, 0],
          [0, woFolded - wo],
          [0, 0],
        ]);
  const kernel: Tensor4D = tf.reshape(tf.transpose(dyWide, [1, 2, 0, 3]), [g.outHeight, woFolded / r, r * n, co]);
  const shifts = r > 1 ? columnShifts(r, sw, n) : undefined;
  // The shifted copies hold r times the input; for big images do the input channels (the batch of this
  // convolution, whose outputs are independent) a group at a time.
  const groups = Math.ceil((images.size * r) / convGradientOptions.maxTemporaryFloats);
  const parts: Tensor4D[] = groups > 1 ? tf.split(images, evenSplit(g.inChannels, groups), 0) : [images];
  const dws = parts.map((part) => {
    const shifted = shifts ? tf.conv2d(part, shifts, 1, 'valid') : part;
    return tf.conv2d(shifted, kernel, 1, 'valid', 'NHWC', [sh, sw * r]);
  });
  const dw = dws.length === 1 ? dws[0] : tf.concat(dws, 0);
  return tf.transpose(dw, [1, 2, 0, 3]);
}

/** Sizes of `parts` nearly equal pieces that add up to `total`. */
function evenSplit(total: number, parts: number): number[] {
  const count = Math.min(total, parts);
  return Array.from({ length: count }, (_, i) => Math.floor((total * (i + 1)) / count) - Math.floor((total * i) / count));
}

/** How many output columns filterGradientByConv folds into channels: 4 saturates XNNPACK's kernels. */
function columnFold(outWidth: number): number {
  for (const r of [4, 2]) {
    // Folding pads dy to a multiple of r with zero columns; accept up to 1/8 of wasted work.
    if (outWidth >= r && 8 * (r * Math.ceil(outWidth / r) - outWidth) <= outWidth) return r;
  }
  return 1;
}

/** One-hot [1, s*(r-1)+1, N, r*N] filter: output channel a*N + n is input channel n shifted left by s*a. */
function columnShifts(r: number, stride: number, n: number): Tensor4D {
  const width = stride * (r - 1) + 1;
  const data = new Float32Array(width * n * r * n);
  for (let a = 0; a < r; a++) {
    for (let c = 0; c < n; c++) data[(stride * a * n + c) * r * n + a * n + c] = 1;
  }
  return tf.tensor4d(data, [1, width, n, r * n]);
}

// ---------------------------------------------------------------------------------------------------------
// dW by matMul

/**
 * Split xpad into its s*s phase images xq[ph,pw][a,b] = xpad[s*a+ph, s*b+pw] of size Hq x Wq; tap
 * (kh,kw) = (s*mh+ph, s*mw+pw) then reads xq[ph,pw][y+mh, x+mw], a stride-1 window. With every phase image
 * channels first, flattened to [Ci, N*Hq*Wq], and dy widened with zeros to the same Hq x Wq grid, the window
 * of tap (mh, mw) is the contiguous column range starting at mh*Wq + mw: positions that wrap into the next
 * row (or image) meet the zeros of dy. So dW_tap [Ci, Co] = xq[:, off : off+L] @ dyq [L, Co], with the same
 * right operand for every tap (XNNPACK packs it once) and no im2col matrix.
 */
function filterGradientByMatMul(x: Tensor4D, dy: Tensor4D, g: ConvGeometry): Tensor4D {
  const { strideHeight: sh, strideWidth: sw, inChannels: ci, outChannels: co, batch: n } = g;
  const mh = Math.ceil(g.filterHeight / sh);
  const mw = Math.ceil(g.filterWidth / sw);
  const [hq, wq] = [g.outHeight + mh - 1, g.outWidth + mw - 1];
  // The last image needs only its first Ho rows, and its last row only Wo columns: this keeps the largest
  // tap offset inside the buffer.
  const length = ((n - 1) * hq + g.outHeight - 1) * wq + g.outWidth;
  const phases = phaseImages(x, g, hq, wq);
  const wide = tf.pad(dy, [
    [0, 0],
    [0, hq - g.outHeight],
    [0, wq - g.outWidth],
    [0, 0],
  ]);
  const dyq: Tensor2D = tf.reshape(wide, [-1, co]);

  const taps: { phase: number; offset: number }[] = [];
  for (let kh = 0; kh < g.filterHeight; kh++) {
    for (let kw = 0; kw < g.filterWidth; kw++) {
      taps.push({ phase: (kh % sh) * sw + (kw % sw), offset: Math.floor(kh / sh) * wq + Math.floor(kw / sw) });
    }
  }
  const reach = (mh - 1) * wq + mw - 1;
  const perGroup = Math.max(1, Math.min(taps.length, Math.ceil(MIN_MATMUL_ROWS / ci)));
  const chunk = Math.max(1, Math.min(length, MATMUL_CHUNK, Math.floor(convGradientOptions.maxTemporaryFloats / (ci * perGroup))));
  const sums: (Tensor2D | undefined)[] = [];
  // Chunks of the summed-over axis keep the GEMM's panels in cache and, because each chunk first cuts its
  // part out of the phase images, make the per-tap slices copy chunk-sized sources (wasm's Slice copies
  // its whole source on every call).
  for (let start = 0; start < length; start += chunk) {
    const size = Math.min(chunk, length - start);
    const whole = start === 0 && size === length;
    const sources = whole ? phases : phases.map((p) => tf.slice(p, [0, start], [ci, size + reach]));
    const right: Tensor2D = size === dyq.shape[0] ? dyq : tf.slice(dyq, [start, 0], [size, co]);
    for (let first = 0, gi = 0; first < taps.length; first += perGroup, gi++) {
      const windows = taps.slice(first, first + perGroup).map((tap): Tensor2D => tf.slice(sources[tap.phase], [0, tap.offset], [ci, size]));
      const product: Tensor2D = tf.matMul(windows.length === 1 ? windows[0] : tf.concat(windows, 0), right);
      const previous = sums[gi];
      sums[gi] = previous === undefined ? product : tf.add(previous, product);
    }
  }
  const all = sums.length === 1 ? (sums[0] as Tensor2D) : tf.concat(sums as Tensor2D[], 0);
  return tf.reshape(all, [g.filterHeight, g.filterWidth, ci, co]);
}

/** Taps are stacked into one matMul until its left operand has this many rows; fewer waste the GEMM. */
const MIN_MATMUL_ROWS = 128;
/** Columns of the summed-over axis per matMul (measured on wasm: larger panels fall out of cache). */
const MATMUL_CHUNK = 4096;

/** The s*s phase images of xpad, each channels first as [Ci, N*Hq*Wq]. */
function phaseImages(x: Tensor4D, g: ConvGeometry, hq: number, wq: number): Tensor2D[] {
  const { strideHeight: sh, strideWidth: sw, inChannels: ci, batch: n } = g;
  const xpad = padOrCrop2d(x, g.padTop, sh * hq - g.inHeight - g.padTop, g.padLeft, sw * wq - g.inWidth - g.padLeft);
  const channelsFirst = tf.transpose(tf.reshape(xpad, [n, -1, ci]), [2, 0, 1]);
  if (sh === 1 && sw === 1) return [tf.reshape(channelsFirst, [ci, -1])];
  // [Ci*N*Hq, sh, Wq, sw] -> [sh, sw, Ci*N*Hq, Wq]: rank 4, one pass.
  const split = tf.transpose(tf.reshape(channelsFirst, [ci * n * hq, sh, wq, sw]), [1, 3, 0, 2]);
  // One Split (one copy of the whole per phase) so the per-tap slices later copy only their own phase.
  return tf.split(tf.reshape(split, [sh * sw * ci, n * hq * wq]), sh * sw, 0) as Tensor2D[];
}

// ---------------------------------------------------------------------------------------------------------
// Choosing a method

/** XNNPACK threads of the wasm backend in use (1 on other backends). */
function wasmThreads(): number {
  const wasm = (tf.backend() as unknown as { wasm?: { tfjs?: { getThreadsCount?: () => number } } }).wasm;
  return wasm?.tfjs?.getThreadsCount?.() ?? 1;
}

function inputGradient(dy: Tensor4D, filter: Tensor4D, g: ConvGeometry): Tensor4D {
  let method = convGradientOptions.dx;
  if (method === 'auto') {
    // The conv method pays filter-sized work (rearranging, XNNPACK repacking); col2im pays a copy of
    // colsT (taps * Ci * pixels) per tap. Pick the smaller.
    const pixels = g.batch * g.outHeight * g.outWidth;
    method = 4 * pixels <= g.outChannels ? 'matmul' : 'conv';
  }
  return method === 'matmul' ? inputGradientByMatMul(dy, filter, g) : inputGradientByConv(dy, filter, g);
}

function filterGradient(x: Tensor4D, dy: Tensor4D, g: ConvGeometry): Tensor4D {
  let method = convGradientOptions.dw;
  if (method === 'auto') {
    // Measured on wasm: single-threaded, per-tap matMuls were ~10% faster on the 3x3 256->256 residual
    // convolutions; with XNNPACK's two threads (wasm-threads.ts) the folded convolution wins everywhere, and a
    // whole 64x64 training iteration takes 6.0 s instead of 6.3 s. The copies per tap do not parallelise.
    const singleThreaded = wasmThreads() <= 1;
    const fewTaps = g.filterHeight * g.filterWidth <= 9;
    method = singleThreaded && fewTaps && g.inChannels >= 256 && g.outChannels >= 64 ? 'matmul' : 'conv';
  }
  return method === 'matmul' ? filterGradientByMatMul(x, dy, g) : filterGradientByConv(x, dy, g);
}

// ---------------------------------------------------------------------------------------------------------
// Direct entry points (benchmarks, and anyone needing a conv gradient outside tf.grad)

function requireGeometry(xShape: Shape4, filterShape: Shape4, strides: number | [number, number], pad: Conv2DPad): ConvGeometry {
  const g = convGeometry(xShape, filterShape, { strides, pad, dataFormat: 'NHWC', dilations: 1 });
  if (g === undefined) throw new Error('conv gradient: unsupported convolution');
  return g;
}

/** Gradient of tf.conv2d(x, filter, strides, pad) (NHWC, no dilation) with respect to x. */
export function conv2dInputGradient(xShape: Shape4, dy: Tensor4D, filter: Tensor4D, strides: number | [number, number], pad: Conv2DPad): Tensor4D {
  return tf.tidy(() => inputGradient(dy, filter, requireGeometry(xShape, filter.shape, strides, pad)));
}

/** Gradient of tf.conv2d(x, filter, strides, pad) (NHWC, no dilation) with respect to the filter. */
export function conv2dFilterGradient(x: Tensor4D, dy: Tensor4D, filterShape: Shape4, strides: number | [number, number], pad: Conv2DPad): Tensor4D {
  return tf.tidy(() => filterGradient(x, dy, requireGeometry(x.shape, filterShape, strides, pad)));
}

// ---------------------------------------------------------------------------------------------------------
// Registration

/**
 * tfjs' own Conv2D gradient, for the cases not handled above. tfjs-core's node bundle registers no gradient
 * configs itself (the @tensorflow/tfjs union package does), so when none was registered before ours this
 * is the same thing written against the backprop kernels directly.
 */
const kernelConvGradConfig: GradConfig = {
  kernelName: Conv2D,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dys: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const dy = Array.isArray(dys) ? dys[0] : dys;
    const [x, filter] = saved as [Tensor4D, Tensor4D];
    const { dilations, strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as Conv2DAttrs;
    if (!backend_util.tupleValuesAreOne(dilations)) {
      throw new Error(`Error in gradient of conv2D: dilation rates greater than 1 are not yet supported in gradients. Got dilations '${dilations}'`);
    }
    const common = { strides, pad, dataFormat, dimRoundingMode };
    const inputAttrs = { ...common, inputShape: x.shape } as unknown as NamedAttrMap;
    const filterAttrs = { ...common, filterShape: filter.shape } as unknown as NamedAttrMap;
    return {
      x: () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, inputAttrs) as Tensor4D,
      filter: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, filterAttrs) as Tensor4D,
    };
  },
};

let fallbackConfig: GradConfig = kernelConvGradConfig;
const FAST_GRADIENT_BACKENDS = new Set(['wasm', 'cpu']);

function fastConvGradFunc(dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) {
  const [x, filter] = saved as [Tensor4D, Tensor4D];
  const dy4 = (Array.isArray(dy) ? dy[0] : dy) as Tensor4D;
  // Gradients are registered for every backend; the rewrite is for wasm and cpu only (other backends, the ONNX
  // trace among them, have real backprop kernels).
  const g = FAST_GRADIENT_BACKENDS.has(tf.getBackend()) ? convGeometry(x.shape, filter.shape, attrs as unknown as Conv2DAttrs) : undefined;
  if (g === undefined) return fallbackConfig.gradFunc(dy, saved, attrs);
  return {
    x: () => tf.tidy(() => inputGradient(dy4, filter, g)),
    filter: () => tf.tidy(() => filterGradient(x, dy4, g)),
  };
}

const fastConvGradConfig: GradConfig = {
  kernelName: Conv2D,
  inputsToSave: ['x', 'filter'],
  gradFunc: fastConvGradFunc,
};

/**
 * Replaces the Conv2D gradient with the fast one above (NHWC, no dilation, any stride and padding) and keeps
 * the previously registered one (or an equivalent) for everything else. Safe to call more than once.
 */
export function registerFastConvGradients(): void {
  const current = getGradient(Conv2D);
  if (current === fastConvGradConfig) return;
  if (current !== undefined) {
    fallbackConfig = current;
    // Unregistering first avoids tfjs' "Overriding the gradient" warning in debug mode.
    unregisterGradient(Conv2D);
  }
  registerGradient(fastConvGradConfig);
}

// The decoder's nearest x2 upsampling followed by its 5x5 convolution (padding 2), computed without the upsampled
// map: each of the four output phases (row and column parity) of conv5x5(pad(up(x))) is a 3x3 convolution of x
// itself, whose taps are sums of the 5x5 taps that land on the same input pixel. One convolution with 4x the
// output channels then gives all phases, and depthToSpace interleaves them: 36 instead of 100 multiplies per
// output pixel and channel pair, the same numbers as the reference's Upsample + Conv2dBlock.
import * as tf from '@tensorflow/tfjs-core';
import type { PadType } from './padding.js';

const KERNEL = 5;
const PAD = 2;
/** The phase kernels' size: output phase a at low-resolution row i reads rows i - 1, i and i + 1. */
const TAPS = 3;

/** Which phase-kernel tap (0..2) the 5x5 tap d feeds for output phase a: row floor((a + d - PAD) / 2) + 1. */
const phaseTap = (a: number, d: number) => Math.floor((a + d - PAD) / 2) + 1;

/** Per phase (a, b) a [5 * 5, 3 * 3] matrix: 1 where the 5x5 tap (di, dj) falls on the phase kernel's tap (u, v). */
function phaseMatrices(): tf.Tensor2D[] {
  return [0, 1, 2, 3].map((ab) => {
    const m = new Float32Array(KERNEL * KERNEL * TAPS * TAPS);
    for (let di = 0; di < KERNEL; di++)
      for (let dj = 0; dj < KERNEL; dj++) m[(di * KERNEL + dj) * TAPS * TAPS + phaseTap(ab >> 1, di) * TAPS + phaseTap(ab & 1, dj)] = 1;
    return tf.tensor2d(m, [KERNEL * KERNEL, TAPS * TAPS]);
  });
}

/**
 * The four phase kernels of w [5, 5, in, out] as one [3, 3, in, 4 * out] filter, out channels ordered (a, b, c).
 * Computed in PyTorch's [out, in, kH, kW] order, which the compiled graph stores filters in, so it moves no data.
 * (One matMul per phase: tfjs' BatchMatMul gradient does not sum over a broadcast batch.)
 */
function phaseFilter(w: tf.Tensor4D): tf.Tensor4D {
  const [, , ci, co] = w.shape;
  const taps = tf.reshape(tf.transpose(w, [3, 2, 0, 1]), [co * ci, KERNEL * KERNEL]);
  const phases = tf.reshape(tf.stack(phaseMatrices().map((m) => tf.matMul(taps, m))), [4, co, ci, TAPS, TAPS]);
  return tf.reshape(tf.transpose(phases, [3, 4, 2, 0, 1]), [TAPS, TAPS, ci, 4 * co]);
}

/** The plain form on a few rows or columns of x: conv5x5(pad(up(x))) for the output lines at an image border. */
function plainStrip(x: tf.Tensor4D, w: tf.Tensor4D, rows: [number, number], cols: [number, number]): tf.Tensor4D {
  const up = tf.image.resizeNearestNeighbor(x, [x.shape[1] * 2, x.shape[2] * 2]);
  return tf.conv2d(tf.mirrorPad(up, [[0, 0], rows, cols, [0, 0]], 'reflect'), w, 1, 'valid');
}

/**
 * conv2d(pad(up2(x), 2, padType), w) for w [5, 5, in, out], without the bias. With zero padding the phases are
 * exact as they are (the low-resolution map padded with zeros). With reflect padding, the upsampled map's
 * reflection is the low-resolution map's edge padding except in the outermost padded line on each side, so the
 * first and last output row and column are recomputed in the plain form from the two input lines they depend on.
 */
export function upsampleConv2d(x: tf.Tensor4D, w: tf.Tensor4D, padType: PadType): tf.Tensor4D {
  const [kh, kw] = w.shape;
  if (kh !== KERNEL || kw !== KERNEL) throw new Error(`internal: the upsampling convolution is ${KERNEL}x${KERNEL}, got ${kh}x${kw}`);
  return tf.tidy(() => {
    const [n, h, wd] = x.shape;
    const co = w.shape[3];
    const border: [number, number][] = [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ];
    const padded = padType === 'reflect' ? tf.mirrorPad(x, border, 'symmetric') : tf.pad(x, border);
    const phases = tf.depthToSpace(tf.conv2d(padded, phaseFilter(w), 1, 'valid'), 2) as tf.Tensor4D;
    if (padType !== 'reflect') return phases;
    const [oh, ow] = [2 * h, 2 * wd];
    const lines = (start: number, count: number, axis: 1 | 2) =>
      tf.slice(x, axis === 1 ? [0, start, 0, 0] : [0, 0, start, 0], axis === 1 ? [n, count, wd, -1] : [n, h, count, -1]);
    const [first, last] = [0, 1];
    // Each border line: the two input lines next to it, upsampled and reflected; the conv's one output line.
    const top = tf.slice(plainStrip(lines(0, 2, 1), w, [PAD, 0], [PAD, PAD]), [0, first, 0, 0], [n, 1, ow, co]);
    const bottom = tf.slice(plainStrip(lines(h - 2, 2, 1), w, [0, PAD], [PAD, PAD]), [0, last, 0, 0], [n, 1, ow, co]);
    const left = tf.slice(plainStrip(lines(0, 2, 2), w, [PAD, PAD], [PAD, 0]), [0, 1, first, 0], [n, oh - 2, 1, co]);
    const right = tf.slice(plainStrip(lines(wd - 2, 2, 2), w, [PAD, PAD], [0, PAD]), [0, 1, last, 0], [n, oh - 2, 1, co]);
    const inner = tf.slice(phases, [0, 1, 1, 0], [n, oh - 2, ow - 2, co]);
    return tf.concat([top, tf.concat([left, inner, right], 2), bottom], 1) as tf.Tensor4D;
  });
}

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
const PHASE_MATRICES = [0, 1, 2, 3].map((ab) => {
  const m = new Float32Array(KERNEL * KERNEL * TAPS * TAPS);
  for (let di = 0; di < KERNEL; di++)
    for (let dj = 0; dj < KERNEL; dj++) m[(di * KERNEL + dj) * TAPS * TAPS + phaseTap(ab >> 1, di) * TAPS + phaseTap(ab & 1, dj)] = 1;
  return m;
});

/**
 * The four phase kernels of w [5, 5, in, out] as one [3, 3, in, 4 * out] filter, out channels ordered (a, b, c).
 * Computed in PyTorch's [out, in, kH, kW] order, which the compiled graph stores filters in, so it moves no data.
 * (One matMul per phase: tfjs' BatchMatMul gradient does not sum over a broadcast batch.)
 */
function phaseFilter(w: tf.Tensor4D): tf.Tensor4D {
  const [, , ci, co] = w.shape;
  const taps = tf.reshape(tf.transpose(w, [3, 2, 0, 1]), [co * ci, KERNEL * KERNEL]);
  const phases = tf.reshape(tf.stack(PHASE_MATRICES.map((m) => tf.matMul(taps, tf.tensor2d(m, [KERNEL * KERNEL, TAPS * TAPS])))), [4, co, ci, TAPS, TAPS]);
  return tf.reshape(tf.transpose(phases, [3, 4, 2, 0, 1]), [TAPS, TAPS, ci, 4 * co]);
}

/**
 * The plain form for one output line at an image border: the two input lines next to it (`lines`, along `axis`),
 * upsampled and reflect-padded by `pads`, of which the kernel's 5 lines at the border (`end`) are convolved.
 */
function borderLine(lines: tf.Tensor4D, w: tf.Tensor4D, axis: 1 | 2, pads: [[number, number], [number, number]], end: 'first' | 'last'): tf.Tensor4D {
  const up = tf.image.resizeNearestNeighbor(lines, [lines.shape[1] * 2, lines.shape[2] * 2]);
  const padded = tf.mirrorPad(up, [[0, 0], ...pads, [0, 0]], 'reflect');
  const begin = [0, 0, 0, 0];
  const size = [...padded.shape];
  if (end === 'last') begin[axis] = size[axis] - KERNEL;
  size[axis] = KERNEL;
  return tf.conv2d(tf.slice(padded, begin, size), w, 1, 'valid');
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
    const lines = (start: number, axis: 1 | 2) => tf.slice(x, axis === 1 ? [0, start, 0, 0] : [0, 0, start, 0], axis === 1 ? [n, 2, wd, -1] : [n, h, 2, -1]);
    const full: [number, number] = [PAD, PAD];
    const top = borderLine(lines(0, 1), w, 1, [[PAD, 0], full], 'first');
    const bottom = borderLine(lines(h - 2, 1), w, 1, [[0, PAD], full], 'last');
    const rows = (t: tf.Tensor4D) => tf.slice(t, [0, 1, 0, 0], [n, oh - 2, 1, co]);
    const left = rows(borderLine(lines(0, 2), w, 2, [full, [PAD, 0]], 'first'));
    const right = rows(borderLine(lines(wd - 2, 2), w, 2, [full, [0, PAD]], 'last'));
    const inner = tf.slice(phases, [0, 1, 1, 0], [n, oh - 2, ow - 2, co]);
    return tf.concat([top, tf.concat([left, inner, right], 2), bottom], 1) as tf.Tensor4D;
  });
}

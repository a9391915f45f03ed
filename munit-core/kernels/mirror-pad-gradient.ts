// A correct gradient for MirrorPad. tfjs-core 4.22's own (dist/gradients/MirrorPad_grad.js, registered by the
// @tensorflow/tfjs union package) only slices the centre out of dy, so every pixel near a border misses the
// gradient that flows into it through its reflected copies.
import * as tf from '@tensorflow/tfjs-core';
import { registerGradient, unregisterGradient, getGradient, MirrorPad } from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap, MirrorPadAttrs, Tensor } from '@tensorflow/tfjs-core';
import { loweringSwitch } from '../onnx/lowering-switch.js';

type Mode = MirrorPadAttrs['mode'];

/**
 * Gradient of a mirror pad along one axis: dx = centre + mirrored left border + mirrored right border.
 *
 * For padded length before + n + after, the left border element j < before is a copy of input
 * (before - j) in 'reflect' mode (the edge itself is not repeated) and of (before - 1 - j) in 'symmetric'
 * mode. Read in reverse, each border lines up with consecutive inputs. Everything is differentiable (slice,
 * reverse, add, concat, pad), so it runs on every backend and can be differentiated again.
 */
function mirrorPadAxisGradient(dy: Tensor, axis: number, before: number, after: number, mode: Mode): Tensor {
  if (before === 0 && after === 0) return dy;
  const edge = mode === 'reflect' ? 1 : 0;
  const padded = dy.shape[axis];
  const n = padded - before - after;
  const rows = (start: number, count: number): Tensor => {
    const begin = dy.shape.map((_, a) => (a === axis ? start : 0));
    return tf.slice(
      dy,
      begin,
      dy.shape.map((d, a) => (a === axis ? count : d)),
    );
  };
  // Reversed left border element k is a copy of input k + edge; reversed right border element k of input
  // n - after - edge + k.
  const left = before > 0 ? tf.reverse(rows(0, before), axis) : undefined;
  const right = after > 0 ? tf.reverse(rows(padded - after, after), axis) : undefined;
  if (before + after + 2 * edge <= n) {
    // The borders land on disjoint rows: add them to those rows only and concatenate the pieces (one full copy,
    // where padding each border to full length and adding three full tensors wrote the map three times).
    const pieces: Tensor[] = [];
    const take = (start: number, count: number, extra?: Tensor) => {
      if (count === 0) return;
      const centre = rows(before + start, count);
      pieces.push(extra ? tf.add(centre, extra) : centre);
    };
    take(0, edge);
    take(edge, before, left);
    take(edge + before, n - before - after - 2 * edge);
    take(n - after - edge, after, right);
    take(n - edge, edge);
    return tf.concat(pieces, axis);
  }
  // Small maps whose borders overlap: pad each reversed border to full length and add.
  const padAlong = (t: Tensor, lo: number, hi: number): Tensor =>
    tf.pad(
      t,
      t.shape.map((_, a): [number, number] => (a === axis ? [lo, hi] : [0, 0])),
    );
  const terms = [rows(before, n)];
  if (left) terms.push(padAlong(left, edge, n - before - edge));
  if (right) terms.push(padAlong(right, n - after - edge, edge));
  return terms.length === 1 ? terms[0] : tf.addN(terms);
}

const byMatMul = loweringSwitch();

/**
 * Runs `fn` with the gradient of an image's mirror padding written as two matrix products: for graphs run on a GPU
 * (onnx/trace-backend.ts), where each of the ~20 slices, adds and concats of the form above is a kernel call that
 * costs more host time than the products' multiplies cost the GPU.
 */
export const withMirrorPadGradientByMatMul = <T>(fn: () => T): T => byMatMul.during(fn);

/**
 * The 0/1 matrix P [padded, n] of a mirror padding of n values (row i has its 1 at the value position i copies), or
 * its transpose: written out directly, since a transposed operand would cost the graph a Transpose.
 */
function padMatrix(n: number, before: number, after: number, mode: Mode, transposed: boolean): tf.Tensor2D {
  const edge = mode === 'reflect' ? 1 : 0;
  const padded = n + before + after;
  const m = new Float32Array(padded * n);
  for (let i = 0; i < padded; i++) {
    let j = i - before;
    if (j < 0) j = -j - 1 + edge;
    else if (j >= n) j = 2 * n - 1 - j - edge;
    m[transposed ? j * padded + i : i * n + j] = 1;
  }
  return tf.tensor2d(m, transposed ? [n, padded] : [padded, n]);
}

/** dx = Ph^T dy Pw for an NHWC map padded along H and W only. */
function imagePadGradientByMatMul(dy: Tensor, [, [hb, ha], [wb, wa]]: [number, number][], mode: Mode): Tensor {
  const [, hp, wp] = dy.shape as [number, number, number, number];
  const [h, w] = [hp - hb - ha, wp - wb - wa];
  // NCHW: the layout the graphs store images in, so these transposes move nothing there.
  const nchw = tf.transpose(dy, [0, 3, 1, 2]) as tf.Tensor4D;
  const alongW = tf.matMul(nchw, padMatrix(w, wb, wa, mode, false));
  const alongH = tf.matMul(padMatrix(h, hb, ha, mode, true), alongW);
  return tf.transpose(alongH, [0, 2, 3, 1]);
}

function mirrorPadGradFunc(dy: Tensor | Tensor[], _saved: Tensor[], attrs: NamedAttrMap): { x: () => Tensor } {
  const { paddings, mode } = attrs as unknown as MirrorPadAttrs;
  const grad = Array.isArray(dy) ? dy[0] : dy;
  const imageOnly = paddings.length === 4 && [paddings[0], paddings[3]].every((p) => p?.[0] === 0 && p?.[1] === 0);
  if (byMatMul.on && imageOnly) return { x: () => tf.tidy(() => imagePadGradientByMatMul(grad, paddings, mode)) };
  return {
    x: () =>
      tf.tidy(() => {
        // Mirror padding is separable, so its adjoint is the per-axis adjoints applied one after another.
        let dx = grad;
        paddings.forEach(([before, after], axis) => {
          dx = mirrorPadAxisGradient(dx, axis, before, after, mode);
        });
        // The gradient must be a tensor of its own even when nothing was padded.
        return dx === grad ? tf.clone(grad) : dx;
      }),
  };
}

/** Our config; the input's shape follows from dy and the paddings, so nothing needs to be kept alive. */
const mirrorPadGradConfig: GradConfig = {
  kernelName: MirrorPad,
  inputsToSave: [],
  gradFunc: mirrorPadGradFunc,
};

/** Replaces tfjs-core's MirrorPad gradient with the correct one. Safe to call more than once. */
export function registerMirrorPadGradient(): void {
  if (getGradient(MirrorPad) === mirrorPadGradConfig) return;
  // Unregistering first avoids tfjs' "Overriding the gradient" warning in debug mode.
  if (getGradient(MirrorPad) !== undefined) unregisterGradient(MirrorPad);
  registerGradient(mirrorPadGradConfig);
}

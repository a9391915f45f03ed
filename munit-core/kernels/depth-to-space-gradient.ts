// tfjs-core 4.22 registers no gradient for DepthToSpace, which the decoder's phase-wise upsampling convolution
// uses (layers/upsample-conv.ts). Its adjoint is space-to-depth: each block x block patch of dy back into channels.
import * as tf from '@tensorflow/tfjs-core';
import { registerGradient, getGradient, DepthToSpace } from '@tensorflow/tfjs-core';
import type { DepthToSpaceAttrs, GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';

function depthToSpaceGradFunc(dy: Tensor | Tensor[], _saved: Tensor[], attrs: NamedAttrMap): { x: () => Tensor } {
  const { blockSize: s, dataFormat } = attrs as unknown as DepthToSpaceAttrs;
  if (dataFormat !== 'NHWC') throw new Error(`the DepthToSpace gradient is for NHWC tensors, got ${dataFormat}`);
  const grad = Array.isArray(dy) ? dy[0] : dy;
  const [n, h, w, c] = grad.shape;
  // out[y * s + i, x * s + j, ch] = in[y, x, (i * s + j) * C + ch]
  return { x: () => tf.reshape(tf.transpose(tf.reshape(grad, [n, h / s, s, w / s, s, c]), [0, 1, 3, 2, 4, 5]), [n, h / s, w / s, s * s * c]) };
}

const depthToSpaceGradConfig: GradConfig = { kernelName: DepthToSpace, inputsToSave: [], gradFunc: depthToSpaceGradFunc };

/** Safe to call more than once. */
export function registerDepthToSpaceGradient(): void {
  if (getGradient(DepthToSpace) === undefined) registerGradient(depthToSpaceGradConfig);
}

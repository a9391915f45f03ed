// Adam's update on the webgpu backend as three small compute shaders per weight (first moment, second moment,
// weight) instead of the dozen element-wise tfjs ops of the generic path: each op is a separate GPU dispatch with
// a full read and write of the tensor, and MUNIT has about 250 weights per optimiser step.
import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';

const WORKGROUP = 64;

/** One output element per invocation over a flat index; `body` writes `value` from the inputs at `i`. */
function elementwiseProgram(shaderKey: string, variableNames: string[], uniforms: string, body: string, shape: number[]): WebGPUProgram {
  return {
    shaderKey,
    variableNames,
    uniforms,
    size: true,
    outputShape: shape,
    dispatchLayout: { x: shape.map((_, axis) => axis) },
    dispatch: [Math.ceil(tf.util.sizeFromShape(shape) / WORKGROUP), 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    getUserCode: () => `
      fn main(i : i32) {
        if (i < uniforms.size) {
          ${body}
          setOutputAtIndex(i, value);
        }
      }`,
  };
}

/** m' = beta m + (1 - beta) g' (or g'^2 for the second moment), g' = g + decay w: torch.optim.Adam's coupled decay. */
function momentProgram(shape: number[], squared: boolean): WebGPUProgram {
  const term = squared ? 'grad * grad' : 'grad';
  return elementwiseProgram(
    `munitAdamMoment${squared ? 2 : 1}`,
    ['w', 'g', 'm'],
    'beta : f32, oneMinusBeta : f32, decay : f32,',
    `let grad = g[i] + uniforms.decay * w[i];
          let value = uniforms.beta * m[i] + uniforms.oneMinusBeta * ${term};`,
    shape,
  );
}

/** w' = w - stepSize m' / (sqrt(v') / sqrt(1 - beta2^t) + eps), stepSize = lr / (1 - beta1^t). */
function weightProgram(shape: number[]): WebGPUProgram {
  return elementwiseProgram(
    'munitAdamWeight',
    ['w', 'm', 'v'],
    'stepSize : f32, sqrtBc2 : f32, eps : f32,',
    'let value = w[i] - uniforms.stepSize * m[i] / (sqrt(v[i]) / uniforms.sqrtBc2 + uniforms.eps);',
    shape,
  );
}

export interface AdamStepSettings {
  beta1: number;
  beta2: number;
  weightDecay: number;
  eps: number;
  stepSize: number;
  sqrtBc2: number;
}

/** One Adam update of weight `w` with gradient `g` and moments `m`, `v` (all assigned); queues three dispatches. */
export function webGpuAdamUpdate(w: tf.Variable, g: tf.Tensor, m: tf.Variable, v: tf.Variable, s: AdamStepSettings): void {
  const backend = tf.backend() as unknown as WebGPUBackend;
  const floats = (...data: number[]) => data.map((x) => ({ type: 'float32', data: [x] }));
  const run = (program: WebGPUProgram, inputs: tf.Tensor[], uniforms: { type: string; data: number[] }[]) =>
    tf.engine().makeTensorFromTensorInfo(backend.runWebGPUProgram(program, inputs, 'float32', uniforms));
  const mNew = run(momentProgram(w.shape, false), [w, g, m], floats(s.beta1, 1 - s.beta1, s.weightDecay));
  const vNew = run(momentProgram(w.shape, true), [w, g, v], floats(s.beta2, 1 - s.beta2, s.weightDecay));
  const wNew = run(weightProgram(w.shape), [w, mNew, vNew], floats(s.stepSize, s.sqrtBc2, s.eps));
  m.assign(mNew);
  v.assign(vNew);
  w.assign(wNew);
  tf.dispose([mNew, vNew, wNew]);
}

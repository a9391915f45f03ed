// Sum and Mean kernels for the wasm backend that add in float64. tfjs-backend-wasm 4.22 adds float32 values one at a
// time: the mean of 1,048,576 copies of 0.1 comes out 1e-3 off (PyTorch: 1.5e-8), and every norm inherits the
// error, so a 256x256 translation was 1.2e-3 from the reference. Reductions over one contiguous run of axes (all of
// MUNIT's: per channel over H x W, per sample over C x H x W, biases over N x H x W) are read in place.
import { backend_util, KernelFunc, TensorInfo, util } from '@tensorflow/tfjs-core';
import { replaceWasmKernel } from './replace-wasm-kernel.js';

interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

export function registerWasmSum(): void {
  replaceWasmKernel('Sum', (original) => reduction(original, false));
  replaceWasmKernel('Mean', (original) => reduction(original, true));
}

function reduction(original: KernelFunc, mean: boolean): KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const axes = util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const contiguous = axes.every((a, i) => a === axes[0] + i);
    if (x.dtype !== 'float32' || axes.length === 0 || !contiguous) return original(args);
    const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
    const outer = size(x.shape.slice(0, axes[0]));
    const run = size(x.shape.slice(axes[0], axes.at(-1)! + 1));
    const inner = size(x.shape.slice(axes.at(-1)! + 1));
    const [reducedShape] = backend_util.computeOutAndReduceShapes(x.shape, axes);
    const backend = args.backend as unknown as WasmHeapBackend;
    const out = backend.makeOutput(keepDims ? backend_util.expandShapeToKeepDim(reducedShape, axes) : reducedShape, 'float32');
    // Views only after makeOutput: allocating may grow the heap and detach earlier views.
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    const acc = new Float64Array(outer * inner);
    for (let o = 0; o < outer; o++) {
      for (let r = 0; r < run; r++) {
        const from = (o * run + r) * inner;
        const to = o * inner;
        for (let i = 0; i < inner; i++) acc[to + i] += src[from + i];
      }
    }
    const scale = mean ? 1 / run : 1;
    for (let k = 0; k < acc.length; k++) dst[k] = acc[k] * scale;
    return out;
  };
}

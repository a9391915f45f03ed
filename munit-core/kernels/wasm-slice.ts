// A Slice kernel for the wasm backend that reads its input in place. tfjs-backend-wasm 4.22's Slice first copies
// the whole input out of the wasm heap (readSync), so every small slice of a big tensor costs a full copy: about
// 240 ms per 64x64 training iteration before this.
import { slice_util, TensorInfo, util } from '@tensorflow/tfjs-core';
import { replaceWasmKernel } from './replace-wasm-kernel.js';

interface WasmSliceBackend {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

export function registerWasmSlice(): void {
  replaceWasmKernel('Slice', (original) => (args) => {
    const x = args.inputs.x as TensorInfo;
    if (x.dtype === 'string') return original(args);
    const backend = args.backend as unknown as WasmSliceBackend;
    const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
    const [start, extent] = slice_util.parseSliceParams(x as never, begin, size);
    const out = backend.makeOutput(extent, x.dtype);
    if (util.sizeFromShape(extent) === 0) return out;
    // Views only after makeOutput: allocating may grow the heap and detach earlier views.
    copyBox(backend.typedArrayFromHeap(x), x.shape, backend.typedArrayFromHeap(out), start, extent);
    return out;
  });
}

/** Copies the box [start, start + extent) of a row-major array of `shape` into `dst`, one contiguous run at a time. */
function copyBox(
  src: Float32Array | Int32Array | Uint8Array,
  shape: number[],
  dst: Float32Array | Int32Array | Uint8Array,
  start: number[],
  extent: number[],
): void {
  const rank = shape.length;
  const strides = [...util.computeStrides(shape), 1];
  // The innermost dimension, merged with the dimensions before it while those after are taken whole.
  let inner = rank - 1;
  let run = extent[inner];
  while (inner > 0 && extent[inner] === shape[inner] && start[inner] === 0) {
    inner -= 1;
    run *= extent[inner];
  }
  const index = new Array<number>(inner).fill(0);
  const count = extent.slice(0, inner).reduce((a, b) => a * b, 1);
  for (let k = 0; k < count; k++) {
    let offset = start[inner] * strides[inner];
    for (let d = 0; d < inner; d++) offset += (start[d] + index[d]) * strides[d];
    dst.set(src.subarray(offset, offset + run), k * run);
    for (let d = inner - 1; d >= 0; d--) {
      if (++index[d] < extent[d]) break;
      index[d] = 0;
    }
  }
}

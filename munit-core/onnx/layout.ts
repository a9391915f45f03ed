// Moving tensor data between tfjs' layouts and the graph's (NHWC <-> NCHW, [kH, kW, in, out] <-> [out, in, kH, kW]).
// Done in JavaScript: tfjs-backend-wasm's Transpose of a large 4-D weight takes seconds.

/** out[i0, i1, ...] (axes in `perm` order) = data[...]: axis k of the result is axis perm[k] of `shape`. */
export function permute(data: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  if (perm.every((a, i) => a === i)) return data;
  const rank = shape.length;
  const strides = new Array<number>(rank);
  let s = 1;
  for (let a = rank - 1; a >= 0; a--) {
    strides[a] = s;
    s *= shape[a];
  }
  const outShape = perm.map((a) => shape[a]);
  const inStride = perm.map((a) => strides[a]);
  const out = new Float32Array(data.length);
  // Walk the result in order, stepping the source index by the permuted strides (an odometer over the axes).
  const index = new Array<number>(rank).fill(0);
  const last = rank - 1;
  const innerStride = inStride[last];
  const innerSize = outShape[last];
  let src = 0;
  for (let o = 0; o < out.length; o += innerSize) {
    for (let j = 0, p = src; j < innerSize; j++, p += innerStride) out[o + j] = data[p];
    for (let a = last - 1; a >= 0; a--) {
      index[a]++;
      src += inStride[a];
      if (index[a] < outShape[a]) break;
      src -= inStride[a] * outShape[a];
      index[a] = 0;
    }
  }
  return out;
}

export function inversePerm(perm: readonly number[]): number[] {
  const inverse: number[] = [];
  perm.forEach((a, i) => (inverse[a] = i));
  return inverse;
}

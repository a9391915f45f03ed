// Tensors as torch.save writes them: a typed storage (one flat array, shared by every view of it) plus a view
// (shape, strides and offset, in elements). Values are read as float32, the only dtype MUNIT's weights use; the
// other floating and integer storages are converted (an optimizer's `step` may be a float or long tensor).
import { TorchFileError } from './torch-file-error.js';

export type TorchDType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32';

/** A storage class named by a pickle (torch.FloatStorage ...). */
export class StorageType {
  constructor(
    readonly name: string,
    readonly dtype: TorchDType,
    readonly itemSize: number,
  ) {}
}

export const STORAGE_TYPES: ReadonlyMap<string, StorageType> = new Map(
  (
    [
      ['FloatStorage', 'float32', 4],
      ['DoubleStorage', 'float64', 8],
      ['HalfStorage', 'float16', 2],
      ['BFloat16Storage', 'bfloat16', 2],
      ['LongStorage', 'int64', 8],
      ['IntStorage', 'int32', 4],
    ] as const
  ).map(([name, dtype, size]) => [name, new StorageType(`torch.${name}`, dtype, size)]),
);

export interface TorchStorage {
  type: StorageType;
  key: string;
  /** Element count declared by the pickle; checked against the bytes before anything is read. */
  numel: number;
  /** Filled once the storage's bytes are read (for the legacy format, after the whole pickle). */
  data?: Float32Array;
}

/** A class rather than an interface so that values from a pickle can be told to be tensors (`instanceof`). */
export class TorchTensor {
  constructor(
    /** The storage's dtype; `data` holds its values as float32. */
    readonly dtype: TorchDType,
    readonly shape: number[],
    readonly strides: number[],
    readonly offset: number,
    /** The whole storage (shared with other views of it), not only this tensor's elements. */
    public data: Float32Array,
  ) {}
}

/** Reads element i of a storage of each dtype other than float32 (little-endian). */
const READERS: Record<Exclude<TorchDType, 'float32'>, (v: DataView, i: number) => number> = {
  float64: (v, i) => v.getFloat64(8 * i, true),
  float16: (v, i) => halfToFloat(v.getUint16(2 * i, true)),
  bfloat16: (v, i) => bfloat16ToFloat(v.getUint16(2 * i, true)),
  int64: (v, i) => Number(v.getBigInt64(8 * i, true)),
  int32: (v, i) => v.getInt32(4 * i, true),
};

/**
 * The values of a storage's bytes as float32. Float32 data that is 4-byte aligned is not copied (read in the machine's
 * byte order: little-endian, like the files, on every platform this runs on).
 */
export function storageValues(bytes: Uint8Array, type: StorageType): Float32Array {
  const n = bytes.length / type.itemSize;
  if (type.dtype === 'float32') {
    if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, n);
    const copy = new Float32Array(n);
    new Uint8Array(copy.buffer).set(bytes);
    return copy;
  }
  const read = READERS[type.dtype];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = read(view, i);
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const bf16Scratch = new DataView(new ArrayBuffer(4));
function bfloat16ToFloat(b: number): number {
  bf16Scratch.setUint32(0, b << 16);
  return bf16Scratch.getFloat32(0);
}

function isIndexList(v: unknown, maxLength: number): v is number[] {
  return Array.isArray(v) && v.length <= maxLength && v.every((x) => Number.isSafeInteger(x) && x >= 0);
}

/** More dimensions than any tensor torch can hold (its limit is 64). */
const MAX_DIMS = 64;

/**
 * torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...) with every index checked against the storage:
 * the view must lie inside it, and may not have more elements than it (stride-0 expansions are refused, so a few
 * declared bytes can never become a huge tensor). Its `data` is empty until the storage has been read.
 */
export function checkTensorView(storage: TorchStorage, offset: unknown, size: unknown, stride: unknown, source: string): TorchTensor {
  const fail = (detail: string): never => {
    throw new TorchFileError(source, `tensor on storage '${storage.key}' (${storage.numel} elements): ${detail}`);
  };
  if (!Number.isSafeInteger(offset) || (offset as number) < 0) fail(`offset ${String(offset)} is not an index`);
  if (!isIndexList(size, MAX_DIMS) || !isIndexList(stride, MAX_DIMS) || size.length !== stride.length)
    return fail('its size and stride are not two index tuples of one length');
  let numel = 1;
  let last = offset as number;
  for (let d = 0; d < size.length; d++) {
    numel *= size[d];
    last += (size[d] - 1) * stride[d];
  }
  if (numel > 0 && (numel > storage.numel || last >= storage.numel))
    fail(`the view [${size}] (stride [${stride}], offset ${offset}) reaches beyond the storage`);
  return new TorchTensor(storage.type.dtype, [...size], [...stride], offset as number, new Float32Array(0));
}

/** The tensor's elements in row-major order (a view of the storage when they already lie that way). */
export function tensorValues(t: TorchTensor): Float32Array {
  const numel = t.shape.reduce((a, b) => a * b, 1);
  let expected = 1;
  let contiguous = true;
  for (let d = t.shape.length - 1; d >= 0; d--) {
    if (t.shape[d] !== 1 && t.strides[d] !== expected) contiguous = false;
    expected *= t.shape[d];
  }
  if (contiguous) return t.data.subarray(t.offset, t.offset + numel);
  const out = new Float32Array(numel);
  const index = new Array<number>(t.shape.length).fill(0);
  for (let i = 0; i < numel; i++) {
    let at = t.offset;
    for (let d = 0; d < index.length; d++) at += index[d] * t.strides[d];
    out[i] = t.data[at];
    for (let d = index.length - 1; d >= 0 && ++index[d] === t.shape[d]; d--) index[d] = 0;
  }
  return out;
}

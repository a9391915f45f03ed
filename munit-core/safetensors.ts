// The safetensors format (8-byte little-endian header length, JSON header, raw little-endian data): read and write.
// Files we write carry `data_sha256` in their metadata (the SHA-256 of everything after the header), and reading a file
// that has one checks it, so a damaged file is reported as damaged wherever it is read instead of loading bad weights.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

export interface StoredTensor {
  dtype: 'F32';
  shape: number[];
  data: Float32Array;
}

export type TensorMap = Map<string, StoredTensor>;

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Parses a safetensors buffer; `source` names the file in errors. Only F32 tensors are supported. */
export function decodeSafetensors(buffer: Buffer, source: string): { tensors: TensorMap; metadata: Record<string, string> } {
  if (buffer.length < 8) throw new Error(`${source}: not a safetensors file (${buffer.length} bytes)`);
  const headerLength = Number(buffer.readBigUInt64LE(0));
  if (headerLength > buffer.length - 8 || headerLength > 100_000_000) {
    throw new Error(`${source}: header length ${headerLength} exceeds the file (${buffer.length} bytes): truncated or not safetensors`);
  }
  let header: Record<string, HeaderEntry | Record<string, string>>;
  try {
    header = JSON.parse(buffer.subarray(8, 8 + headerLength).toString('utf8'));
  } catch (err) {
    throw new Error(`${source}: unreadable safetensors header (${(err as Error).message})`);
  }
  const dataStart = 8 + headerLength;
  const tensors: TensorMap = new Map();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets } = entry as HeaderEntry;
    if (dtype !== 'F32') throw new Error(`${source}: tensor '${name}' has dtype ${dtype}; only F32 is supported`);
    const [begin, end] = data_offsets;
    const count = shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * 4 || dataStart + end > buffer.length) {
      throw new Error(`${source}: tensor '${name}' (shape [${shape}]) does not fit its byte range ${begin}-${end}: file truncated or corrupt`);
    }
    // Copy: the buffer's byte offset need not be 4-aligned.
    const data = new Float32Array(count);
    Buffer.from(data.buffer).set(buffer.subarray(dataStart + begin, dataStart + end));
    tensors.set(name, { dtype: 'F32', shape, data });
  }
  const expected = metadata[DATA_CHECKSUM_KEY];
  if (expected !== undefined) {
    const actual = createHash('sha256').update(buffer.subarray(dataStart)).digest('hex');
    if (actual !== expected)
      throw new Error(
        `${source}: damaged: the data does not match its checksum (${DATA_CHECKSUM_KEY} ${expected.slice(0, 12)}..., the file has ${actual.slice(0, 12)}...)`,
      );
  }
  return { tensors, metadata };
}

/** Metadata key of the data section's SHA-256 (hex). */
export const DATA_CHECKSUM_KEY = 'data_sha256';

export function readSafetensors(file: string): { tensors: TensorMap; metadata: Record<string, string> } {
  return decodeSafetensors(fs.readFileSync(file), file);
}

/**
 * Serialises tensors (in insertion order) with optional string metadata; `checksum` adds the data's SHA-256 to the
 * metadata (see DATA_CHECKSUM_KEY).
 */
export function encodeSafetensors(tensors: TensorMap, metadata: Record<string, string> = {}, options: { checksum?: boolean } = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (options.checksum) {
    const hash = createHash('sha256');
    for (const t of tensors.values()) hash.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    metadata = { ...metadata, [DATA_CHECKSUM_KEY]: hash.digest('hex') };
  }
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, at);
    at += t.data.byteLength;
  }
  return out;
}

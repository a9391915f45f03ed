// Just enough of the zip format to read torch.save's archives (PyTorch >= 1.6): the central directory at the end,
// then each entry's bytes. torch stores entries uncompressed (data 64-byte aligned) and writes sizes only in the
// central directory (its local headers use data descriptors), so the central directory is the one source of sizes.
// Deflated entries (an archive re-packed by another tool) are inflated with node:zlib, never past their declared
// size. Every entry's CRC-32 is checked, so a damaged download is reported rather than loaded as wrong weights.
import * as zlib from 'node:zlib';
import { TorchFileError } from './torch-file-error.js';

export interface ZipEntry {
  name: string;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  /** Where the entry's (possibly compressed) bytes start in the file. */
  dataOffset: number;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
/** Deflate cannot shrink data by more than this factor: a bigger declared size is a lie (a zip bomb's). */
const MAX_DEFLATE_RATIO = 1032;

export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/** The entries of the archive, by name. */
export function readZipDirectory(bytes: Uint8Array, source: string): Map<string, ZipEntry> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (detail: string): never => {
    throw new TorchFileError(source, `zip archive: ${detail}`);
  };
  // The end-of-central-directory record: 22 bytes plus a comment of at most 65535 bytes, at the very end.
  let eocd = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (view.getUint32(at, true) === EOCD) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) fail('no end-of-central-directory record (the file is truncated)');
  const count = view.getUint16(eocd + 10, true);
  const dirSize = view.getUint32(eocd + 12, true);
  const dirOffset = view.getUint32(eocd + 16, true);
  if (view.getUint16(eocd + 4, true) !== 0 || view.getUint16(eocd + 6, true) !== 0) fail('multi-part archives are not supported');
  if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) fail('zip64 archives (over 4 GB or 65535 entries) are not supported');
  if (dirOffset + dirSize > eocd) fail(`the central directory (${dirSize} bytes at ${dirOffset}) overlaps its end record at ${eocd}: truncated or corrupt`);
  const entries = new Map<string, ZipEntry>();
  const names = new TextDecoder('utf-8');
  let at = dirOffset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > dirOffset + dirSize || view.getUint32(at, true) !== CENTRAL) fail(`central directory entry ${i} at byte ${at} is damaged`);
    const method = view.getUint16(at + 10, true);
    const crc32 = view.getUint32(at + 16, true);
    const compressedSize = view.getUint32(at + 20, true);
    const size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const next = at + 46 + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    if (next > dirOffset + dirSize) fail(`central directory entry ${i} at byte ${at} runs past the directory`);
    const name = names.decode(bytes.subarray(at + 46, at + 46 + nameLength));
    const local = view.getUint32(at + 42, true);
    if (local + 30 > dirOffset || view.getUint32(local, true) !== LOCAL) fail(`entry '${name}' has no local header at byte ${local}`);
    const dataOffset = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (dataOffset + compressedSize > dirOffset)
      fail(`entry '${name}' (${compressedSize} bytes at ${dataOffset}) runs into the central directory: truncated or corrupt`);
    if (method !== 0 && method !== 8) fail(`entry '${name}' uses compression method ${method} (only stored and deflated are supported)`);
    if (method === 0 && compressedSize !== size) fail(`stored entry '${name}' declares ${size} bytes but holds ${compressedSize}`);
    if (method === 8 && size > compressedSize * MAX_DEFLATE_RATIO + 64) fail(`entry '${name}' claims to inflate ${compressedSize} bytes to ${size}`);
    entries.set(name, { name, method, crc32, compressedSize, size, dataOffset });
    at = next;
  }
  return entries;
}

/** The entry's bytes (a view of `bytes` when stored), checked against its CRC-32. */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry, source: string): Uint8Array {
  const raw = bytes.subarray(entry.dataOffset, entry.dataOffset + entry.compressedSize);
  let data = raw;
  if (entry.method === 8) {
    try {
      data = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
    } catch (err) {
      throw new TorchFileError(source, `zip entry '${entry.name}' does not inflate (${(err as Error).message})`);
    }
    if (data.length !== entry.size)
      throw new TorchFileError(source, `zip entry '${entry.name}' inflates to ${data.length} bytes, not the ${entry.size} declared`);
  }
  if (zlib.crc32(data) >>> 0 !== entry.crc32) throw new TorchFileError(source, `zip entry '${entry.name}' fails its CRC-32 check: the file is corrupt`);
  return data;
}

// Reads a file written by torch.save, in either of its formats, into plain values: Maps for dicts, arrays for lists
// and tuples, numbers, strings, and TorchTensor for tensors. Executes nothing (see pickle.ts and
// state-dict-globals.ts); every problem with the file is a TorchFileError naming it.
import * as fs from 'node:fs';
import { decodeLegacyTorchFile, isLegacyTorchFile } from './legacy-reader.js';
import { unpickle } from './pickle.js';
import { storageValues } from './tensor.js';
import { TorchObjects } from './state-dict-globals.js';
import { TorchFileError } from './torch-file-error.js';
import { isZip, readZipDirectory, readZipEntry } from './zip-reader.js';

export { TorchFileError } from './torch-file-error.js';
export { TorchTensor, tensorValues } from './tensor.js';

export function readTorchFile(file: string): unknown {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new TorchFileError(file, `cannot read the file (${(err as Error).message})`);
  }
  return decodeTorchFile(bytes, file);
}

export function decodeTorchFile(bytes: Uint8Array, source: string): unknown {
  if (isZip(bytes)) return decodeZipTorchFile(bytes, source);
  if (isLegacyTorchFile(bytes, source)) return decodeLegacyTorchFile(bytes, source);
  const tar = bytes.length > 262 && new TextDecoder().decode(bytes.subarray(257, 262)) === 'ustar';
  throw new TorchFileError(
    source,
    tar ? 'the tar format of PyTorch before 0.4 is not supported' : 'not a PyTorch file (neither the zip format nor the legacy format of torch.save)',
  );
}

/**
 * The zip format (PyTorch >= 1.6): `<archive>/data.pkl` is the pickle; storage `key` is `<archive>/data/<key>`,
 * its raw little-endian bytes.
 */
function decodeZipTorchFile(bytes: Uint8Array, source: string): unknown {
  const entries = readZipDirectory(bytes, source);
  const pickles = [...entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1) throw new TorchFileError(source, `a zip archive with ${pickles.length} data.pkl entries: not a torch.save file`);
  const prefix = pickles[0].slice(0, -'data.pkl'.length);
  const byteorder = entries.get(`${prefix}byteorder`);
  if (byteorder && new TextDecoder().decode(readZipEntry(bytes, byteorder, source)) !== 'little') {
    throw new TorchFileError(source, 'the file was written on a big-endian machine, which is not supported');
  }
  const objects = new TorchObjects(source);
  const host = objects.host((pid) => {
    const storage = objects.storage(objects.parseStoragePid(pid));
    if (!storage.data) {
      const entry = entries.get(`${prefix}data/${storage.key}`);
      if (!entry) throw new TorchFileError(source, `storage '${storage.key}' is missing from the archive`);
      const byteLength = storage.numel * storage.type.itemSize;
      if (entry.size !== byteLength)
        throw new TorchFileError(source, `storage '${storage.key}' holds ${entry.size} bytes, but its tensors declared ${byteLength}`);
      storage.data = storageValues(readZipEntry(bytes, entry, source), storage.type);
    }
    return storage;
  });
  const pickle = readZipEntry(bytes, entries.get(pickles[0])!, source);
  const { value } = unpickle(pickle, 0, host, `${source} (${pickles[0]})`);
  objects.finish();
  return value;
}

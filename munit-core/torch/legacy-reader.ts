// torch.save's format before the zip archive (PyTorch 0.4 to 1.5, and `_use_new_zipfile_serialization=False`
// since): five things in a row in one stream:
//   pickle(magic number)  pickle(protocol version 1001)  pickle(sys info: byte order, type sizes)
//   pickle(the object, storages as persistent ids)  pickle(sorted list of storage keys)
//   then for each key in that list: int64 element count, then the storage's raw bytes.
// The official pretrained MUNIT models are in this format.
import { describeValue, PickleHost, unpickle } from './pickle.js';
import { storageValues } from './tensor.js';
import { TorchObjects } from './state-dict-globals.js';
import { TorchFileError } from './torch-file-error.js';

const MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;
const PROTOCOL_VERSION = 1001;

/** A host for the small pickles around the object: they name no globals and no storages. */
function plainHost(source: string): PickleHost {
  return {
    findClass: (module, name) => {
      throw new TorchFileError(source, `unexpected global ${module}.${name} in the file's header`);
    },
    persistentLoad: () => {
      throw new TorchFileError(source, "unexpected storage in the file's header");
    },
  };
}

/** Whether the bytes start as a legacy torch file does: a pickle of the magic number. */
export function isLegacyTorchFile(bytes: Uint8Array, source: string): boolean {
  try {
    return unpickle(bytes, 0, plainHost(source), source).value === MAGIC_NUMBER;
  } catch (err) {
    if (err instanceof TorchFileError) return false;
    throw err;
  }
}

export function decodeLegacyTorchFile(bytes: Uint8Array, source: string): unknown {
  const fail = (detail: string): never => {
    throw new TorchFileError(source, detail);
  };
  const header = plainHost(source);
  let pos = unpickle(bytes, 0, header, source).end;
  const protocol = unpickle(bytes, pos, header, source);
  if (protocol.value !== PROTOCOL_VERSION) fail(`legacy format protocol ${describeValue(protocol.value)} is not supported (expected ${PROTOCOL_VERSION})`);
  const sysInfo = unpickle(bytes, protocol.end, header, source);
  if (!(sysInfo.value instanceof Map) || sysInfo.value.get('little_endian') !== true)
    fail('the file was written on a big-endian machine, which is not supported');
  const objects = new TorchObjects(source);
  const main = unpickle(
    bytes,
    sysInfo.end,
    objects.host((pid) => {
      const parsed = objects.parseStoragePid(pid);
      // PyTorch 0.4 could save a storage that is a slice of another ("view metadata"); state dicts never have them.
      if (parsed.rest.length !== 1 || parsed.rest[0] !== null) fail(`storage '${parsed.key}' is a storage view, which is not supported`);
      return objects.storage(parsed);
    }),
    source,
  );
  const keys = unpickle(bytes, main.end, header, source);
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) return fail(`the storage key list is ${describeValue(keys.value)}`);
  const declared = objects.declaredStorages();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  pos = keys.end;
  for (const key of keys.value as string[]) {
    const storage = declared.get(key) ?? fail(`storage '${key}' is listed but no tensor uses it`);
    if (storage.data) fail(`storage '${key}' is listed twice`);
    if (pos + 8 > bytes.length) fail(`the file ends at byte ${bytes.length}, before storage '${key}' (truncated)`);
    const count = view.getBigInt64(pos, true);
    if (count !== BigInt(storage.numel)) fail(`storage '${key}' at byte ${pos} holds ${count} elements, but its tensors declared ${storage.numel}`);
    const byteLength = storage.numel * storage.type.itemSize;
    if (byteLength > bytes.length - pos - 8) fail(`storage '${key}' (${byteLength} bytes at byte ${pos + 8}) runs past the end of the file (truncated)`);
    storage.data = storageValues(bytes.subarray(pos + 8, pos + 8 + byteLength), storage.type);
    pos += 8 + byteLength;
  }
  objects.finish();
  return main.value;
}

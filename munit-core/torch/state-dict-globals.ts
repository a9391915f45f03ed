// What a pickled state dict or optimizer state may name, and how those names are rebuilt without Python: the
// allowlist of globals (everything else is refused by name), storages from persistent ids, and tensors as views of
// them. One TorchObjects per file keeps its storages (views of one storage share it, as in PyTorch) and its tensors.
import { PickleCallable, PickleHost, describeValue } from './pickle.js';
import { checkTensorView, STORAGE_TYPES, StorageType, TorchStorage, TorchTensor } from './tensor.js';
import { TorchFileError } from './torch-file-error.js';

/** ('storage', storage_type, key, location, numel, ...): what torch.save writes for each storage it meets. */
export interface StoragePid {
  type: StorageType;
  key: string;
  numel: number;
  /** Fields after numel (the legacy format's view metadata). */
  rest: readonly unknown[];
}

export class TorchObjects {
  private readonly storages = new Map<string, TorchStorage>();
  private readonly tensors: { tensor: TorchTensor; storage: TorchStorage }[] = [];

  constructor(readonly source: string) {}

  private fail(detail: string): never {
    throw new TorchFileError(this.source, detail);
  }

  parseStoragePid(pid: unknown): StoragePid {
    if (!Array.isArray(pid) || pid.length < 5 || pid[0] !== 'storage') return this.fail(`unknown persistent id ${describeValue(pid)} (expected a storage)`);
    const [, type, key, , numel, ...rest] = pid;
    if (!(type instanceof StorageType) || typeof key !== 'string' || !Number.isSafeInteger(numel) || numel < 0) {
      return this.fail(`malformed storage reference (${pid.map(describeValue).join(', ')})`);
    }
    return { type, key, numel, rest };
  }

  /** The storage `key` (one object per key, so views share it); its data is read by the format's reader. */
  storage(pid: StoragePid): TorchStorage {
    const known = this.storages.get(pid.key);
    if (!known) {
      const storage: TorchStorage = { type: pid.type, key: pid.key, numel: pid.numel };
      this.storages.set(pid.key, storage);
      return storage;
    }
    if (known.type !== pid.type || known.numel !== pid.numel) this.fail(`storage '${pid.key}' is declared twice, differently`);
    return known;
  }

  /** Every storage declared so far (for the legacy format, whose data follows the pickle). */
  declaredStorages(): ReadonlyMap<string, TorchStorage> {
    return this.storages;
  }

  /** The pickle host: allowlisted globals, and storages through the format's `persistentLoad`. */
  host(persistentLoad: (pid: unknown) => TorchStorage): PickleHost {
    return {
      findClass: (module, name) => this.findClass(module, name),
      persistentLoad,
    };
  }

  /** Gives every tensor its storage's values; every storage a tensor uses must have been read by now. */
  finish(): void {
    for (const { tensor, storage } of this.tensors) tensor.data = storage.data ?? this.fail(`storage '${storage.key}' has no data in the file`);
  }

  private findClass(module: string, name: string): unknown {
    const qualified = `${module}.${name}`;
    if (module === 'torch' && STORAGE_TYPES.has(name)) return STORAGE_TYPES.get(name);
    switch (qualified) {
      case 'collections.OrderedDict':
        return new PickleCallable(qualified, (args) => (args.length === 0 ? new Map() : this.fail(`${qualified} called with arguments`)));
      case 'torch._utils._rebuild_tensor_v2':
      case 'torch._utils._rebuild_tensor': // PyTorch 0.3's: the same first four arguments
        return new PickleCallable(qualified, (args) => this.rebuildTensor(args));
      case 'torch._utils._rebuild_parameter':
        // nn.Parameter(data, requires_grad): the data is all a state dict needs.
        return new PickleCallable(qualified, ([data]) => (data instanceof TorchTensor ? data : this.fail(`${qualified} of ${describeValue(data)}`)));
    }
    return this.fail(
      `the pickle names the global ${qualified}, which a checkpoint of weights never needs: refusing to load it ` +
        '(opened in Python, this file would import and may run it)',
    );
  }

  /** _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]), or v1's first four. */
  private rebuildTensor(args: readonly unknown[]): TorchTensor {
    const [storage, offset, size, stride] = args;
    if (args.length < 4 || !this.isStorage(storage)) return this.fail(`_rebuild_tensor_v2 without a storage (${args.map(describeValue).join(', ')})`);
    const tensor = checkTensorView(storage, offset, size, stride, this.source);
    this.tensors.push({ tensor, storage });
    return tensor;
  }

  private isStorage(v: unknown): v is TorchStorage {
    return typeof v === 'object' && v !== null && this.storages.get((v as TorchStorage).key) === v;
  }
}

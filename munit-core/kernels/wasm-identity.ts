// An Identity kernel for the wasm backend that shares its input's memory, as the cpu backend's does. tfjs'
// gradient tape clones (Identity) every tensor it saves for the backward pass, e.g. each convolution's input and
// filter, and tfjs-backend-wasm 4.22's Identity copies the data: about 2,000 copies per 64x64 training iteration.
// Sharing is safe because nothing writes into a tensor's memory after it was made (Adam gives each weight a new
// tensor; its in-place moments are never cloned).
import { TensorInfo } from '@tensorflow/tfjs-core';
import { replaceWasmKernel } from './replace-wasm-kernel.js';

interface RefCountingBackend {
  incRef(dataId: object): void;
}

export function registerWasmIdentity(): void {
  replaceWasmKernel('Identity', (original) => (args) => {
    const x = args.inputs.x as TensorInfo;
    if (x.dtype === 'string') return original(args);
    (args.backend as unknown as RefCountingBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  });
}

// An Identity kernel for the wasm backend that shares its input's memory, as the cpu backend's does. tfjs'
// gradient tape clones (Identity) every tensor it saves for the backward pass, e.g. each convolution's input and
// filter, and tfjs-backend-wasm 4.22's Identity copies the data: about 2,000 copies per 64x64 training iteration.
// Sharing is safe because nothing writes into a tensor's memory after it was made (Adam gives each weight a new
// tensor; its in-place moments are never cloned).
import { getKernel, KernelConfig, KernelFunc, registerKernel, TensorInfo, unregisterKernel } from '@tensorflow/tfjs-core';

interface RefCountingBackend {
  incRef(dataId: object): void;
}

let installed = false;

export function registerWasmIdentity(): void {
  if (installed) return;
  const original = getKernel('Identity', 'wasm');
  if (!original) return;
  const kernelFunc: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    if (x.dtype === 'string') return original.kernelFunc(args);
    (args.backend as unknown as RefCountingBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  unregisterKernel('Identity', 'wasm');
  registerKernel({ ...original, kernelFunc } as KernelConfig);
  installed = true;
}

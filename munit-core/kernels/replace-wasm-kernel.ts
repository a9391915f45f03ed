// Swaps one of tfjs-backend-wasm's kernels for ours, once; ours gets the original to fall back on (string tensors).
import { getKernel, KernelConfig, KernelFunc, registerKernel, unregisterKernel } from '@tensorflow/tfjs-core';

const replaced = new Set<string>();

export function replaceWasmKernel(name: string, make: (original: KernelFunc) => KernelFunc): void {
  if (replaced.has(name)) return;
  const original = getKernel(name, 'wasm');
  if (!original) return;
  unregisterKernel(name, 'wasm');
  registerKernel({ ...original, kernelFunc: make(original.kernelFunc) } as KernelConfig);
  replaced.add(name);
}

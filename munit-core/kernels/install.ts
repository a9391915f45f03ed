// Gradient fixes installed once the backend is known (see backend.ts).
import { registerDepthToSpaceGradient } from './depth-to-space-gradient.js';
import { registerMirrorPadGradient } from './mirror-pad-gradient.js';
import { registerFastConvGradients } from './conv-gradients.js';
import { registerWasmIdentity } from './wasm-identity.js';
import { registerWasmSlice } from './wasm-slice.js';
import { registerWasmSum } from './wasm-sum.js';

export function installGradientFixes(tfBackendName: string): void {
  // tfjs-core 4.22's MirrorPad gradient drops the reflected border contributions on every backend.
  registerMirrorPadGradient();
  registerDepthToSpaceGradient();
  // libtensorflow has fast native convolution gradients; wasm lacks Conv2DBackpropFilter and its
  // Conv2DBackpropInput is slow, and the pure-JS ones are slower still.
  if (tfBackendName === 'wasm' || tfBackendName === 'cpu') registerFastConvGradients();
  if (tfBackendName === 'wasm') {
    registerWasmSlice();
    registerWasmIdentity();
    registerWasmSum();
  }
}

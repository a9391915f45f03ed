// The engines and onnxruntime providers a person can ask for, apart from engine-choice.ts (which loads tfjs) so that
// the extension's settings can name them too.
/** onnxruntime's execution providers, fastest first: CUDA (an optional install), WebGPU (bundled), the CPU. */
export type OnnxProvider = 'cuda' | 'webgpu' | 'cpu';
export const ONNX_PROVIDERS: readonly OnnxProvider[] = ['cuda', 'webgpu', 'cpu'];

export type EngineName = 'onnx' | 'tfjs';
export const ENGINE_NAMES: readonly EngineName[] = ['onnx', 'tfjs'];
/** Forces an engine: `MUNIT_ENGINE=onnx|tfjs`; `MUNIT_ONNX_PROVIDER=cuda|webgpu|cpu` forces onnxruntime's provider. */
export const ENGINE_ENV = 'MUNIT_ENGINE';
export const PROVIDER_ENV = 'MUNIT_ONNX_PROVIDER';
/** `MUNIT_ONNX_BINDING=direct|node`: onnxruntime's C API (the CPU default, no copies) or onnxruntime-node's binding. */
export const BINDING_ENV = 'MUNIT_ONNX_BINDING';

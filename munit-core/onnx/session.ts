// onnxruntime-node sessions for compiled graphs: which execution provider, how many threads, and the feeds.
import * as os from 'node:os';
import * as ort from 'onnxruntime-node';

import type { OnnxProvider } from './engine-choice.js';

export interface SessionOptions {
  provider: OnnxProvider;
  /** Intra-op threads on the CPU provider (default: one per core). */
  threads?: number;
}

/** `MUNIT_ONNX_THREADS` overrides the thread count, as `MUNIT_WASM_THREADS` does for tfjs. */
export function onnxThreadCount(): number {
  const env = Number(process.env.MUNIT_ONNX_THREADS);
  return Number.isInteger(env) && env > 0 ? env : Math.max(1, os.availableParallelism());
}

export async function createSession(model: Uint8Array, options: SessionOptions): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model, {
    executionProviders: [options.provider],
    // 'all' includes the NCHWc layout for AVX-512 convolutions: 3x faster steps than 'extended' here.
    graphOptimizationLevel: 'all',
    intraOpNumThreads: options.threads ?? onnxThreadCount(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Memory patterns replan per shape; our shapes never change, so the arena can reuse its plan.
    enableMemPattern: true,
    enableCpuMemArena: true,
    // MUNIT_ORT_PROFILE=<prefix>: onnxruntime writes a per-node profile (JSON) when the session is released.
    ...(process.env.MUNIT_ORT_PROFILE ? { enableProfiling: true, profileFilePrefix: process.env.MUNIT_ORT_PROFILE } : {}),
  });
}

export function floatTensor(data: Float32Array, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor('float32', data, dims);
}

export function scalarTensor(value: number): ort.Tensor {
  return new ort.Tensor('float32', Float32Array.of(value), []);
}

export { ort };

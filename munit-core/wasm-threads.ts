// Multi-threaded XNNPACK for the wasm backend under Node.
//
// tfjs-backend-wasm ships a threaded build (emscripten pthreads, which use worker_threads under Node) but never
// selects it under Node (WASM_HAS_MULTITHREAD_SUPPORT is hard-wired to false there), and its loader hands the
// pthread workers their scripts as Blob URLs, which Node's Worker cannot open. Its thread pool size is also fixed
// at start-up to half of os.cpus().length (it assumes two hardware threads per core), ignoring setThreadsCount.
// This module works around the three: it enables the flag, writes the worker and main scripts to a private
// temporary folder and hands out their paths instead of Blob URLs, and lets the pool size be chosen.
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface ThreadedInit {
  /** Undoes the temporary patches (call once the backend has initialised, whatever the outcome). */
  restore(): void;
}

/**
 * Prepares the next wasm backend initialisation to use `threads` XNNPACK threads. Must run before
 * `tf.setBackend('wasm')`; call `restore()` after it.
 */
export function prepareThreadedWasm(threads: number): ThreadedInit {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { wasmWorkerContents } = require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js') as { wasmWorkerContents: string };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const factoryModule = require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js');
  const factory: () => unknown = factoryModule.default ?? factoryModule;

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'munit-wasm-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  // The main script, as tfjs would put it in its Blob.
  const mainScript = path.join(dir, 'tfjs-backend-wasm-threaded-simd.js');
  fs.writeFileSync(mainScript, `var WasmBackendModuleThreadedSimd = ${factory.toString()}`);
  // The worker script; it would turn the main-script Blob into an object URL inside the worker: give it the path.
  // (tfjs escapes newlines the same way before making its Blob.)
  const workerSource = wasmWorkerContents
    .replace(/\n/g, '\\n')
    .replace('var objectUrl=URL.createObjectURL(e.data.urlOrBlob);', `var objectUrl=${JSON.stringify(mainScript)};`)
    .replace('URL.revokeObjectURL(objectUrl)', '');
  if (!workerSource.includes(JSON.stringify(mainScript))) throw new Error('unexpected tfjs-backend-wasm worker script (version mismatch)');
  const workerScript = path.join(dir, 'tfjs-backend-wasm-threaded-simd.worker.js');
  fs.writeFileSync(workerScript, workerSource);

  const originalCreateObjectURL = URL.createObjectURL;
  URL.createObjectURL = (blob: Blob) => (blob.type === 'application/javascript' ? workerScript : originalCreateObjectURL(blob));
  // The pool size is min(max(os.cpus().length / 2, 1), 4), read once while the module starts.
  // The CommonJS module object (the one emscripten's require('os') gets), not the read-only ES namespace.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeOs: { cpus: typeof os.cpus } = require('node:os');
  const originalCpus = nodeOs.cpus;
  const cpus = originalCpus();
  nodeOs.cpus = () => Array.from({ length: 2 * threads }, (_, i) => cpus[i % cpus.length]);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  return {
    restore() {
      URL.createObjectURL = originalCreateObjectURL;
      nodeOs.cpus = originalCpus;
    },
  };
}

/** Threads to use: MUNIT_WASM_THREADS, else one per core (at most 4, the most tfjs' pool allows). */
export function wasmThreadCount(): number {
  const env = process.env.MUNIT_WASM_THREADS;
  const n = env ? Number(env) : os.availableParallelism();
  if (!Number.isInteger(n) || n < 1) throw new Error(`MUNIT_WASM_THREADS must be a whole number >= 1, got '${env}'`);
  return Math.min(n, 4);
}

interface EmscriptenPThreads {
  runningWorkers: { unref?: () => void }[];
}

/**
 * The pool's threads are workers that stay "running" (parked on a futex) and keep Node's event loop alive, so a
 * finished process would never exit. Unreferencing them lets it exit; they still run while it works.
 */
export function unrefWasmThreads(): void {
  const pthreads = (tf.backend() as unknown as { wasm?: { PThread?: EmscriptenPThreads } }).wasm?.PThread;
  for (const worker of pthreads?.runningWorkers ?? []) worker.unref?.();
}

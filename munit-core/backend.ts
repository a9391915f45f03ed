// Chooses the tfjs backend once at start-up, GPU first, and says which one it got and why.
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core registers no gradients by itself (the @tensorflow/tfjs union package does this import).
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { installGradientFixes } from './kernels/install.js';
import { prepareThreadedWasm, ThreadedInit, unrefWasmThreads, wasmThreadCount } from './wasm-threads.js';
import { adapterName, noGpuDevice, registerWebGpuBackend, WebGpuAdapter } from './webgpu.js';
import { BACKEND_CHOICES, BACKEND_ENV, type BackendChoice } from './backend-choices.js';

export { BACKEND_CHOICES, BACKEND_ENV, type BackendChoice };

export interface BackendInfo {
  /** What we asked for and got, e.g. 'wasm'. */
  choice: BackendChoice;
  /** tfjs' own backend name ('tensorflow' for both libtensorflow builds). */
  tfName: string;
  /** Human-readable detail: SIMD, threads, why earlier choices were skipped. */
  detail: string;
  /** Backends that were tried first and failed, with the reason. */
  skipped: { choice: BackendChoice; reason: string }[];
  /** The GPU adapter, on webgpu. */
  adapter?: WebGpuAdapter;
}

export interface BackendOptions {
  /** Force one backend; otherwise `MUNIT_BACKEND`, otherwise the first that loads. */
  prefer?: BackendChoice;
  /** Folder holding the wasm binaries (bundled builds copy them next to the bundle). */
  wasmDir?: string;
}

let current: BackendInfo | undefined;
let skippedThreads: string | undefined;
const requireOptional = createRequire(__filename);

export function parseBackendChoice(value: string, source: string): BackendChoice {
  const aliases: Record<string, BackendChoice> = { gpu: 'tensorflow-gpu', node: 'tensorflow', tfjs: 'tensorflow' };
  const choice = (aliases[value] ?? value) as BackendChoice;
  if (!BACKEND_CHOICES.includes(choice)) {
    throw new Error(`${source}: unknown backend '${value}'; expected one of ${BACKEND_CHOICES.join(', ')} (or gpu, node)`);
  }
  return choice;
}

/** Initialises the backend once; later calls return the first result. */
export async function initBackend(options: BackendOptions = {}): Promise<BackendInfo> {
  if (current) return current;
  const envValue = process.env[BACKEND_ENV];
  const forced = options.prefer ?? (envValue ? parseBackendChoice(envValue, BACKEND_ENV) : undefined);
  const order = forced ? [forced] : BACKEND_CHOICES;
  const skipped: BackendInfo['skipped'] = [];
  for (const choice of order) {
    try {
      const { detail, adapter } = await tryBackend(choice, options, forced === choice);
      current = { choice, tfName: tf.getBackend(), detail, skipped, adapter };
      installGradientFixes(current.tfName);
      return current;
    } catch (err) {
      skipped.push({ choice, reason: firstLine(err) });
    }
  }
  const reasons = skipped.map((s) => `${s.choice}: ${s.reason}`).join('; ');
  throw new Error(`no tfjs backend could start (${reasons})`);
}

export function backendInfo(): BackendInfo | undefined {
  return current;
}

export function describeBackend(info: BackendInfo): string {
  const skipped = info.skipped.length ? ` (skipped ${info.skipped.map((s) => `${s.choice}: ${s.reason}`).join('; ')})` : '';
  return `${info.choice} - ${info.detail}${skipped}`;
}

async function tryBackend(choice: BackendChoice, options: BackendOptions, forced: boolean): Promise<{ detail: string; adapter?: WebGpuAdapter }> {
  switch (choice) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      // Both packages register the 'tensorflow' backend into the shared tfjs-core when required.
      const pkg = choice === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      try {
        requireOptional(pkg);
      } catch (err) {
        // Not the package missing but, say, libtensorflow failing to load: that message is the useful one.
        if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND' || !(err as Error).message.includes(`'${pkg}'`)) throw err;
        throw new Error(`${pkg} is not installed (README, "tfjs backends and GPUs")`);
      }
      await setBackendOrThrow('tensorflow');
      return { detail: choice === 'tensorflow-gpu' ? 'libtensorflow with CUDA' : 'libtensorflow (CPU)' };
    }
    case 'webgpu': {
      // A software renderer is far slower than wasm: only when asked for by name (the tests do, for correctness).
      const noDevice = forced ? undefined : noGpuDevice();
      if (noDevice) throw new Error(noDevice);
      const { adapter, passedOver } = await registerWebGpuBackend(forced);
      await setBackendOrThrow('webgpu');
      const why = passedOver.length ? ` (passed over ${passedOver.join('; ')})` : '';
      return { detail: `WebGPU on ${adapterName(adapter)}${why}`, adapter };
    }
    case 'wasm': {
      const before = processListeners();
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const dir = options.wasmDir ?? wasmBinaryDir();
      wasm.setWasmPaths(dir.endsWith(path.sep) ? dir : dir + path.sep);
      const threads = wasmThreadCount();
      if (threads > 1) {
        let threaded: ThreadedInit | undefined;
        try {
          threaded = prepareThreadedWasm(threads);
          await setBackendOrThrow('wasm');
          unrefWasmThreads();
        } catch (err) {
          // Fall back to the single-threaded build rather than to a slower backend.
          threaded?.restore();
          threaded = undefined;
          tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
          await setBackendOrThrow('wasm');
          skippedThreads = firstLine(err);
        } finally {
          threaded?.restore();
        }
      } else {
        await setBackendOrThrow('wasm');
      }
      removeListenersAddedSince(before);
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      const count = wasm.getThreadsCount();
      const why = skippedThreads ? ` (threads unavailable: ${skippedThreads})` : '';
      return { detail: `WebAssembly (XNNPACK${simd ? ', SIMD' : ''}, ${count} thread${count > 1 ? 's' : ''})${why}` };
    }
    case 'cpu': {
      await import('@tensorflow/tfjs-backend-cpu');
      await setBackendOrThrow('cpu');
      return { detail: 'pure JavaScript (slow: for tests and fallback only)' };
    }
  }
}

/** Beside the bundle when running from dist/, else in node_modules. */
function wasmBinaryDir(): string {
  if (fs.existsSync(path.join(__dirname, 'tfjs-backend-wasm-simd.wasm'))) return __dirname;
  return path.dirname(requireOptional.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
}

async function setBackendOrThrow(name: string): Promise<void> {
  // setBackend resolves false (and only logs) when the backend's init fails: turn that into an error we can report.
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`backend '${name}' failed to initialise`);
  await tf.ready();
}

type ProcessEvent = 'uncaughtException' | 'unhandledRejection';
const PROCESS_EVENTS: ProcessEvent[] = ['uncaughtException', 'unhandledRejection'];

type Listener = (...args: unknown[]) => void;

function processListeners(): Map<ProcessEvent, Listener[]> {
  return new Map(PROCESS_EVENTS.map((e) => [e, process.listeners(e as 'uncaughtException') as Listener[]]));
}

/**
 * Emscripten's module installs process handlers that rethrow every uncaught error, printing its whole minified
 * source line; Node's default handling (and ours) is clearer.
 */
function removeListenersAddedSince(before: Map<ProcessEvent, Listener[]>): void {
  for (const event of PROCESS_EVENTS) {
    for (const listener of process.listeners(event as 'uncaughtException') as Listener[]) {
      if (!before.get(event)!.includes(listener)) process.removeListener(event, listener);
    }
  }
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0];
}

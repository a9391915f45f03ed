// Which engine runs the model: the compiled ONNX graphs on onnxruntime, or eager tfjs. Chosen per training run and per
// process for translation, with the reason for every engine passed over, for `munit info`, the training log and the server.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MunitTrainer } from '../trainer.js';
import { eagerTranslator, Translator } from '../translate.js';
import { ENGINE_ENV, ENGINE_NAMES, EngineName, ONNX_PROVIDERS, OnnxProvider, PROVIDER_ENV } from './engine-names.js';

export type { EngineName, OnnxProvider } from './engine-names.js';
import type { ImageShapes } from './compiled-step.js';

export interface EngineChoice {
  engine: EngineName;
  provider?: OnnxProvider;
  /** One line: what runs, and why the ones before it were passed over. */
  description: string;
}

export function parseEngineName(value: string, source: string): EngineName {
  if (!(ENGINE_NAMES as readonly string[]).includes(value)) throw new Error(`${source}: unknown engine '${value}'; expected one of ${ENGINE_NAMES.join(', ')}`);
  return value as EngineName;
}

/** The CUDA provider is an optional download (README, "Engines"): present when its library sits beside the runtime. */
function cudaProviderInstalled(): boolean {
  try {
    const bin = path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);
    return ['libonnxruntime_providers_cuda.so', 'onnxruntime_providers_cuda.dll'].some((f) => fs.existsSync(path.join(bin, f)));
  } catch {
    return false;
  }
}

/**
 * onnxruntime first (CUDA when installed, else the CPU provider; WebGPU only when asked for: it is tested on Mesa's
 * software Vulkan, where it is far slower than the CPU provider, and not yet measured on a hardware GPU), then tfjs.
 */
export function chooseEngine(options: { prefer?: EngineName } = {}): EngineChoice {
  const envEngine = process.env[ENGINE_ENV];
  const forced = options.prefer ?? (envEngine ? parseEngineName(envEngine, ENGINE_ENV) : undefined);
  const envProvider = process.env[PROVIDER_ENV];
  if (envProvider && !(ONNX_PROVIDERS as readonly string[]).includes(envProvider)) {
    throw new Error(`${PROVIDER_ENV}: unknown provider '${envProvider}'; expected one of ${ONNX_PROVIDERS.join(', ')}`);
  }
  if (forced === 'tfjs') return { engine: 'tfjs', description: `tfjs (${ENGINE_ENV}=tfjs)` };
  const skipped: string[] = [];
  let provider = envProvider as OnnxProvider | undefined;
  if (!provider) {
    if (cudaProviderInstalled()) provider = 'cuda';
    else {
      skipped.push('cuda: provider not installed');
      skipped.push(`webgpu: only when asked for (${PROVIDER_ENV}=webgpu)`);
      provider = 'cpu';
    }
  }
  const why = skipped.length ? ` (skipped ${skipped.join('; ')})` : '';
  return { engine: 'onnx', provider, description: `onnxruntime ${provider}, one compiled graph per update${why}` };
}

/**
 * Loads a module that needs onnxruntime-node, a native module, only when onnxruntime is chosen: a platform it does
 * not support still runs on tfjs. Returns why it did not load (an error when onnxruntime is forced).
 */
function loadOnnx<T>(load: () => T): T | { notLoaded: string } {
  try {
    return load();
  } catch (err) {
    const why = `onnxruntime-node does not load: ${(err as Error).message.split('\n')[0]}`;
    if (process.env[ENGINE_ENV] === 'onnx') throw new Error(`${ENGINE_ENV}=onnx, but ${why}`);
    return { notLoaded: why };
  }
}

/** Puts the trainer's iterations on the chosen engine; returns a description for the log. */
export async function startEngine(trainer: MunitTrainer, shapes: ImageShapes, choice: EngineChoice): Promise<string> {
  if (choice.engine === 'tfjs') return choice.description;
  const loaded = loadOnnx(() => require('./compiled-step.js') as typeof import('./compiled-step.js'));
  if ('notLoaded' in loaded) return `tfjs (${loaded.notLoaded})`;
  const started = performance.now();
  const step = await loaded.CompiledStep.create(trainer, shapes, { provider: choice.provider! });
  await trainer.useEngine(step);
  const state = step.keepsStateOnDevice ? '; weights and Adam moments stay on the GPU' : '';
  return `${choice.description}; ${step.binding}${state}; ${step.nodeCount} nodes, built in ${((performance.now() - started) / 1000).toFixed(1)} s`;
}

/** What translates (`munit translate`, hovers, the tuning and config previews) on the chosen engine. */
export function startTranslator(choice: EngineChoice): Translator {
  if (choice.engine === 'tfjs') return eagerTranslator;
  const loaded = loadOnnx(() => require('./compiled-translator.js') as typeof import('./compiled-translator.js'));
  return 'notLoaded' in loaded ? eagerTranslator : new loaded.CompiledTranslator({ provider: choice.provider! });
}

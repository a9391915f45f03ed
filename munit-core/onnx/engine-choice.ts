// Which engine runs the model: the compiled ONNX graphs on onnxruntime, or eager tfjs. Chosen per training run and per
// process for translation, with the reason for every engine passed over, for `munit info`, the training log and the server.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backendInfo } from '../backend.js';
import type { MunitTrainer } from '../trainer.js';
import { eagerTranslator, Translator } from '../translate.js';
import { adapterName, findHardwareAdapter } from '../webgpu.js';
import { ENGINE_ENV, ENGINE_NAMES, EngineName, ONNX_PROVIDERS, OnnxProvider, PROVIDER_ENV } from './engine-names.js';

export type { EngineName, OnnxProvider } from './engine-names.js';
import type { ImageShapes } from './compiled-step.js';

export interface EngineChoice {
  engine: EngineName;
  provider?: OnnxProvider;
  /** One line: what runs, and why the ones before it were passed over. */
  description: string;
  /** What runs instead if this GPU provider, chosen by the chain, cannot start the model's graphs. */
  fallback?: EngineChoice;
}

export function parseEngineName(value: string, source: string): EngineName {
  if (!(ENGINE_NAMES as readonly string[]).includes(value)) throw new Error(`${source}: unknown engine '${value}'; expected one of ${ENGINE_NAMES.join(', ')}`);
  return value as EngineName;
}

/** What can run the model, fastest first; the first that can run here is chosen. */
export const ENGINE_CHAIN = [
  { name: 'onnxruntime cuda', engine: 'onnx', provider: 'cuda' },
  { name: 'onnxruntime webgpu', engine: 'onnx', provider: 'webgpu' },
  { name: 'tfjs tensorflow-gpu', engine: 'tfjs' },
  { name: 'onnxruntime cpu', engine: 'onnx', provider: 'cpu' },
  { name: 'tfjs', engine: 'tfjs' },
] as const;
export type EngineLink = (typeof ENGINE_CHAIN)[number]['name'];

/** Whether a link can run here: `on` names what it runs on, `why` why not. */
export type LinkCheck = { on?: string } | { why: string };
/** The check of each link (probeLink, or given ones in the tests). */
export type EngineProbe = (link: EngineLink) => Promise<LinkCheck>;

/**
 * The first link of the engine chain that runs here, unless `prefer`, MUNIT_ENGINE or MUNIT_ONNX_PROVIDER forces
 * one: onnxruntime's CUDA provider (an optional install), its WebGPU provider on a hardware adapter, tfjs on
 * libtensorflow with CUDA, onnxruntime's CPU provider, then tfjs on its backend (initBackend runs first).
 */
export async function chooseEngine(options: { prefer?: EngineName } = {}, probe: EngineProbe = probeLink): Promise<EngineChoice> {
  const envEngine = process.env[ENGINE_ENV];
  const forced = options.prefer ?? (envEngine ? parseEngineName(envEngine, ENGINE_ENV) : undefined);
  const envProvider = process.env[PROVIDER_ENV];
  if (envProvider && !(ONNX_PROVIDERS as readonly string[]).includes(envProvider)) {
    throw new Error(`${PROVIDER_ENV}: unknown provider '${envProvider}'; expected one of ${ONNX_PROVIDERS.join(', ')}`);
  }
  const forcedBy = options.prefer ? `${options.prefer} asked for` : `${ENGINE_ENV}=${envEngine}`;
  if (forced === 'tfjs') return describe({ engine: 'tfjs' }, await probe('tfjs'), forcedBy);
  if (envProvider) {
    const provider = envProvider as OnnxProvider;
    // Forced, WebGPU may run on a software renderer (the tests do).
    const check = provider === 'cuda' ? await probe('onnxruntime cuda') : await onnxLoads(provider);
    return describe({ engine: 'onnx', provider }, check, `${PROVIDER_ENV}=${provider}`);
  }
  const choice = await chainFrom(0, [], forced === 'onnx', probe);
  if ('skipped' in choice) throw new Error(`${forcedBy}, but onnxruntime cannot run here (${choice.skipped.join('; ')})`);
  return choice;
}

/** The first link from `start` on that runs, or every reason none does. */
async function chainFrom(start: number, skipped: string[], onlyOnnx: boolean, probe: EngineProbe): Promise<EngineChoice | { skipped: string[] }> {
  for (let k = start; k < ENGINE_CHAIN.length; k++) {
    const link = ENGINE_CHAIN[k];
    if (onlyOnnx && link.engine === 'tfjs') continue;
    const check = await probe(link.name);
    if ('why' in check) {
      skipped.push(`${link.name}: ${check.why}`);
      continue;
    }
    const choice = describe(
      link.engine === 'onnx' ? { engine: 'onnx', provider: link.provider } : { engine: 'tfjs' },
      check,
      skipped.length ? `skipped ${skipped.join('; ')}` : undefined,
    );
    if (link.engine === 'onnx' && link.provider !== 'cpu') {
      // A GPU provider was checked on a one-node graph only: if MUNIT's graphs do not start on it, the next link runs.
      const next = await chainFrom(k + 1, [...skipped], onlyOnnx, probe);
      if (!('skipped' in next)) choice.fallback = next;
    }
    return choice;
  }
  return { skipped };
}

function describe(choice: { engine: EngineName; provider?: OnnxProvider }, check: LinkCheck, note: string | undefined): EngineChoice {
  if ('why' in check) throw new Error(`${note}, but ${check.why}`);
  const what =
    choice.engine === 'onnx' ? `onnxruntime ${choice.provider}${check.on ? ` on ${check.on}` : ''}, one compiled graph per update` : `tfjs on ${check.on}`;
  return { ...choice, description: `${what}${note ? ` (${note})` : ''}` };
}

/**
 * Checks one link for real: starts the provider on a one-node graph, asks Dawn for a hardware adapter, asks tfjs.
 * What starts something (a provider, Dawn) is asked once a process.
 */
export async function probeLink(link: EngineLink): Promise<LinkCheck> {
  switch (link) {
    case 'onnxruntime cuda':
      return cudaProviderInstalled() ? onnxLoads('cuda') : { why: 'provider not installed (README, "Engines")' };
    case 'onnxruntime webgpu': {
      adapterSearch ??= findHardwareAdapter().catch((err: Error) => ({ none: `Dawn does not start: ${firstLine(err)}` }));
      const found = await adapterSearch;
      if ('none' in found) return { why: found.none };
      const check = await onnxLoads('webgpu');
      return 'why' in check ? check : { on: adapterName(found.adapter) };
    }
    case 'tfjs tensorflow-gpu': {
      const info = backendInfo();
      if (info?.choice === 'tensorflow-gpu') return { on: `tensorflow-gpu (${info.detail})` };
      return { why: info?.skipped.find((s) => s.choice === 'tensorflow-gpu')?.reason ?? `tfjs runs on ${info?.choice ?? 'no backend yet'}` };
    }
    case 'onnxruntime cpu':
      return onnxLoads('cpu');
    case 'tfjs': {
      const info = backendInfo();
      return { on: info ? info.choice : 'its default backend' };
    }
  }
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

let adapterSearch: ReturnType<typeof findHardwareAdapter> | undefined;
const providerChecks = new Map<OnnxProvider, Promise<LinkCheck>>();

/** Whether onnxruntime-node loads and `provider` runs a graph on it. */
function onnxLoads(provider: OnnxProvider): Promise<LinkCheck> {
  let check = providerChecks.get(provider);
  if (!check) providerChecks.set(provider, (check = checkProvider(provider)));
  return check;
}

async function checkProvider(provider: OnnxProvider): Promise<LinkCheck> {
  const loaded = loadOnnx(() => require('./session.js') as typeof import('./session.js'));
  if ('notLoaded' in loaded) return { why: loaded.notLoaded };
  const why = await loaded.providerFails(provider);
  return why === undefined ? {} : { why };
}

/**
 * Loads a module that needs onnxruntime-node, a native module, only when onnxruntime is chosen: a platform it does
 * not support still runs on tfjs.
 */
function loadOnnx<T>(load: () => T): T | { notLoaded: string } {
  try {
    return load();
  } catch (err) {
    return { notLoaded: `onnxruntime-node does not load: ${firstLine(err)}` };
  }
}

const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0];

/**
 * Puts the trainer's iterations on the chosen engine, or on its fallback when a GPU provider cannot start the graphs.
 * Returns what runs (for the translator too) and a description for the log.
 */
export async function startEngine(trainer: MunitTrainer, shapes: ImageShapes, choice: EngineChoice): Promise<{ choice: EngineChoice; description: string }> {
  if (choice.engine === 'tfjs') return { choice, description: choice.description };
  const { CompiledStep } = require('./compiled-step.js') as typeof import('./compiled-step.js');
  const started = performance.now();
  let step: import('./compiled-step.js').CompiledStep;
  try {
    step = await CompiledStep.create(trainer, shapes, { provider: choice.provider! });
  } catch (err) {
    if (!choice.fallback) throw err;
    const fallback = {
      ...choice.fallback,
      description: `${choice.fallback.description}; onnxruntime ${choice.provider} did not start the graphs: ${firstLine(err)}`,
    };
    return startEngine(trainer, shapes, fallback);
  }
  await trainer.useEngine(step);
  const state = step.keepsStateOnDevice ? '; weights and Adam moments stay on the GPU' : '';
  const built = ((performance.now() - started) / 1000).toFixed(1);
  return { choice, description: `${choice.description}; ${step.binding}${state}; ${step.nodeCount} nodes, built in ${built} s` };
}

/** What translates (`munit translate`, hovers, the tuning and config previews) on the chosen engine. */
export function startTranslator(choice: EngineChoice): Translator {
  if (choice.engine === 'tfjs') return eagerTranslator;
  const { CompiledTranslator } = require('./compiled-translator.js') as typeof import('./compiled-translator.js');
  return new CompiledTranslator({ provider: choice.provider! });
}

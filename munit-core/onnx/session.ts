// Sessions for compiled graphs: which execution provider and binding, how many threads, and the feeds. The CPU and
// CUDA providers run on onnxruntime's C API (direct-session.ts: no copies; CUDA's state kept in its memory by IO
// binding) where koffi loads, else on onnxruntime-node; WebGPU runs on onnxruntime-node, which keeps its buffers.
import * as os from 'node:os';
import * as ort from 'onnxruntime-node';

import { DirectProvider, DirectSession, directRuntime, NativeValue, PortData } from './direct-session.js';
import type { OnnxProvider } from './engine-names.js';
import { BINDING_ENV } from './engine-names.js';
import { GraphPort, OnnxGraph, portSize } from './graph.js';

export type { PortData } from './direct-session.js';

export interface SessionOptions {
  provider: OnnxProvider;
  /** Intra-op threads on the CPU provider (default: one per core). */
  threads?: number;
  /**
   * Whether training state stays in the provider's memory between runs (default: stateStaysOnDevice). On the CPU
   * provider this runs CUDA's IO-binding path with host memory as the device, which is how the tests check it here.
   */
  stateOnDevice?: boolean;
}

/** `MUNIT_ONNX_THREADS` overrides the thread count, as `MUNIT_WASM_THREADS` does for tfjs. */
export function onnxThreadCount(): number {
  const env = Number(process.env.MUNIT_ONNX_THREADS);
  return Number.isInteger(env) && env > 0 ? env : Math.max(1, os.availableParallelism());
}

/** A graph's values by port: the feeds, or the buffers outputs are written into. */
export type PortValues = (port: GraphPort) => PortData | undefined;

/**
 * A value a session left on its device (a WebGPU buffer from onnxruntime-node, an OrtValue in CUDA's memory from the
 * C API): fed to later runs of the same binding as it is, and read back only on request (device-transfer.ts).
 */
export class DeviceValue {
  constructor(readonly handle: ort.Tensor | NativeValue) {}

  dispose(): void {
    this.handle.dispose();
  }
}

/** A feed: data in host memory, or a value already on the session's device. */
export type Feed = PortData | DeviceValue;
export type PortFeeds = (port: GraphPort) => Feed | undefined;

/**
 * Whether training state stays on the provider's device between runs: options.stateOnDevice where given, else on
 * WebGPU (onnxruntime-node's GPU buffers) and on CUDA through the C API's IO binding (onnxruntime-node has no CUDA
 * buffers, so without koffi it crosses to host memory each update).
 */
export function stateStaysOnDevice(options: SessionOptions): boolean {
  const { provider } = options;
  return options.stateOnDevice ?? (provider === 'webgpu' || (provider === 'cuda' && sessionBinding(provider).direct));
}

/** The ONNX bytes of a graph for a provider (WebGPU lacks some ops: graph.ts, WEBGPU_LOWERING). */
export const modelFor = (graph: OnnxGraph, provider: OnnxProvider) => graph.toBytes({ forWebGpu: provider === 'webgpu' });

/** A compiled graph ready to run. */
export interface GraphSession {
  /** 'onnxruntime C API' or 'onnxruntime-node'. */
  readonly binding: string;
  /**
   * Runs the graph on `feeds` (every input, in the graph's layout). An output whose buffer `into` gives is written
   * there; the others come back in new buffers.
   */
  run(feeds: PortFeeds, into?: PortValues): Promise<Record<string, PortData>>;
  release(): void;
}

/** A session whose outputs chosen at its creation stay on the device. */
export interface DeviceSession extends GraphSession {
  /** Runs like run(); the kept outputs come back in `device`, the others in `host`. */
  runKeeping(feeds: PortFeeds, into?: PortValues): Promise<{ host: Record<string, PortData>; device: Record<string, DeviceValue> }>;
}

function newBuffer(port: GraphPort): PortData {
  const size = portSize(port);
  if (port.dtype === 'float32') return new Float32Array(size);
  if (port.dtype === 'int32') return new Int32Array(size);
  if (port.dtype === 'int64') return new BigInt64Array(size);
  return new Uint8Array(size);
}

function feedOf(feeds: PortFeeds, port: GraphPort): Feed {
  const data = feeds(port);
  if (data === undefined) throw new Error(`compiled graph: no value for input '${port.name}'`);
  return data;
}

function hostFeedOf(feeds: PortFeeds, port: GraphPort): PortData {
  const data = feedOf(feeds, port);
  if (data instanceof DeviceValue) throw new Error(`internal: input '${port.name}' is a device value, fed to a host session`);
  return data;
}

/** The C API's form of a feed: host values, or an OrtValue an earlier run of this binding kept. */
function boundFeedOf(feeds: PortFeeds, port: GraphPort): PortData | NativeValue {
  const feed = feedOf(feeds, port);
  if (!(feed instanceof DeviceValue)) return feed;
  if (!(feed.handle instanceof NativeValue)) throw new Error(`internal: input '${port.name}' is an onnxruntime-node device value, fed to the C API`);
  return feed.handle;
}

class CApiSession implements GraphSession {
  readonly binding = 'onnxruntime C API';
  constructor(private readonly session: DirectSession) {}

  async run(feeds: PortFeeds, into?: PortValues): Promise<Record<string, PortData>> {
    const result: Record<string, PortData> = {};
    this.session.run(
      (port) => hostFeedOf(feeds, port),
      (port) => (result[port.name] = into?.(port) ?? newBuffer(port)),
    );
    return result;
  }

  release(): void {
    this.session.release();
  }
}

/** A C API session whose outputs in `kept` stay in the provider's memory (IO binding). */
class CApiDeviceSession implements DeviceSession {
  readonly binding = 'onnxruntime C API, state kept on the device by IO binding';
  constructor(
    private readonly session: DirectSession,
    private readonly kept: ReadonlySet<string>,
  ) {}

  async run(feeds: PortFeeds, into?: PortValues): Promise<Record<string, PortData>> {
    return this.bound(feeds, into, () => false).host;
  }

  async runKeeping(feeds: PortFeeds, into?: PortValues): Promise<{ host: Record<string, PortData>; device: Record<string, DeviceValue> }> {
    return this.bound(feeds, into, (port) => this.kept.has(port.name));
  }

  private bound(feeds: PortFeeds, into: PortValues | undefined, keep: (port: GraphPort) => boolean) {
    const host: Record<string, PortData> = {};
    const kept = this.session.runBound(
      (port) => boundFeedOf(feeds, port),
      (port) => (host[port.name] = into?.(port) ?? newBuffer(port)),
      keep,
    );
    const device = Object.fromEntries(Object.entries(kept).map(([name, value]) => [name, new DeviceValue(value)]));
    return { host, device };
  }

  release(): void {
    this.session.release();
  }
}

class NodeSession implements DeviceSession {
  readonly binding = 'onnxruntime-node';
  constructor(
    private readonly session: ort.InferenceSession,
    private readonly graph: OnnxGraph,
    /** The outputs left on the device (as `preferredOutputLocation` told onnxruntime). */
    private readonly kept: ReadonlySet<string> = new Set(),
  ) {}

  async run(feeds: PortFeeds, into?: PortValues): Promise<Record<string, PortData>> {
    const { host, device } = await this.runKeeping(feeds, into);
    for (const value of Object.values(device)) value.dispose();
    return host;
  }

  async runKeeping(feeds: PortFeeds, into?: PortValues): Promise<{ host: Record<string, PortData>; device: Record<string, DeviceValue> }> {
    const tensor = (port: GraphPort, data: PortData) => new ort.Tensor(port.dtype, data as Float32Array, port.dims);
    const ortFeeds = Object.fromEntries(
      this.graph.inputs.map((port) => {
        const feed = feedOf(feeds, port);
        if (!(feed instanceof DeviceValue)) return [port.name, tensor(port, feed)];
        if (feed.handle instanceof NativeValue) throw new Error(`internal: input '${port.name}' is a C API device value, fed to onnxruntime-node`);
        return [port.name, feed.handle];
      }),
    );
    // onnxruntime writes a given buffer in place (and returns a copy of it, which is dropped).
    const given = new Map(this.graph.outputs.map((port) => [port.name, this.kept.has(port.name) ? undefined : into?.(port)]));
    const fetches = Object.fromEntries(this.graph.outputs.map((port) => [port.name, given.get(port.name) ? tensor(port, given.get(port.name)!) : null]));
    const out = await this.session.run(ortFeeds, fetches);
    const host: Record<string, PortData> = {};
    const device: Record<string, DeviceValue> = {};
    for (const { name } of this.graph.outputs) {
      if (this.kept.has(name)) device[name] = new DeviceValue(out[name]);
      else host[name] = given.get(name) ?? (out[name].data as PortData);
    }
    return { host, device };
  }

  release(): void {
    void this.session.release();
  }
}

/** Which binding a session on `provider` gets, and why (for the training log and the benchmark). */
export function sessionBinding(provider: OnnxProvider): { direct: boolean; description: string } {
  const forced = process.env[BINDING_ENV];
  if (forced !== undefined && forced !== 'node' && forced !== 'direct') throw new Error(`${BINDING_ENV}: unknown binding '${forced}'; expected direct or node`);
  if (provider === 'webgpu') return { direct: false, description: 'onnxruntime-node (its WebGPU buffers keep the state on the GPU)' };
  const cost = provider === 'cuda' ? 'the state crosses to host memory each update' : 'copies every output';
  if (forced === 'node') return { direct: false, description: `onnxruntime-node (${BINDING_ENV}=node), which ${cost}` };
  const rt = directRuntime();
  if ('unavailable' in rt) {
    if (forced === 'direct') throw new Error(`${BINDING_ENV}=direct, but the C API does not load: ${rt.unavailable}`);
    return { direct: false, description: `onnxruntime-node, which ${cost} (C API: ${rt.unavailable})` };
  }
  return {
    direct: true,
    description: provider === 'cuda' ? 'onnxruntime C API, the state kept in CUDA memory by IO binding' : 'onnxruntime C API, outputs written in place',
  };
}

export async function createSession(graph: OnnxGraph, options: SessionOptions): Promise<GraphSession> {
  if (sessionBinding(options.provider).direct) return new CApiSession(directSession(graph, options));
  return new NodeSession(await ortSession(modelFor(graph, options.provider), options), graph);
}

function directSession(graph: OnnxGraph, options: SessionOptions): DirectSession {
  const rt = directRuntime();
  if ('unavailable' in rt) throw new Error(rt.unavailable);
  const settings = { provider: options.provider as DirectProvider, threads: options.threads ?? onnxThreadCount(), profilePrefix: profilePrefix() };
  return new DirectSession(rt, modelFor(graph, options.provider), graph.inputs, graph.outputs, settings);
}

/**
 * Why `provider` cannot run a graph here, or undefined when it can: an installed provider may still find no device
 * (CUDA without a driver, WebGPU where onnxruntime's own Dawn sees no adapter). Runs a one-node graph and checks it.
 */
export async function providerFails(provider: OnnxProvider): Promise<string | undefined> {
  const graph = new OnnxGraph();
  const port = (name: string): GraphPort => ({ name, dtype: 'float32', dims: [4], perm: [0] });
  graph.addInput(port('x'));
  graph.addOutput(port('y'), graph.op('Add', ['x', 'x']));
  try {
    const session = await createSession(graph, { provider, threads: 1 });
    try {
      const got = Array.from((await session.run(() => Float32Array.of(1, 2, 3, 4))).y as Float32Array).join();
      if (got !== '2,4,6,8') return `a test graph computed ${got} for 2,4,6,8`;
    } finally {
      session.release();
    }
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
  return undefined;
}

/** A session whose outputs that `keep` names stay on the device (the options' stateOnDevice must hold). */
export async function createDeviceSession(graph: OnnxGraph, options: SessionOptions, keep: (port: GraphPort) => boolean): Promise<DeviceSession> {
  if (!stateStaysOnDevice(options)) throw new Error(`internal: onnxruntime ${options.provider} keeps no values on a device here`);
  const kept = new Set(graph.outputs.filter(keep).map((port) => port.name));
  if (options.provider !== 'webgpu') return new CApiDeviceSession(directSession(graph, options), kept);
  const locations = Object.fromEntries(graph.outputs.map((port) => [port.name, kept.has(port.name) ? ('gpu-buffer' as const) : ('cpu' as const)]));
  return new NodeSession(await ortSession(modelFor(graph, options.provider), options, locations), graph, kept);
}

/**
 * The layout WebGPU's convolutions run in. NHWC, onnxruntime's default, has its tuned convolutions (vec4 loads,
 * im2col, subgroup matrices, fused activations) but puts a Transpose before and after each convolution of our NCHW
 * graphs: 1,782 in a 64x64 iteration, against 156 in NCHW. On software Vulkan NCHW took 22% less host time in
 * kernel calls and the same wall time; on a GPU it is to be measured (MUNIT_WEBGPU_LAYOUT=NCHW).
 */
function webGpuLayout(): 'NCHW' | 'NHWC' {
  const forced = process.env.MUNIT_WEBGPU_LAYOUT;
  if (forced === undefined || forced === '' || forced === 'NHWC') return 'NHWC';
  if (forced === 'NCHW') return 'NCHW';
  throw new Error(`MUNIT_WEBGPU_LAYOUT is '${forced}': use NHWC (the default) or NCHW`);
}

/** MUNIT_ORT_PROFILE=<prefix>: onnxruntime writes a per-node profile (JSON) when the session is released. */
const profilePrefix = () => process.env.MUNIT_ORT_PROFILE || undefined;

function ortSession(model: Uint8Array, options: SessionOptions, preferredOutputLocation?: Record<string, 'gpu-buffer' | 'cpu'>): Promise<ort.InferenceSession> {
  const prefix = profilePrefix();
  return ort.InferenceSession.create(model, {
    executionProviders: [options.provider === 'webgpu' ? { name: 'webgpu', preferredLayout: webGpuLayout() } : options.provider],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: options.threads ?? onnxThreadCount(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Memory patterns replan per shape; our shapes never change, so the arena can reuse its plan.
    enableMemPattern: true,
    enableCpuMemArena: true,
    ...(preferredOutputLocation ? { preferredOutputLocation } : {}),
    ...(prefix ? { enableProfiling: true, profileFilePrefix: prefix } : {}),
  });
}

// Sessions for compiled graphs: which execution provider and binding, how many threads, and the feeds. The CPU
// provider runs on onnxruntime's C API (direct-session.ts: no copies) where koffi loads, else on onnxruntime-node.
import * as os from 'node:os';
import * as ort from 'onnxruntime-node';

import { DirectSession, directRuntime, PortData } from './direct-session.js';
import type { OnnxProvider } from './engine-names.js';
import { BINDING_ENV } from './engine-names.js';
import { GraphPort, OnnxGraph, portSize } from './graph.js';

export type { PortData } from './direct-session.js';

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

/** A graph's values by port: the feeds, or the buffers outputs are written into. */
export type PortValues = (port: GraphPort) => PortData | undefined;

/** A compiled graph ready to run. */
export interface GraphSession {
  /** 'onnxruntime C API' or 'onnxruntime-node'. */
  readonly binding: string;
  /**
   * Runs the graph on `feeds` (every input, in the graph's layout). An output whose buffer `into` gives is written
   * there; the others come back in new buffers.
   */
  run(feeds: PortValues, into?: PortValues): Promise<Record<string, PortData>>;
  release(): void;
}

function newBuffer(port: GraphPort): PortData {
  const size = portSize(port);
  if (port.dtype === 'float32') return new Float32Array(size);
  if (port.dtype === 'int32') return new Int32Array(size);
  if (port.dtype === 'int64') return new BigInt64Array(size);
  return new Uint8Array(size);
}

function feedOf(feeds: PortValues, port: GraphPort): PortData {
  const data = feeds(port);
  if (data === undefined) throw new Error(`compiled graph: no value for input '${port.name}'`);
  return data;
}

class CApiSession implements GraphSession {
  readonly binding = 'onnxruntime C API';
  constructor(private readonly session: DirectSession) {}

  async run(feeds: PortValues, into?: PortValues): Promise<Record<string, PortData>> {
    const result: Record<string, PortData> = {};
    this.session.run(
      (port) => feedOf(feeds, port),
      (port) => (result[port.name] = into?.(port) ?? newBuffer(port)),
    );
    return result;
  }

  release(): void {
    this.session.release();
  }
}

class NodeSession implements GraphSession {
  readonly binding = 'onnxruntime-node';
  constructor(
    private readonly session: ort.InferenceSession,
    private readonly graph: OnnxGraph,
  ) {}

  async run(feeds: PortValues, into?: PortValues): Promise<Record<string, PortData>> {
    const tensor = (port: GraphPort, data: PortData) => new ort.Tensor(port.dtype, data as Float32Array, port.dims);
    const ortFeeds = Object.fromEntries(this.graph.inputs.map((port) => [port.name, tensor(port, feedOf(feeds, port))]));
    // onnxruntime writes a given buffer in place (and returns a copy of it, which is dropped).
    const given = new Map(this.graph.outputs.map((port) => [port.name, into?.(port)]));
    const fetches = Object.fromEntries(this.graph.outputs.map((port) => [port.name, given.get(port.name) ? tensor(port, given.get(port.name)!) : null]));
    const out = await this.session.run(ortFeeds, fetches);
    return Object.fromEntries(this.graph.outputs.map((port) => [port.name, given.get(port.name) ?? (out[port.name].data as PortData)]));
  }

  release(): void {
    void this.session.release();
  }
}

/** Which binding a session on `provider` gets, and why (for the training log and the benchmark). */
export function sessionBinding(provider: OnnxProvider): { direct: boolean; description: string } {
  const forced = process.env[BINDING_ENV];
  if (forced !== undefined && forced !== 'node' && forced !== 'direct') throw new Error(`${BINDING_ENV}: unknown binding '${forced}'; expected direct or node`);
  if (provider !== 'cpu') return { direct: false, description: 'onnxruntime-node (device buffers need its IO binding)' };
  if (forced === 'node') return { direct: false, description: `onnxruntime-node (${BINDING_ENV}=node)` };
  const rt = directRuntime();
  if ('unavailable' in rt) {
    if (forced === 'direct') throw new Error(`${BINDING_ENV}=direct, but the C API does not load: ${rt.unavailable}`);
    return { direct: false, description: `onnxruntime-node, which copies every output (C API: ${rt.unavailable})` };
  }
  return { direct: true, description: 'onnxruntime C API, outputs written in place' };
}

export async function createSession(graph: OnnxGraph, options: SessionOptions): Promise<GraphSession> {
  const model = graph.toBytes();
  const threads = options.threads ?? onnxThreadCount();
  // MUNIT_ORT_PROFILE=<prefix>: onnxruntime writes a per-node profile (JSON) when the session is released.
  const profilePrefix = process.env.MUNIT_ORT_PROFILE || undefined;
  if (sessionBinding(options.provider).direct) {
    const rt = directRuntime();
    if ('unavailable' in rt) throw new Error(rt.unavailable);
    return new CApiSession(new DirectSession(rt, model, graph.inputs, graph.outputs, { threads, profilePrefix }));
  }
  const session = await ort.InferenceSession.create(model, {
    executionProviders: [options.provider],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Memory patterns replan per shape; our shapes never change, so the arena can reuse its plan.
    enableMemPattern: true,
    enableCpuMemArena: true,
    ...(profilePrefix ? { enableProfiling: true, profileFilePrefix: profilePrefix } : {}),
  });
  return new NodeSession(session, graph);
}

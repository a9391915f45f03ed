// onnxruntime's C API called through koffi (an FFI with prebuilt binaries in its npm package), for the CPU provider.
// Why: onnxruntime-node 1.30 copies every output into a new ArrayBuffer, pre-allocated or not: about 0.65 ms per MB
// here, which is 0.35 s of a 64x64 training iteration (every weight and both Adam moments leave each step). Through
// the C API onnxruntime reads the feeds and writes the outputs in the caller's own buffers, so nothing is copied.
// Every OrtValue lives for one run only, so no native code keeps a pointer into JavaScript memory after a call.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { IKoffiCType, IKoffiLib } from 'koffi';

import { GraphPort, OnnxDtype, portSize } from './graph.js';

type Koffi = typeof import('koffi');
type Pointer = unknown;

/**
 * The functions used: each one's slot in onnxruntime_c_api.h's `struct OrtApi` (0-based) and its C signature. The table
 * only grows, so the slots hold for every runtime from API version 13 on; onnxruntime-node 1.30 ships API version 23.
 */
const FUNCTIONS = {
  GetErrorMessage: [2, 'const char *GetErrorMessage(void *status)'],
  CreateEnv: [3, 'void *CreateEnv(int level, const char *logid, _Out_ void **env)'],
  CreateSessionFromArray: [8, 'void *CreateSessionFromArray(void *env, const void *model, size_t length, void *options, _Out_ void **session)'],
  Run: [
    9,
    'void *Run(void *session, void *runOptions, const char **inputNames, void **inputs, size_t inputCount, const char **outputNames, size_t outputCount, void **outputs)',
  ],
  CreateSessionOptions: [10, 'void *CreateSessionOptions(_Out_ void **options)'],
  SetSessionExecutionMode: [13, 'void *SetSessionExecutionMode(void *options, int mode)'],
  EnableProfiling: [14, 'void *EnableProfiling(void *options, const char *prefix)'],
  EnableMemPattern: [16, 'void *EnableMemPattern(void *options)'],
  EnableCpuMemArena: [18, 'void *EnableCpuMemArena(void *options)'],
  SetSessionGraphOptimizationLevel: [23, 'void *SetSessionGraphOptimizationLevel(void *options, int level)'],
  SetIntraOpNumThreads: [24, 'void *SetIntraOpNumThreads(void *options, int threads)'],
  SetInterOpNumThreads: [25, 'void *SetInterOpNumThreads(void *options, int threads)'],
  CreateTensorWithDataAsOrtValue: [
    49,
    'void *CreateTensorWithDataAsOrtValue(void *info, void *data, size_t length, const int64_t *shape, size_t rank, int type, _Out_ void **value)',
  ],
  CreateCpuMemoryInfo: [69, 'void *CreateCpuMemoryInfo(int type, int memType, _Out_ void **info)'],
  ReleaseStatus: [93, 'void ReleaseStatus(void *status)'],
  ReleaseSession: [95, 'void ReleaseSession(void *session)'],
  ReleaseValue: [96, 'void ReleaseValue(void *value)'],
  ReleaseSessionOptions: [100, 'void ReleaseSessionOptions(void *options)'],
} as const;
const API_VERSION = 13;
// Enum values from the same header.
const ORT_LOGGING_LEVEL_ERROR = 3;
const ORT_ENABLE_ALL = 99;
const ORT_SEQUENTIAL = 0;
const ORT_ARENA_ALLOCATOR = 1;
const ORT_MEM_TYPE_DEFAULT = 0;
const ELEMENT_TYPE: Record<OnnxDtype, number> = { float32: 1, int32: 6, int64: 7, bool: 9 };

/** The typed array that holds each dtype's values. */
export type PortData = Float32Array | Int32Array | BigInt64Array | Uint8Array;

type OrtApi = { [K in keyof typeof FUNCTIONS]: (...args: unknown[]) => unknown };

interface Runtime {
  api: OrtApi;
  env: Pointer;
  cpuMemory: Pointer;
}

/** onnxruntime-node's runtime library for this platform (the one its own binding loads). */
function runtimeLibrary(): string {
  const bin = path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);
  const names = fs.readdirSync(bin).filter((f) => /^(lib)?onnxruntime(\.[\d.]+)?\.(so(\.\d+)*|dylib|dll)$/.test(f));
  if (names.length === 0) throw new Error(`no onnxruntime library in ${bin}`);
  return path.join(bin, names[0]);
}

let runtime: Runtime | { unavailable: string } | undefined;

function load(): Runtime | { unavailable: string } {
  try {
    // Loaded on first use: where koffi has no binary for the platform, onnxruntime-node still runs the graphs.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const koffi = require('koffi') as Koffi;
    const lib: IKoffiLib = koffi.load(runtimeLibrary());
    const [getApi] = koffi.decode(lib.func('void *OrtGetApiBase()')(), koffi.array('void *', 2)) as Pointer[];
    const table = koffi.call(getApi, koffi.proto('void *GetApi(uint32_t version)'), API_VERSION);
    if (!table) throw new Error(`the runtime does not offer C API version ${API_VERSION}`);
    const entries = Object.entries(FUNCTIONS);
    const slots = koffi.decode(table, koffi.array('void *', Math.max(...entries.map(([, [slot]]) => slot)) + 1)) as Pointer[];
    const api = Object.fromEntries(
      entries.map(([name, [slot, signature]]) => [name, koffi.decode(slots[slot], koffi.proto(signature) as IKoffiCType)]),
    ) as OrtApi;
    const rt: Runtime = { api, env: undefined, cpuMemory: undefined };
    rt.env = out(rt, (p) => api.CreateEnv(ORT_LOGGING_LEVEL_ERROR, 'munit', p), 'CreateEnv');
    rt.cpuMemory = out(rt, (p) => api.CreateCpuMemoryInfo(ORT_ARENA_ALLOCATOR, ORT_MEM_TYPE_DEFAULT, p), 'CreateCpuMemoryInfo');
    return rt;
  } catch (err) {
    return { unavailable: (err as Error).message.split('\n')[0] };
  }
}

/** The C API, or why it cannot be used here (then onnxruntime-node runs the graphs, with its copies). */
export function directRuntime(): Runtime | { unavailable: string } {
  return (runtime ??= load());
}

function check(rt: Runtime, status: unknown, what: string): void {
  if (!status) return;
  const message = rt.api.GetErrorMessage(status) as string;
  rt.api.ReleaseStatus(status);
  throw new Error(`onnxruntime ${what}: ${message}`);
}

/** Calls a C function whose last parameter is an out-pointer, and returns what it wrote. */
function out(rt: Runtime, call: (outParam: Pointer[]) => unknown, what: string): Pointer {
  const result: Pointer[] = [null];
  check(rt, call(result), what);
  return result[0];
}

export interface DirectSessionOptions {
  threads: number;
  /** onnxruntime writes a per-node profile (JSON) under this prefix when the session is released. */
  profilePrefix?: string;
}

/** One graph's session on the C API. */
export class DirectSession {
  private session: Pointer;
  private readonly inputNames: string[];
  private readonly outputNames: string[];
  private readonly shapes = new Map<string, BigInt64Array>();

  constructor(
    private readonly rt: Runtime,
    model: Uint8Array,
    private readonly inputs: readonly GraphPort[],
    private readonly outputs: readonly GraphPort[],
    options: DirectSessionOptions,
  ) {
    const { api } = rt;
    const opts = out(rt, (p) => api.CreateSessionOptions(p), 'CreateSessionOptions');
    try {
      check(rt, api.SetIntraOpNumThreads(opts, options.threads), 'SetIntraOpNumThreads');
      check(rt, api.SetInterOpNumThreads(opts, 1), 'SetInterOpNumThreads');
      check(rt, api.SetSessionExecutionMode(opts, ORT_SEQUENTIAL), 'SetSessionExecutionMode');
      // 'all' includes the NCHWc layout for the AVX convolutions (3x faster steps than 'extended').
      check(rt, api.SetSessionGraphOptimizationLevel(opts, ORT_ENABLE_ALL), 'SetSessionGraphOptimizationLevel');
      check(rt, api.EnableMemPattern(opts), 'EnableMemPattern');
      check(rt, api.EnableCpuMemArena(opts), 'EnableCpuMemArena');
      if (options.profilePrefix) check(rt, api.EnableProfiling(opts, options.profilePrefix), 'EnableProfiling');
      this.session = out(rt, (p) => api.CreateSessionFromArray(rt.env, model, model.byteLength, opts, p), 'CreateSessionFromArray');
    } finally {
      api.ReleaseSessionOptions(opts);
    }
    for (const port of [...inputs, ...outputs])
      this.shapes.set(
        port.name,
        BigInt64Array.from(port.dims, (d) => BigInt(d)),
      );
    this.inputNames = inputs.map((p) => p.name);
    this.outputNames = outputs.map((p) => p.name);
  }

  /**
   * Runs the graph: `feeds` gives each input's values, `into` each output's buffer (both in the graph's layout and
   * of the ports' sizes; the caller keeps them alive across the call, which is synchronous).
   */
  run(feeds: (port: GraphPort) => PortData, into: (port: GraphPort) => PortData): void {
    if (!this.session) throw new Error('onnxruntime session already released');
    const values: Pointer[] = [];
    // Each buffer is held here until the run ends: an OrtValue points into it, and a feed made on the fly (a
    // permuted copy) would otherwise be garbage the moment the next one is allocated.
    const held: PortData[] = [];
    try {
      const tensor = (port: GraphPort, data: PortData) => {
        held.push(data);
        const expected = portSize(port);
        if (data.length !== expected) throw new Error(`graph port '${port.name}' takes ${expected} values, got ${data.length}`);
        const value = out(
          this.rt,
          (p) =>
            this.rt.api.CreateTensorWithDataAsOrtValue(
              this.rt.cpuMemory,
              data,
              data.byteLength,
              this.shapes.get(port.name),
              port.dims.length,
              ELEMENT_TYPE[port.dtype],
              p,
            ),
          `tensor for '${port.name}'`,
        );
        values.push(value);
        return value;
      };
      const inputs = this.inputs.map((port) => tensor(port, feeds(port)));
      const outputs = this.outputs.map((port) => tensor(port, into(port)));
      check(this.rt, this.rt.api.Run(this.session, null, this.inputNames, inputs, inputs.length, this.outputNames, outputs.length, outputs), 'Run');
    } finally {
      for (const v of values) this.rt.api.ReleaseValue(v);
      held.length = 0;
    }
  }

  release(): void {
    if (this.session) this.rt.api.ReleaseSession(this.session);
    this.session = undefined;
  }
}

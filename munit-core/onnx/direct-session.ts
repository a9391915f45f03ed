// onnxruntime's C API called through koffi (an FFI with prebuilt binaries in its npm package), for the CPU and CUDA
// providers. Why, on the CPU: onnxruntime-node 1.30 copies every output into a new ArrayBuffer, pre-allocated or not:
// about 0.65 ms per MB here, which is 0.35 s of a 64x64 training iteration (every weight and both Adam moments leave
// each step). Through the C API onnxruntime reads the feeds and writes the outputs in the caller's own buffers, so
// nothing is copied. Why, on CUDA: onnxruntime-node has no CUDA buffers, so the state would cross PCIe both ways each
// update; IO binding leaves chosen outputs in the provider's memory as OrtValues that later runs take as inputs.
// An OrtValue over JavaScript memory lives for one run only, so no native code keeps a pointer into it after a call.
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
  CreateMemoryInfo: [68, 'void *CreateMemoryInfo(const char *name, int type, int id, int memType, _Out_ void **info)'],
  CreateCpuMemoryInfo: [69, 'void *CreateCpuMemoryInfo(int type, int memType, _Out_ void **info)'],
  AllocatorFree: [76, 'void *AllocatorFree(void *allocator, void *p)'],
  GetAllocatorWithDefaultOptions: [78, 'void *GetAllocatorWithDefaultOptions(_Out_ void **allocator)'],
  ReleaseStatus: [93, 'void ReleaseStatus(void *status)'],
  ReleaseSession: [95, 'void ReleaseSession(void *session)'],
  ReleaseValue: [96, 'void ReleaseValue(void *value)'],
  ReleaseSessionOptions: [100, 'void ReleaseSessionOptions(void *options)'],
  RunWithBinding: [133, 'void *RunWithBinding(void *session, void *runOptions, void *binding)'],
  CreateIoBinding: [134, 'void *CreateIoBinding(void *session, _Out_ void **binding)'],
  ReleaseIoBinding: [135, 'void ReleaseIoBinding(void *binding)'],
  BindInput: [136, 'void *BindInput(void *binding, const char *name, void *value)'],
  BindOutput: [137, 'void *BindOutput(void *binding, const char *name, void *value)'],
  BindOutputToDevice: [138, 'void *BindOutputToDevice(void *binding, const char *name, void *memoryInfo)'],
  GetBoundOutputValues: [140, 'void *GetBoundOutputValues(void *binding, void *allocator, _Out_ void **values, _Out_ size_t *count)'],
  SessionOptionsAppendExecutionProvider_CUDA_V2: [204, 'void *SessionOptionsAppendExecutionProvider_CUDA_V2(void *options, void *cudaOptions)'],
  CreateCUDAProviderOptions: [205, 'void *CreateCUDAProviderOptions(_Out_ void **cudaOptions)'],
  ReleaseCUDAProviderOptions: [208, 'void ReleaseCUDAProviderOptions(void *cudaOptions)'],
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
  koffi: Koffi;
  api: OrtApi;
  env: Pointer;
  cpuMemory: Pointer;
  /** The allocator onnxruntime hands out arrays of bound outputs with. */
  allocator: Pointer;
  /** Where a kept output stays: CUDA's memory on the first GPU, made on first use. */
  cudaMemory?: Pointer;
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
    const rt: Runtime = { koffi, api, env: undefined, cpuMemory: undefined, allocator: undefined };
    rt.env = out(rt, (p) => api.CreateEnv(ORT_LOGGING_LEVEL_ERROR, 'munit', p), 'CreateEnv');
    rt.cpuMemory = out(rt, (p) => api.CreateCpuMemoryInfo(ORT_ARENA_ALLOCATOR, ORT_MEM_TYPE_DEFAULT, p), 'CreateCpuMemoryInfo');
    rt.allocator = out(rt, (p) => api.GetAllocatorWithDefaultOptions(p), 'GetAllocatorWithDefaultOptions');
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
  /** The provider that runs the graph (the CPU one runs what CUDA's cannot). */
  provider: DirectProvider;
  threads: number;
  /** onnxruntime writes a per-node profile (JSON) under this prefix when the session is released. */
  profilePrefix?: string;
}

/** The providers this binding starts. */
export type DirectProvider = 'cpu' | 'cuda';

/**
 * A value a run left in its provider's memory (an OrtValue the caller owns): fed to later runs as it is, until
 * dispose() releases it.
 */
export class NativeValue {
  constructor(
    private readonly rt: Runtime,
    private pointer: Pointer,
  ) {}

  /** The OrtValue, for a run's binding. */
  get value(): Pointer {
    if (!this.pointer) throw new Error('internal: a released device value was fed to a run');
    return this.pointer;
  }

  dispose(): void {
    if (this.pointer) this.rt.api.ReleaseValue(this.pointer);
    this.pointer = undefined;
  }
}

/** A feed of a bound run: host values, or a value a run left on the device. */
export type BoundFeed = PortData | NativeValue;

/** One graph's session on the C API. */
export class DirectSession {
  private session: Pointer;
  private readonly inputNames: string[];
  private readonly outputNames: string[];
  private readonly shapes = new Map<string, BigInt64Array>();
  /** Where kept outputs stay: the provider's own memory (host memory for the CPU provider). */
  private readonly deviceMemory: Pointer;

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
      if (options.provider === 'cuda') appendCuda(rt, opts);
      this.session = out(rt, (p) => api.CreateSessionFromArray(rt.env, model, model.byteLength, opts, p), 'CreateSessionFromArray');
    } finally {
      api.ReleaseSessionOptions(opts);
    }
    this.deviceMemory = options.provider === 'cuda' ? cudaMemory(rt) : rt.cpuMemory;
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
    const scope = newScope();
    try {
      const inputs = this.inputs.map((port) => this.hostValue(port, feeds(port), scope));
      const outputs = this.outputs.map((port) => this.hostValue(port, into(port), scope));
      check(this.rt, this.rt.api.Run(this.live(), null, this.inputNames, inputs, inputs.length, this.outputNames, outputs.length, outputs), 'Run');
    } finally {
      this.close(scope);
    }
  }

  /**
   * Runs the graph through an IO binding: an input is host values or a value an earlier run kept; an output that
   * `keep` names stays in the provider's memory and comes back as a NativeValue (by output name), the others are
   * written into the buffers `into` gives.
   */
  runBound(feeds: (port: GraphPort) => BoundFeed, into: (port: GraphPort) => PortData, keep: (port: GraphPort) => boolean): Record<string, NativeValue> {
    const { api } = this.rt;
    const scope = newScope();
    const binding = out(this.rt, (p) => api.CreateIoBinding(this.live(), p), 'CreateIoBinding');
    try {
      for (const port of this.inputs) {
        const feed = feeds(port);
        const value = feed instanceof NativeValue ? feed.value : this.hostValue(port, feed, scope);
        check(this.rt, api.BindInput(binding, port.name, value), `binding input '${port.name}'`);
      }
      for (const port of this.outputs) {
        if (keep(port)) check(this.rt, api.BindOutputToDevice(binding, port.name, this.deviceMemory), `binding output '${port.name}'`);
        else check(this.rt, api.BindOutput(binding, port.name, this.hostValue(port, into(port), scope)), `binding output '${port.name}'`);
      }
      check(this.rt, api.RunWithBinding(this.session, null, binding), 'Run');
      return this.boundOutputs(binding, keep);
    } finally {
      api.ReleaseIoBinding(binding);
      this.close(scope);
    }
  }

  release(): void {
    if (this.session) this.rt.api.ReleaseSession(this.session);
    this.session = undefined;
  }

  private live(): Pointer {
    if (!this.session) throw new Error('onnxruntime session already released');
    return this.session;
  }

  /** An OrtValue over `data`, which the run's scope holds until the run ends. */
  private hostValue(port: GraphPort, data: PortData, scope: RunScope): Pointer {
    const expected = portSize(port);
    if (data.length !== expected) throw new Error(`graph port '${port.name}' takes ${expected} values, got ${data.length}`);
    const { api, cpuMemory } = this.rt;
    const value = out(
      this.rt,
      (p) => api.CreateTensorWithDataAsOrtValue(cpuMemory, data, data.byteLength, this.shapes.get(port.name), port.dims.length, ELEMENT_TYPE[port.dtype], p),
      `tensor for '${port.name}'`,
    );
    scope.held.push(data);
    scope.values.push(value);
    return value;
  }

  private close(scope: RunScope): void {
    for (const v of scope.values) this.rt.api.ReleaseValue(v);
    scope.held.length = 0;
  }

  /** The kept outputs of a bound run (the binding hands out every output, in the order bound; the rest are released). */
  private boundOutputs(binding: Pointer, keep: (port: GraphPort) => boolean): Record<string, NativeValue> {
    const { api, koffi, allocator } = this.rt;
    const array: Pointer[] = [null];
    const count = [0];
    check(this.rt, api.GetBoundOutputValues(binding, allocator, array, count), 'GetBoundOutputValues');
    const pointers = count[0] ? (koffi.decode(array[0], koffi.array('void *', count[0])) as Pointer[]) : [];
    check(this.rt, api.AllocatorFree(allocator, array[0]), 'AllocatorFree');
    const kept: Record<string, NativeValue> = {};
    pointers.forEach((pointer, i) => {
      const port = this.outputs[i];
      if (port && keep(port)) kept[port.name] = new NativeValue(this.rt, pointer);
      else api.ReleaseValue(pointer);
    });
    return kept;
  }
}

/**
 * What a run holds until it ends: its OrtValues over host memory, and the buffers they point into (a feed made on the
 * fly, a permuted copy, would otherwise be garbage the moment the next one is allocated).
 */
interface RunScope {
  values: Pointer[];
  held: PortData[];
}

const newScope = (): RunScope => ({ values: [], held: [] });

/** Puts CUDA's provider (on the first GPU, with its defaults) ahead of the CPU one. */
function appendCuda(rt: Runtime, opts: Pointer): void {
  const cuda = out(rt, (p) => rt.api.CreateCUDAProviderOptions(p), 'CreateCUDAProviderOptions');
  try {
    check(rt, rt.api.SessionOptionsAppendExecutionProvider_CUDA_V2(opts, cuda), 'CUDA provider');
  } finally {
    rt.api.ReleaseCUDAProviderOptions(cuda);
  }
}

function cudaMemory(rt: Runtime): Pointer {
  return (rt.cudaMemory ??= out(rt, (p) => rt.api.CreateMemoryInfo('Cuda', ORT_ARENA_ALLOCATOR, 0, ORT_MEM_TYPE_DEFAULT, p), 'CreateMemoryInfo'));
}

// The webgpu backend under Node: Google's Dawn (the `webgpu` package's dawn.node) with tfjs-backend-webgpu.
//
// Dawn is started here rather than by tfjs so that the adapter is ours to choose: Vulkan first (any recent GPU
// driver), then OpenGL through EGL without a display, and a software renderer (Mesa's llvmpipe or lavapipe,
// SwiftShader) only when the webgpu backend was asked for by name.
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface WebGpuAdapter {
  /** Dawn's backend that found it. */
  api: 'vulkan' | 'opengl';
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  software: boolean;
}

export interface WebGpuStart {
  adapter: WebGpuAdapter;
  /** Why the earlier Dawn backends were passed over, if they were. */
  passedOver: string[];
}

/** Names of software renderers as Dawn reports them in the adapter info. */
const SOFTWARE_RENDERER = /llvmpipe|lavapipe|softpipe|swiftshader|software/i;

/**
 * Why there is no GPU to look for, or undefined. On Linux a GPU shows as a device node (DRM render node, NVIDIA's, or
 * WSL's); elsewhere we cannot tell cheaply. Without one, probing Dawn finds nothing and prints its own warnings.
 */
export function noGpuDevice(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  const has = (dir: string, name: RegExp) => {
    try {
      return fs.readdirSync(dir).some((f) => name.test(f));
    } catch {
      return false;
    }
  };
  if (has('/dev/dri', /^renderD\d+$/) || has('/dev', /^(nvidia\d+|dxg)$/)) return undefined;
  return 'no GPU device on this machine (/dev/dri/renderD*, /dev/nvidia*, /dev/dxg)';
}

const ADAPTER_TIMEOUT_MS = 10_000;

/**
 * The hardware adapter Dawn offers on the platform's own API (Vulkan, D3D12 or Metal, which onnxruntime's WebGPU
 * provider runs on too), or why there is none: a software renderer does not count. `checkDevice: false` skips the
 * device-node check, so the tests can reach Dawn on a software renderer.
 */
export async function findHardwareAdapter(options: { checkDevice?: boolean } = {}): Promise<{ adapter: WebGpuAdapter } | { none: string }> {
  const noDevice = options.checkDevice === false ? undefined : noGpuDevice();
  if (noDevice) return { none: noDevice };
  const { create } = await import('webgpu');
  // A broken driver can leave the request unanswered: the engine chain then goes on without WebGPU.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ADAPTER_TIMEOUT_MS).unref()));
  const adapter = await Promise.race([create([]).requestAdapter({ powerPreference: 'high-performance' }), timeout]).finally(() => clearTimeout(timer));
  if (adapter === 'timeout') return { none: `Dawn gave no adapter within ${ADAPTER_TIMEOUT_MS / 1000} s` };
  if (!adapter) return { none: 'Dawn found no adapter' };
  const info = describeAdapter('vulkan', adapter);
  return info.software ? { none: `${adapterName(info)} is a software renderer` } : { adapter: info };
}

/**
 * Starts Dawn, picks an adapter and registers tfjs' 'webgpu' backend on a device of it (the caller then selects
 * the backend). Throws, saying why, when no acceptable adapter exists.
 */
export async function registerWebGpuBackend(allowSoftware: boolean): Promise<WebGpuStart> {
  // ESM-only package: a real dynamic import (tsx and esbuild both keep it one in CommonJS output).
  const { create, globals } = await import('webgpu');
  // tfjs-backend-webgpu reads the WebGPU constants (GPUBufferUsage, ...) and navigator.gpu as browser globals.
  Object.assign(globalThis, globals);
  const passedOver: string[] = [];
  for (const api of ['vulkan', 'opengl'] as const) {
    if (api === 'opengl') prepareHeadlessEgl();
    const gpu = create(api === 'vulkan' ? [] : ['backend=opengl']);
    // Dawn offers OpenGL only at the 'compatibility' feature level, which tfjs' compute shaders fit in.
    const adapter = await gpu.requestAdapter(api === 'vulkan' ? { powerPreference: 'high-performance' } : { featureLevel: 'compatibility' });
    if (!adapter) {
      passedOver.push(`${api}: no adapter`);
      continue;
    }
    const info = describeAdapter(api, adapter);
    if (info.software && !allowSoftware) {
      passedOver.push(`${api}: ${adapterName(info)} is a software renderer (MUNIT_BACKEND=webgpu uses it anyway)`);
      continue;
    }
    const device = await adapter.requestDevice({ requiredFeatures: optionalFeatures(adapter), requiredLimits: tfjsLimits(adapter) });
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
    /** tfjs reads GPU memory synchronously through an OffscreenCanvas, which Node lacks: say what to do instead. */
    class NodeWebGpuBackend extends WebGPUBackend {
      override readSync(dataId: object): tf.backend_util.BackendValues {
        try {
          return super.readSync(dataId);
        } catch (err) {
          if (!(err instanceof ReferenceError)) throw err;
          throw new Error('the webgpu backend cannot read GPU memory synchronously under Node (dataSync): use await tensor.data()');
        }
      }
    }
    // Importing the package registered a factory that asks navigator.gpu for an adapter of its own: replace it.
    tf.removeBackend('webgpu');
    tf.registerBackend('webgpu', () => new NodeWebGpuBackend(device, adapter.info), 3);
    return { adapter: info, passedOver };
  }
  throw new Error(`Dawn found no usable GPU adapter (${passedOver.join('; ')})`);
}

/** e.g. 'nvidia-h200 (nvidia; NVIDIA: 580.159.04 580.159.4.0; Dawn vulkan)': device, vendor and architecture, driver. */
export function adapterName(a: WebGpuAdapter): string {
  const details = [[a.vendor, a.architecture].filter((p) => p.length > 0).join(', '), a.description, `Dawn ${a.api}${a.software ? ', software renderer' : ''}`];
  return `${a.device || 'unnamed adapter'} (${details.filter((p) => p.length > 0).join('; ')})`;
}

function describeAdapter(api: WebGpuAdapter['api'], adapter: GPUAdapter): WebGpuAdapter {
  const { vendor, architecture, device, description } = adapter.info;
  const fallback = (adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  const software = fallback || SOFTWARE_RENDERER.test([vendor, architecture, device, description].join(' '));
  return { api, vendor, architecture, device, description, software };
}

/** What tfjs' own registration asks for (its base.js), plus the bindings per shader its larger kernels use. */
function tfjsLimits(adapter: GPUAdapter): Record<string, number> {
  const names = [
    'maxComputeWorkgroupStorageSize',
    'maxComputeWorkgroupsPerDimension',
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupSizeX',
    'maxComputeInvocationsPerWorkgroup',
    'maxStorageBuffersPerShaderStage',
  ] as const;
  return Object.fromEntries(names.map((n) => [n, adapter.limits[n]]));
}

function optionalFeatures(adapter: GPUAdapter): GPUFeatureName[] {
  return (['timestamp-query'] as const).filter((f) => adapter.features.has(f));
}

/** Mesa's EGL needs no display with the surfaceless platform, and a runtime folder it can write to. */
function prepareHeadlessEgl(): void {
  process.env.EGL_PLATFORM ??= 'surfaceless';
  const runtime = process.env.XDG_RUNTIME_DIR;
  if (!runtime || !isWritableDir(runtime)) {
    const dir = path.join(os.tmpdir(), `munit-xdg-${process.getuid?.() ?? 'user'}`);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  }
}

function isWritableDir(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

// Compiles a function written with tfjs ops into an ONNX graph: named inputs in, named outputs out.
import * as tf from '@tensorflow/tfjs-core';
import type { OnnxGraph } from './graph.js';
import type { ParamEntry, ParamStore } from '../layers/params.js';
import { inversePerm, permute } from './layout.js';
import { createSession, GraphSession, SessionOptions } from './session.js';
import { defaultPerm, identityPerm, OIHW, traceGraph, TraceBackend, traceTargetOf, TraceTarget } from './trace-backend.js';
import { registerTraceKernels } from './trace-kernels.js';

export interface InputSpec {
  name: string;
  /** The shape tfjs code sees (NHWC for images). */
  shape: number[];
  /** Stored layout in the graph (default: NCHW for rank 4); the feed's data must be in this layout. */
  perm?: number[];
}

export interface OutputSpec {
  name: string;
  perm?: number[];
}

/**
 * Traces `fn` on the given inputs. `fn` returns its outputs by name; the graph writes each in the layout asked for
 * in `outputPerms` (default NCHW for rank 4). Inputs no node reads (the decoder of a translation's source generator)
 * are left out. Nothing is computed and nothing stays allocated.
 */
export function compile(
  inputs: InputSpec[],
  fn: (inputs: Record<string, tf.Tensor>) => Record<string, tf.Tensor>,
  outputPerms: Record<string, number[]> = {},
  target: TraceTarget = 'cpu',
): OnnxGraph {
  registerTraceKernels();
  const { graph } = traceGraph(
    (b) =>
      tf.tidy(() => {
        const tensors = Object.fromEntries(inputs.map((i) => [i.name, b.input(i.name, i.shape, i.perm ?? defaultPerm(i.shape.length))]));
        const outputs = fn(tensors);
        for (const [name, t] of Object.entries(outputs)) b.output(name, t, outputPerms[name] ?? defaultPerm(t.rank));
        // Outputs kept out of an inner tidy (runNodes' taps) are the trace's to free too.
        tf.dispose(Object.values(outputs));
      }),
    target,
  );
  graph.dropUnusedInputs();
  return graph;
}

/** Where a weight lives in the graph: convolution filters as PyTorch's [out, in, kH, kW], the rest as tfjs has them. */
export function paramPerm(entry: ParamEntry): number[] {
  return entry.kind === 'conv' ? OIHW : identityPerm(entry.variable.rank);
}

/**
 * Makes every trainable weight of `params` (a network built while tracing) a graph input named
 * `<prefix><state-dict name>`. The network's own code then runs on those inputs: the one definition of the model.
 * Buffers (running statistics) are never read by MUNIT's forward pass, so they stay out of the graph.
 */
export function bindParams(b: TraceBackend, params: ParamStore, prefix: string): void {
  for (const entry of params.entries.values()) {
    if (!entry.trainable) continue;
    const input = b.input(`${prefix}${entry.name}`, entry.variable.shape, paramPerm(entry));
    entry.variable.assign(input);
    input.dispose();
  }
}

/** A weight's values in its graph layout (the feed for its input). */
export function paramFeed(entry: ParamEntry): Float32Array {
  return tensorFeed(entry.variable, paramPerm(entry));
}

/** A tfjs tensor's values in the graph layout `perm`. */
export function tensorFeed(t: tf.Tensor, perm: readonly number[]): Float32Array {
  return permute(t.dataSync() as Float32Array, t.shape, perm);
}

/**
 * A compiled function with an onnxruntime session: tfjs tensors in, tfjs tensors out (each converted between tfjs'
 * layout and the graph's). For translation, inspection and tests; the training step manages its own feeds.
 */
export class CompiledFunction {
  private constructor(
    readonly graph: OnnxGraph,
    private readonly session: GraphSession,
    private readonly shapes: Map<string, number[]>,
  ) {}

  static async create(
    inputs: InputSpec[],
    fn: (inputs: Record<string, tf.Tensor>) => Record<string, tf.Tensor>,
    options: SessionOptions,
  ): Promise<CompiledFunction> {
    const shapes = new Map<string, number[]>();
    const compiled = compile(
      inputs,
      (tensors) => {
        const outputs = fn(tensors);
        for (const [name, t] of Object.entries(outputs)) shapes.set(name, t.shape);
        return outputs;
      },
      {},
      traceTargetOf(options.provider),
    );
    return new CompiledFunction(compiled, await createSession(compiled, options), shapes);
  }

  /**
   * `feeds` by input name: tfjs tensors, or data already in the graph layout (weights from paramFeed). A function is
   * asked only for the inputs the graph reads. `wanted` (default all) are the outputs made into tfjs tensors.
   */
  async run(
    feeds: Record<string, tf.Tensor | Float32Array> | ((name: string) => tf.Tensor | Float32Array | undefined),
    wanted?: readonly string[],
  ): Promise<Record<string, tf.Tensor>> {
    const lookup = typeof feeds === 'function' ? feeds : (name: string) => feeds[name];
    const out = await this.session.run((port) => {
      const value = lookup(port.name);
      return value === undefined || value instanceof Float32Array ? value : tensorFeed(value, port.perm);
    });
    const result: Record<string, tf.Tensor> = {};
    for (const port of this.graph.outputs) {
      if (wanted && !wanted.includes(port.name)) continue;
      const data = permute(out[port.name] as Float32Array, port.dims, inversePerm(port.perm));
      result[port.name] = tf.tensor(data, this.shapes.get(port.name));
    }
    return result;
  }

  dispose(): void {
    this.session.release();
  }
}

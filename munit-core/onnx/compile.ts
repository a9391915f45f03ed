// Compiles a function written with tfjs ops into an ONNX graph: named inputs in, named outputs out.
import * as tf from '@tensorflow/tfjs-core';
import type { GraphPort, OnnxGraph } from './graph.js';
import type { ParamEntry, ParamStore } from '../layers/params.js';
import { permute } from './layout.js';
import { defaultPerm, identityPerm, OIHW, traceGraph, TraceBackend } from './trace-backend.js';
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

export interface CompiledGraph {
  graph: OnnxGraph;
  inputs: GraphPort[];
  outputs: GraphPort[];
}

/**
 * Traces `fn` on the given inputs. `fn` returns its outputs by name; the graph writes each in the layout asked for
 * in `outputPerms` (default NCHW for rank 4). Nothing is computed and nothing stays allocated.
 */
export function compile(
  inputs: InputSpec[],
  fn: (inputs: Record<string, tf.Tensor>) => Record<string, tf.Tensor>,
  outputPerms: Record<string, number[]> = {},
): CompiledGraph {
  registerTraceKernels();
  const { graph } = traceGraph((b) =>
    tf.tidy(() => {
      const tensors = Object.fromEntries(inputs.map((i) => [i.name, b.input(i.name, i.shape, i.perm ?? defaultPerm(i.shape.length))]));
      const outputs = fn(tensors);
      for (const [name, t] of Object.entries(outputs)) b.output(name, t, outputPerms[name] ?? defaultPerm(t.rank));
    }),
  );
  return { graph, inputs: graph.inputs, outputs: graph.outputs };
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

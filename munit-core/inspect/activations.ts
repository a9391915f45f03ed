// One node's activations for an image (`munit/activations`): per-channel statistics, the maps tiled into a PNG
// (or the numbers of a 1-D output), and for AdaIN layers the gamma/beta the style puts in.
import * as tf from '@tensorflow/tfjs-core';
import { MsImageDis } from '../networks/discriminator.js';
import { AdaINGen } from '../networks/generator.js';
import { torchShape } from './architecture.js';
import { modelNodes, NodeSpec, runNodes } from './model-nodes.js';
import { tilePng } from './tile-maps.js';
import { Activations, ChannelStats, Domain } from './types.js';

/** Statistics of each channel of channels-last data ([..., C] flattened), in float64. */
export function channelStats(data: ArrayLike<number>, channels: number): ChannelStats[] {
  const n = data.length / channels;
  return Array.from({ length: channels }, (_, ch) => {
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let p = ch; p < data.length; p += channels) {
      sum += data[p];
      min = Math.min(min, data[p]);
      max = Math.max(max, data[p]);
    }
    const mean = sum / n;
    let squares = 0;
    for (let p = ch; p < data.length; p += channels) squares += (data[p] - mean) ** 2;
    return { mean, std: Math.sqrt(squares / n), min, max };
  });
}

/** The key of an AdaIN node's gamma and beta (one output: gamma then beta, [1, 2C]). */
const adainKey = (nodeId: string) => `${nodeId}:adain`;

/**
 * Every output an activation request can ask for, by key: each node of the domain's networks by its id, and for
 * each AdaIN node its gamma and beta (adainKey), which the style puts in.
 */
export function inspectableOutputs(gen: AdaINGen, dis: MsImageDis, domain: Domain): Map<string, NodeSpec> {
  const outputs = new Map<string, NodeSpec>();
  for (const node of modelNodes(gen, dis, domain).nodes) {
    outputs.set(node.id, node);
    const layer = node.adainLayer;
    if (layer === undefined) continue;
    const derive = (s: tf.Tensor) => {
      const p = gen.adainParams(s as tf.Tensor2D)[layer];
      return tf.concat([p.gamma, p.beta], 1);
    };
    outputs.set(adainKey(node.id), { ...node, source: { from: 'style', derive } });
  }
  return outputs;
}

/**
 * Runs `image` (and `style`) through the networks and returns the outputs with these keys (inspectableOutputs), in
 * order; the caller disposes them. Eagerly here; the compiled translator runs the same runNodes as a graph.
 */
export type NodeRunner = (gen: AdaINGen, dis: MsImageDis, domain: Domain, keys: string[], image: tf.Tensor4D, style?: tf.Tensor2D) => Promise<tf.Tensor[]>;

export const eagerNodeRunner: NodeRunner = async (gen, dis, domain, keys, image, style) => {
  const outputs = inspectableOutputs(gen, dis, domain);
  const specs = keys.map((k) => outputs.get(k)!);
  const captured = new Map<NodeSpec, tf.Tensor>();
  runNodes(gen, dis, specs, image, style, (spec, output) => captured.set(spec, tf.keep(output.clone())));
  return specs.map((spec) => captured.get(spec)!);
};

function findNode(nodes: Map<string, NodeSpec>, nodeId: string, domain: Domain): NodeSpec {
  const node = nodes.get(nodeId);
  if (node && !nodeId.endsWith(':adain')) return node;
  // The first node of each group is enough to show how ids look.
  const all = [...nodes.values()].filter((n, i, list) => list.findIndex((m) => m.id === n.id) === i);
  const examples = all.filter((n, i) => all.findIndex((m) => m.group === n.group) === i).map((n) => n.id);
  throw new Error(`no node '${nodeId}' in the domain ${domain} networks; ids look like ${examples.map((id) => `'${id}'`).join(', ')}`);
}

/**
 * Runs the image through the networks node `nodeId` belongs to and returns that node's output: the generator
 * nodes come from the auto-encoder path (encode content and style, decode with `style` if given, else the image's
 * own style), the discriminator nodes from the discriminator on the image. `image` is [1, H, W, C] in [-1, 1],
 * `style` [1, style_dim]. `run` is the engine (default eager tfjs). Leaves no tensors behind.
 */
export async function nodeActivations(
  gen: AdaINGen,
  dis: MsImageDis,
  domain: Domain,
  nodeId: string,
  image: tf.Tensor4D,
  style?: tf.Tensor2D,
  run: NodeRunner = eagerNodeRunner,
): Promise<Activations> {
  const node = findNode(inspectableOutputs(gen, dis, domain), nodeId, domain);
  if (image.shape[0] !== 1 || image.shape[3] !== gen.inputDim) {
    throw new Error(`image must be [1, H, W, ${gen.inputDim}] for domain ${domain}, got [${image.shape}]`);
  }
  if (style && (style.shape[0] !== 1 || style.shape[1] !== gen.styleDim)) {
    throw new Error(`style code must be [1, ${gen.styleDim}], got [${style.shape}]`);
  }
  const layer = node.adainLayer;
  // The AdaIN layer's gamma and beta ride along as one more output of the same run.
  const keys = layer === undefined ? [nodeId] : [nodeId, adainKey(nodeId)];
  const [output, adain] = await run(gen, dis, domain, keys, image, style);
  try {
    const shape = torchShape(output.shape);
    const data = await output.data();
    const channels = shape[0];
    const result: Activations = { nodeId, shape, channels: channelStats(data, channels) };
    if (shape.length === 3) result.tiles = await tilePng(data, shape[1], shape[2], channels);
    else result.values = Array.from(data);
    if (adain && layer !== undefined) {
      const both = Array.from(await adain.data());
      const c = both.length / 2;
      result.adain = [{ layer, gamma: both.slice(0, c), beta: both.slice(c) }];
    }
    return result;
  } finally {
    tf.dispose([output, ...(adain ? [adain] : [])]);
  }
}

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

function findNode(nodes: NodeSpec[], nodeId: string, domain: Domain): NodeSpec {
  const node = nodes.find((n) => n.id === nodeId);
  if (node) return node;
  // The first node of each group is enough to show how ids look.
  const examples = nodes.filter((n, i) => nodes.findIndex((m) => m.group === n.group) === i).map((n) => n.id);
  throw new Error(`no node '${nodeId}' in the domain ${domain} networks; ids look like ${examples.map((id) => `'${id}'`).join(', ')}`);
}

/**
 * Runs the image through the networks node `nodeId` belongs to and returns that node's output: the generator
 * nodes come from the auto-encoder path (encode content and style, decode with `style` if given, else the image's
 * own style), the discriminator nodes from the discriminator on the image. `image` is [1, H, W, C] in [-1, 1],
 * `style` [1, style_dim]. Leaves no tensors behind.
 */
export async function nodeActivations(
  gen: AdaINGen,
  dis: MsImageDis,
  domain: Domain,
  nodeId: string,
  image: tf.Tensor4D,
  style?: tf.Tensor2D,
): Promise<Activations> {
  const node = findNode(modelNodes(gen, dis, domain).nodes, nodeId, domain);
  if (image.shape[0] !== 1 || image.shape[3] !== gen.inputDim) {
    throw new Error(`image must be [1, H, W, ${gen.inputDim}] for domain ${domain}, got [${image.shape}]`);
  }
  if (style && (style.shape[0] !== 1 || style.shape[1] !== gen.styleDim)) {
    throw new Error(`style code must be [1, ${gen.styleDim}], got [${style.shape}]`);
  }
  const layer = node.adainLayer;
  // The AdaIN layer's gamma and beta ride along as one more derived output of the same run.
  const adainSpec: NodeSpec | undefined =
    layer === undefined
      ? undefined
      : {
          ...node,
          source: {
            from: 'style',
            derive: (s) => {
              const p = gen.adainParams(s)[layer];
              return tf.concat([p.gamma, p.beta], 1);
            },
          },
        };
  const captured = new Map<NodeSpec, tf.Tensor>();
  runNodes(gen, dis, adainSpec ? [node, adainSpec] : [node], image, style, (spec, output) => captured.set(spec, tf.keep(output.clone())));
  try {
    const output = captured.get(node)!;
    const shape = torchShape(output.shape);
    const data = await output.data();
    const channels = shape[0];
    const result: Activations = { nodeId, shape, channels: channelStats(data, channels) };
    if (shape.length === 3) result.tiles = await tilePng(data, shape[1], shape[2], channels);
    else result.values = Array.from(data);
    if (adainSpec && layer !== undefined) {
      const both = Array.from(await captured.get(adainSpec)!.data());
      const c = both.length / 2;
      result.adain = [{ layer, gamma: both.slice(0, c), beta: both.slice(c) }];
    }
    return result;
  } finally {
    tf.dispose([...captured.values()]);
  }
}

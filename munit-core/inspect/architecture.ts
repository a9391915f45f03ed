// The architecture of one domain's generator and discriminator as a graph (`munit/architecture`), and as the
// indented text tree `munit architecture` prints.
import * as tf from '@tensorflow/tfjs-core';
import { MsImageDis } from '../networks/discriminator.js';
import { AdaINGen } from '../networks/generator.js';
import { modelNodes, runNodes } from './model-nodes.js';
import { ArchitectureGraph, Domain, GraphGroup, GraphNode } from './types.js';

/** A tfjs output ([1, H, W, C] or [1, C]) as PyTorch prints it without the batch: [C, H, W] or [C]. */
export function torchShape(shape: readonly number[]): number[] {
  return shape.length === 4 ? [shape[3], shape[1], shape[2]] : shape.slice(1);
}

/**
 * The graph of `gen_<domain>` and `dis_<domain>` for an input of `inputShape` ([C, H, W]). Output shapes come
 * from one forward pass of a zero image (the weights do not matter), so they are what the networks really make.
 */
export function architectureGraph(gen: AdaINGen, dis: MsImageDis, domain: Domain, inputShape: [number, number, number]): ArchitectureGraph {
  const [c, h, w] = inputShape;
  if (c !== gen.inputDim || c !== dis.inputDim) {
    throw new Error(`input shape [${inputShape}] has ${c} channels but the domain ${domain} networks take ${gen.inputDim}`);
  }
  const layout = modelNodes(gen, dis, domain);
  const shapes = new Map<string, number[]>();
  tf.tidy(() => runNodes(gen, dis, layout.nodes, tf.zeros([1, h, w, c]), undefined, (spec, output) => shapes.set(spec.id, torchShape(output.shape))));
  const nodes: GraphNode[] = layout.nodes.map(({ source: _source, adainLayer: _adainLayer, ...node }) => ({ ...node, outputShape: shapes.get(node.id)! }));

  // A group's total includes its nested groups'.
  const totals = new Map(layout.groups.map((g) => [g.id, 0]));
  const parent = new Map(layout.groups.map((g) => [g.id, g.parent]));
  for (const node of nodes) {
    for (let g: string | undefined = node.group; g; g = parent.get(g)) totals.set(g, totals.get(g)! + node.parameters);
  }
  const groups: GraphGroup[] = layout.groups.map((g) => ({ ...g, parameters: totals.get(g.id)! }));
  return { domain, inputShape: [c, h, w], nodes, edges: layout.edges, groups };
}

/** Nodes in flow order as an indented tree under their groups (each group's heading where it first appears). */
export function architectureText(graph: ArchitectureGraph): string {
  const groups = new Map(graph.groups.map((g) => [g.id, g]));
  const chain = (id: string): GraphGroup[] => {
    const g = groups.get(id)!;
    return g.parent ? [...chain(g.parent), g] : [g];
  };
  const count = (n: number) => n.toLocaleString('en-US');
  const printed = new Set<string>();
  const lines: string[] = [];
  for (const node of graph.nodes) {
    const ancestors = chain(node.group);
    for (const [depth, g] of ancestors.entries()) {
      if (printed.has(g.id)) continue;
      printed.add(g.id);
      lines.push(`${'  '.repeat(depth)}${g.id}  ${g.label}${g.note ? ` (${g.note})` : ''}  ${count(g.parameters)} parameters`);
    }
    const extras = [node.norm !== 'none' ? `norm ${node.norm}` : '', node.activation ?? ''].filter(Boolean).join(', ');
    lines.push(
      `${'  '.repeat(ancestors.length)}${node.id}  ${node.label}${extras ? ` [${extras}]` : ''}  [${node.outputShape.join(', ')}]  ${count(node.parameters)}`,
    );
  }
  return lines.join('\n');
}

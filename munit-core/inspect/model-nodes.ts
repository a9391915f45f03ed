// The nodes of one domain's generator and discriminator as inspection sees them: ids, groups, edges, and where each
// node's output comes from when the networks run. The graph and the activations are both built from this one list,
// so every id the graph shows can be asked for.
import * as tf from '@tensorflow/tfjs-core';
import { Activation } from '../layers/activation.js';
import { Conv2dBlock } from '../layers/conv2d-block.js';
import { Tap } from '../layers/context.js';
import { avgPool3x3s2ExcludePad } from '../layers/padding.js';
import { ParamStore } from '../layers/params.js';
import { MsImageDis } from '../networks/discriminator.js';
import { AdaINGen } from '../networks/generator.js';
import { Domain, GraphEdge, GraphGroup, GraphNode } from './types.js';

/**
 * Where a node's output comes from. Most nodes are a block's tapped output during one pass; the rest are derived
 * from what the passes see, because the networks have no tap there (the global pools, the discriminator's
 * downsampling, the MLP's hidden layers).
 */
export type NodeSource =
  | { from: 'image'; derive?: (image: tf.Tensor4D) => tf.Tensor }
  /** `encode`: both encoders on the image; `decode`: the decoder on its content code; `discriminate`: all scales. */
  | { from: 'encode' | 'decode' | 'discriminate'; tap: string; derive?: (output: tf.Tensor) => tf.Tensor }
  /** From the style code the decoder uses: the given one, else the image's own. */
  | { from: 'style'; derive: (style: tf.Tensor2D) => tf.Tensor };

export interface NodeSpec extends Omit<GraphNode, 'outputShape'> {
  source: NodeSource;
  /** AdaIN nodes: the layer's index in the order the MLP output is split into. */
  adainLayer?: number;
}

export interface ModelNodes {
  nodes: NodeSpec[];
  edges: GraphEdge[];
  /** Without parameter totals: those are sums over the nodes. */
  groups: Omit<GraphGroup, 'parameters'>[];
}

type Pass = Exclude<NodeSource['from'], 'image' | 'style'>;

class Builder {
  readonly nodes: NodeSpec[] = [];
  readonly edges: GraphEdge[] = [];
  readonly groups: Omit<GraphGroup, 'parameters'>[] = [];

  group(g: Omit<GraphGroup, 'parameters'>): string {
    this.groups.push(g);
    return g.id;
  }

  /**
   * Adds the node and, when `from` is given, a data edge into it; returns its id for the next link. Every node has a
   * source, so every node is inspectable.
   */
  add(spec: Omit<NodeSpec, 'inspectable'>, from?: string): string {
    this.nodes.push({ ...spec, inspectable: true });
    if (from) this.link(from, spec.id);
    return spec.id;
  }

  link(from: string, to: string, extra: Partial<GraphEdge> = {}): void {
    this.edges.push({ from, to, kind: 'data', ...extra });
  }

  /** A Conv2dBlock node: the block's own tap, parameters under its state-dict prefix. */
  conv(
    net: string,
    params: ParamStore,
    block: Conv2dBlock,
    group: string,
    pass: Pass,
    from: string,
    extra: Partial<Pick<NodeSpec, 'kind' | 'label' | 'adainLayer'>> = {},
  ): string {
    return this.add(
      {
        id: `${net}/${block.path}`,
        label: convLabel(block),
        kind: 'conv',
        group,
        parameters: params.countParameters(`${block.path}.`),
        norm: block.args.norm,
        activation: activationName(block.args.activation),
        statePath: block.path,
        source: { from: pass, tap: block.path },
        ...extra,
      },
      from,
    );
  }
}

function activationName(a: Activation): string | undefined {
  return a === 'none' ? undefined : a;
}

function convLabel(block: Conv2dBlock): string {
  const { kernel, stride, inDim, outDim } = block.args;
  return `conv ${kernel}x${kernel}/${stride}, ${inDim}→${outDim}`;
}

/** A network's input image node. */
function addImageInput(b: Builder, net: string, channels: number): string {
  return b.add({
    id: `${net}/input`,
    label: `image, ${channels} channel${channels > 1 ? 's' : ''}`,
    kind: 'input',
    group: net,
    parameters: 0,
    norm: 'none',
    source: { from: 'image' },
  });
}

function addGenerator(b: Builder, gen: AdaINGen, domain: Domain): void {
  const net = `gen_${domain}`;
  const p = gen.params;
  b.group({ id: net, label: `generator ${domain.toUpperCase()} (AdaINGen)` });
  const input = addImageInput(b, net, gen.inputDim);

  const se = gen.styleEncoder;
  const seGroup = b.group({
    id: `${net}/enc_style`,
    parent: net,
    label: 'style encoder',
    note: 'no instance norm: it would erase the channel statistics that carry style',
  });
  let prev = se.blocks.reduce((from, block) => b.conv(net, p, block, seGroup, 'encode', from), input);
  // The reference's model.<n> is the AdaptiveAvgPool2d(1) and model.<n+1> the 1x1 conv that StyleEncoder taps.
  const poolPath = `${se.path}.model.${se.blocks.length}`;
  const outPath = `${se.path}.model.${se.blocks.length + 1}`;
  const lastBlock = se.blocks[se.blocks.length - 1];
  const pooledDim = lastBlock.args.outDim;
  prev = b.add(
    {
      id: `${net}/${poolPath}`,
      label: 'global average pool',
      kind: 'pool',
      group: seGroup,
      parameters: 0,
      norm: 'none',
      source: { from: 'encode', tap: lastBlock.path, derive: (t) => tf.mean(t, [1, 2]) },
    },
    prev,
  );
  prev = b.add(
    {
      id: `${net}/${outPath}`,
      label: `conv 1x1, ${pooledDim}→${se.outDim}`,
      kind: 'conv',
      group: seGroup,
      parameters: p.countParameters(`${outPath}.`),
      norm: 'none',
      statePath: outPath,
      source: { from: 'encode', tap: outPath },
    },
    prev,
  );
  const styleCode = b.add(
    {
      id: `${net}/style_code`,
      label: `style code (${se.outDim})`,
      kind: 'code',
      group: net,
      parameters: 0,
      norm: 'none',
      source: { from: 'encode', tap: outPath },
    },
    prev,
  );

  const ce = gen.contentEncoder;
  const ceGroup = b.group({ id: `${net}/enc_content`, parent: net, label: 'content encoder', note: 'instance norm' });
  prev = ce.blocks.reduce((from, block) => b.conv(net, p, block, ceGroup, 'encode', from), input);
  for (const [i, block] of ce.res.blocks.entries()) {
    const first = block.convs[0];
    prev = b.add(
      {
        id: `${net}/${block.path}`,
        label: `res block ${i}: 2 x conv 3x3, ${first.args.outDim}`,
        kind: 'resblock',
        group: ceGroup,
        parameters: p.countParameters(`${block.path}.`),
        norm: first.args.norm,
        activation: activationName(first.args.activation),
        statePath: block.path,
        source: { from: 'encode', tap: block.path },
      },
      prev,
    );
  }
  const contentTap = (ce.res.blocks.at(-1) ?? ce.blocks[ce.blocks.length - 1]).path;
  const contentCode = b.add(
    {
      id: `${net}/content_code`,
      label: `content code (${ce.outDim} channels)`,
      kind: 'code',
      group: net,
      parameters: 0,
      norm: 'none',
      source: { from: 'encode', tap: contentTap },
    },
    prev,
  );

  const mlpGroup = b.group({ id: `${net}/mlp`, parent: net, label: 'MLP', note: 'style code → AdaIN gamma/beta of every decoder layer' });
  prev = styleCode;
  for (const [k, block] of gen.mlp.blocks.entries()) {
    const [inDim, outDim] = block.weight.shape;
    const last = k === gen.mlp.blocks.length - 1;
    prev = b.add(
      {
        id: `${net}/${block.path}`,
        label: `linear ${inDim}→${outDim}`,
        kind: 'linear',
        group: mlpGroup,
        parameters: p.countParameters(`${block.path}.`),
        norm: 'none',
        activation: last ? undefined : activationName(gen.options.activ),
        statePath: block.path,
        source: { from: 'style', derive: (s) => gen.mlp.blocks.slice(0, k + 1).reduce<tf.Tensor2D>((h, bl) => bl.apply(h), s) },
      },
      prev,
    );
  }
  const mlpOut = prev;

  const dec = gen.decoder;
  const decGroup = b.group({ id: `${net}/dec`, parent: net, label: 'decoder', note: 'AdaIN residual blocks, then LayerNorm upsampling' });
  prev = contentCode;
  let layer = 0;
  for (const [i, block] of dec.res.blocks.entries()) {
    const blockInput = prev;
    for (const [j, conv] of block.convs.entries()) {
      const channels = conv.args.outDim;
      const label = `res block ${i}, conv ${j + 1}: 3x3, ${channels}, AdaIN`;
      prev = b.conv(net, p, conv, decGroup, 'decode', prev, { kind: 'adain-resblock', label, adainLayer: layer++ });
      b.link(mlpOut, prev, { kind: 'adain', size: 2 * channels });
    }
    b.link(blockInput, prev, { residual: true });
  }
  for (const conv of dec.upsampling) {
    prev = b.conv(net, p, conv, decGroup, 'decode', prev, { kind: 'upsample', label: `upsample x2, conv 5x5, ${conv.args.inDim}→${conv.args.outDim}` });
  }
  b.conv(net, p, dec.out, decGroup, 'decode', prev, { kind: 'output', label: `conv 7x7, ${dec.out.args.inDim}→${dec.out.args.outDim}: the image` });
}

function addDiscriminator(b: Builder, dis: MsImageDis, domain: Domain): void {
  const net = `dis_${domain}`;
  const p = dis.params;
  b.group({ id: net, label: `discriminator ${domain.toUpperCase()} (MsImageDis)`, note: `${dis.options.num_scales} scales, ${dis.options.gan_type}` });
  let scaleInput = addImageInput(b, net, dis.inputDim);
  for (const [s, scale] of dis.scales.entries()) {
    if (s > 0) {
      const derive = (x: tf.Tensor4D) => {
        for (let i = 0; i < s; i++) x = avgPool3x3s2ExcludePad(x);
        return x;
      };
      scaleInput = b.add(
        {
          id: `${net}/downsample_${s}`,
          label: `average pool 3x3/2 (padding not counted): input of scale ${s}`,
          kind: 'pool',
          group: net,
          parameters: 0,
          norm: 'none',
          source: { from: 'image', derive },
        },
        scaleInput,
      );
    }
    const group = b.group({ id: `${net}/scale_${s}`, parent: net, label: `scale ${s}`, note: s === 0 ? 'full resolution' : `1/${2 ** s} resolution` });
    const features = scale.blocks.reduce((from, block) => b.conv(net, p, block, group, 'discriminate', from), scaleInput);
    const dim = scale.blocks[scale.blocks.length - 1].args.outDim;
    b.add(
      {
        id: `${net}/${scale.outPath}`,
        label: `conv 1x1, ${dim}→1: patch map`,
        kind: 'output',
        group,
        parameters: p.countParameters(`${scale.outPath}.`),
        norm: 'none',
        statePath: scale.outPath,
        source: { from: 'discriminate', tap: scale.outPath },
      },
      features,
    );
  }
}

/** The nodes, edges and groups of `gen_<domain>` and `dis_<domain>`. */
export function modelNodes(gen: AdaINGen, dis: MsImageDis, domain: Domain): ModelNodes {
  const b = new Builder();
  addGenerator(b, gen, domain);
  addDiscriminator(b, dis, domain);
  return { nodes: b.nodes, edges: b.edges, groups: b.groups };
}

/**
 * Runs only the passes the given nodes need on `image` ([1, H, W, C]) and calls `visit` with each node's output
 * ([1, H, W, C] maps or [1, C] vectors). The tensors live only during the call: copy what you keep.
 * `style` ([1, style_dim]) replaces the image's own style code in the decoder and the MLP.
 */
export function runNodes(
  gen: AdaINGen,
  dis: MsImageDis,
  specs: NodeSpec[],
  image: tf.Tensor4D,
  style: tf.Tensor2D | undefined,
  visit: (spec: NodeSpec, output: tf.Tensor) => void,
): void {
  const from = <F extends NodeSource['from']>(f: F) => specs.filter((s): s is NodeSpec & { source: Extract<NodeSource, { from: F }> } => s.source.from === f);
  const tapFor = (pass: Pass): Tap => {
    const wanted = from(pass);
    return (path, output) => {
      for (const s of wanted) if (s.source.tap === path) visit(s, s.source.derive ? s.source.derive(output) : output);
    };
  };
  tf.tidy(() => {
    for (const s of from('image')) visit(s, s.source.derive ? s.source.derive(image) : image);
    const styleNodes = from('style');
    const decodeNodes = from('decode');
    if (from('encode').length || styleNodes.length || decodeNodes.length) {
      const encoded = gen.encode(image, { tap: tapFor('encode') });
      const used = style ?? encoded.style;
      for (const s of styleNodes) visit(s, s.source.derive(used));
      if (decodeNodes.length) gen.decode(encoded.content, used, { tap: tapFor('decode') });
    }
    if (from('discriminate').length) dis.apply(image, { tap: tapFor('discriminate') });
  });
}

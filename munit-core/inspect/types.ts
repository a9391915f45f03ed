// What inspection returns: the architecture of a live model as a graph, and one node's activations.
// Plain JSON data, so the server can send it as is and the panels can draw it.

/** Which half of the model pair: domain a (gen_a + dis_a) or domain b (gen_b + dis_b). */
export type Domain = 'a' | 'b';

export type NodeKind =
  | 'input' // the image
  | 'conv' // Conv2dBlock: pad, conv, norm, activation
  | 'resblock' // ResBlock with instance norm (content encoder)
  | 'adain-resblock' // one conv layer of a decoder ResBlock whose norm takes gamma/beta from the MLP (AdaIN)
  | 'upsample' // nearest x2, then a 5x5 conv with LayerNorm
  | 'pool' // global average pool (style encoder) or 3x3/2 average pool between discriminator scales
  | 'linear' // LinearBlock of the MLP
  | 'code' // the style code or the content code (parameter-free: the output of the layer before it)
  | 'output'; // tanh image, or a discriminator's patch map

/** The normalisation a node applies; 'adain' takes its gamma/beta from the MLP. */
export type Normalization = 'none' | 'in' | 'adain' | 'ln' | 'bn';

export interface GraphNode {
  /** Unique in the graph, e.g. 'gen_a/enc_content.model.0'; pass it back to ask for activations. */
  id: string;
  label: string;
  kind: NodeKind;
  /** The innermost group holding it. */
  group: string;
  /** [C, H, W] for feature maps, [C] for codes, as PyTorch would print it (batch left out). */
  outputShape: number[];
  /** Trainable parameters of this node alone. */
  parameters: number;
  norm: Normalization;
  activation?: string;
  /** The reference state-dict prefix of its weights, e.g. 'enc_content.model.0'; absent for parameter-free nodes. */
  statePath?: string;
  /** Whether `munit/activations` can return its feature maps. */
  inspectable: boolean;
}

export interface GraphEdge {
  from: string;
  to: string;
  /** 'adain': the MLP's gamma/beta for one AdaIN layer; 'data': a tensor flowing forward. */
  kind: 'data' | 'adain';
  /** For 'adain' edges, how many numbers travel (2 x channels). */
  size?: number;
  /** A residual block's skip connection: `from`'s output is added to `to`'s output. */
  residual?: boolean;
}

export interface GraphGroup {
  /** e.g. 'gen_a', 'gen_a/enc_style', 'dis_a/scale_1'. */
  id: string;
  label: string;
  parent?: string;
  /** A short remark shown with the group, e.g. 'no instance norm' for the style encoder. */
  note?: string;
  /** Trainable parameters inside the group. */
  parameters: number;
}

export interface ArchitectureGraph {
  domain: Domain;
  /** Input image [C, H, W] the shapes were computed for. */
  inputShape: [number, number, number];
  nodes: GraphNode[];
  edges: GraphEdge[];
  groups: GraphGroup[];
}

export interface ChannelStats {
  mean: number;
  std: number;
  min: number;
  max: number;
}

export interface ActivationTiles {
  /** Base64 PNG of all channels tiled row-major, each channel min-max normalised to grey (base64: it travels as JSON). */
  png: string;
  columns: number;
  rows: number;
  /** A tile's size in pixels: the map's, scaled up by a whole factor when the map is tiny. */
  tileWidth: number;
  tileHeight: number;
  /** Present when only the first `shownChannels` channels are tiled (maps with very many channels). */
  shownChannels?: number;
}

export interface Activations {
  nodeId: string;
  /** [C, H, W] or [C]. */
  shape: number[];
  /** Absent for nodes without spatial maps (codes, MLP layers): their values are in `values`. */
  tiles?: ActivationTiles;
  /** One entry per channel (over H x W; std is the population std). For 1-D outputs each channel is one number. */
  channels: ChannelStats[];
  /** For 1-D outputs (codes, MLP layers): the numbers themselves. */
  values?: number[];
  /** For AdaIN nodes: the gamma/beta in use for this style; `layer` is the index in the MLP output's order. */
  adain?: { layer: number; gamma: number[]; beta: number[] }[];
}

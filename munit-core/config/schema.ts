// The one table that describes every key of a MUNIT config file. Validation, defaults, and the language server's
// hover docs and completion are all driven from here, so a key is added or documented in exactly one place.
// Defaults are the reference's (NVlabs/MUNIT, as listed in shared/docs/munit-reference.md); `referenceValues` lists
// the six reference configs that use another value, so hovers can say "the reference uses 10 for summer2winter".

import { ACTIVATIONS, DIS_NORMS, GAN_TYPES, INIT_SCHEMES, LR_POLICIES, PAD_TYPES, type Activation, type PadType } from './enums.js';

export type ConfigValueType = 'number' | 'integer' | 'string' | 'enum' | 'path';
export type ConfigGroup = 'logger' | 'optimization' | 'model' | 'data';
export type ConfigScalar = number | string;

export interface ConfigKeySpec {
  /** Dotted key as written in the file: `lr`, `gen.dim`. */
  key: string;
  type: ConfigValueType;
  group: ConfigGroup;
  /** The reference default; absent for keys that have none (data paths, vgg_model_path, ignored keys). */
  default?: ConfigScalar;
  /** Value to offer in completion when there is no default. */
  example?: ConfigScalar;
  /** Reference configs (file name without .yaml) whose value differs from `default`. */
  referenceValues?: Readonly<Record<string, ConfigScalar>>;
  /** Inclusive bounds unless the matching `...Exclusive` flag is set. */
  min?: number;
  minExclusive?: boolean;
  max?: number;
  maxExclusive?: boolean;
  /** Why the range is what it is; appended to range errors so the user knows what to pick. */
  rangeHint?: string;
  /** Allowed values: the enum's members, or the set an integer key is limited to (input_dim_a: 1 or 3). */
  values?: readonly ConfigScalar[];
  /** One line per allowed value, for completion items. */
  valueDocs?: Readonly<Record<string, string>>;
  /** Values the reference accepts but MUNIT Studio rejects, each with the sentence shown to the user. */
  unsupportedValues?: Readonly<Record<string, string>>;
  /** Set for keys accepted only for compatibility and then ignored: the warning shown when they appear. */
  ignoredReason?: string;
  /** One line (completion detail). */
  summary: string;
  /** One markdown paragraph (hover): meaning, effect on training, units. */
  doc: string;
}

export interface ConfigSectionSpec {
  key: 'gen' | 'dis';
  summary: string;
  doc: string;
}

/** The six configs of the reference's configs/ folder (fixtures in test/fixtures/reference-configs). */
export const REFERENCE_CONFIG_NAMES = [
  'edges2shoes_folder',
  'edges2handbags_folder',
  'demo_edges2handbags_folder',
  'demo_edges2handbags_list',
  'summer2winter_yosemite256_folder',
  'synthia2cityscape_folder',
] as const;

const ACTIVATION_DOCS: Record<Activation, string> = {
  relu: 'max(0, x)',
  lrelu: 'leaky ReLU with slope 0.2 for x < 0',
  prelu: 'leaky ReLU whose negative slope is learned (one per layer, starts at 0.25)',
  selu: 'scaled exponential linear unit',
  tanh: 'hyperbolic tangent',
  none: 'identity (no activation)',
};
const PAD_DOCS: Record<PadType, string> = {
  reflect: 'mirror the border pixels (reference default; avoids dark borders)',
  zero: 'pad with zeros',
};
const REPLICATE_UNSUPPORTED = "'replicate' padding is a reference option that MUNIT Studio does not support; use reflect (the reference default) or zero.";

/** Folder layout keys, in reading order; the list layout needs all eight. */
export const DATA_LIST_KEYS = [
  'data_folder_train_a',
  'data_list_train_a',
  'data_folder_test_a',
  'data_list_test_a',
  'data_folder_train_b',
  'data_list_train_b',
  'data_folder_test_b',
  'data_list_test_b',
] as const;
export type DataListKey = (typeof DATA_LIST_KEYS)[number];

const SMALL_CONFIGS = ['edges2shoes_folder', 'demo_edges2handbags_folder', 'demo_edges2handbags_list'];
const only = (names: readonly string[], value: ConfigScalar): Record<string, ConfigScalar> => Object.fromEntries(names.map((n) => [n, value]));

function listKeySpec(key: DataListKey): ConfigKeySpec {
  const [, kind, split, domain] = key.split('_'); // data_{folder|list}_{train|test}_{a|b}
  const D = domain.toUpperCase();
  const what = `domain ${D} ${split === 'train' ? 'training' : 'test'} images`;
  const isList = kind === 'list';
  const example = `./datasets/demo_edges2handbags/${isList ? `list_${split}${D}.txt` : `${split}${D}`}`;
  return {
    key,
    type: 'path',
    group: 'data',
    example,
    referenceValues: { demo_edges2handbags_list: example },
    summary: isList ? `Text file listing the ${what}` : `Folder holding the ${what}`,
    doc: isList
      ? `Text file listing the ${what}, one path per line, each relative to \`data_folder_${split}_${domain}\`. ` +
        'Part of the *list layout*, which replaces `data_root` and needs all eight `data_folder_*`/`data_list_*` keys. ' +
        'Use it to train on a subset or on images spread over sub-folders. A relative path is looked up from the ' +
        'current working directory (as the reference does), then from the folder of the config file.'
      : `Folder that the paths in \`data_list_${split}_${domain}\` are relative to (the ${what}). Part of the ` +
        '*list layout*, which replaces `data_root` and needs all eight `data_folder_*`/`data_list_*` keys. A relative ' +
        'path is looked up from the current working directory (as the reference does), then from the folder of the ' +
        'config file.',
  };
}

function itersSpec(key: string, spec: Omit<ConfigKeySpec, 'key' | 'type' | 'group' | 'min'>): ConfigKeySpec {
  return { key, type: 'integer', group: 'logger', min: 1, ...spec };
}

function lossWeightSpec(key: string, spec: Omit<ConfigKeySpec, 'key' | 'type' | 'group' | 'min'>): ConfigKeySpec {
  return { key, type: 'number', group: 'optimization', min: 0, rangeHint: 'Use 0 to switch the term off.', ...spec };
}

/** `gen.pad_type` and `dis.pad_type`: the same key in both sections. */
function padTypeKey(section: 'gen' | 'dis', network: string, effect: string): ConfigKeySpec {
  return {
    key: `${section}.pad_type`,
    type: 'enum',
    group: 'model',
    default: 'reflect',
    values: PAD_TYPES,
    valueDocs: PAD_DOCS,
    unsupportedValues: { replicate: REPLICATE_UNSUPPORTED },
    summary: `Padding of ${network} convolutions`,
    doc: `How feature maps are padded before each ${network} convolution. \`reflect\` (reference) ${effect}. The reference's \`replicate\` is not supported.`,
  };
}

export const CONFIG_SCHEMA: readonly ConfigKeySpec[] = [
  // ---- logger options -------------------------------------------------------------------------------------------
  itersSpec('image_save_iter', {
    default: 10000,
    referenceValues: only(SMALL_CONFIGS, 1000),
    summary: 'Iterations between saved sample grids',
    doc:
      'Every `image_save_iter` iterations, sample grids for the train and test images in both directions (a→b, b→a) ' +
      'are written to `outputs/<config name>/images/` with the iteration number in the name, and the `index.html` ' +
      'gallery is updated. Each save runs `display_size` images through both generators, so small values slow ' +
      'training down. Unit: iterations.',
  }),
  itersSpec('image_display_iter', {
    default: 500,
    referenceValues: { ...only(SMALL_CONFIGS, 100), summer2winter_yosemite256_folder: 100 },
    summary: 'Iterations between refreshes of the "current" sample grids',
    doc:
      'Every `image_display_iter` iterations the *current* sample grids (train images, both directions) are ' +
      'overwritten, so you can watch training progress without filling the disk. Costs a forward pass of ' +
      '`display_size` images each time. Must be at least 1. Unit: iterations.',
  }),
  {
    key: 'display_size',
    type: 'integer',
    group: 'logger',
    default: 16,
    referenceValues: only(SMALL_CONFIGS, 8),
    min: 1,
    max: 256,
    rangeHint: 'It is the number of images in each sample grid.',
    summary: 'Images per sample grid',
    doc:
      'How many images each sample grid shows: the first `display_size` train and test images of each domain are ' +
      'fixed at the start, together with `display_size` fixed style codes, so grids from different iterations are ' +
      'comparable. Each grid row shows inputs, reconstructions, translations with the fixed styles and with fresh ' +
      'random styles. Larger values cost memory and time at every display/save. Unit: images.',
  },
  itersSpec('snapshot_save_iter', {
    default: 10000,
    summary: 'Iterations between checkpoints',
    doc:
      'Every `snapshot_save_iter` iterations the generators, discriminators and optimizer states are saved to ' +
      '`outputs/<config name>/checkpoints/` (`gen_%08d`, `dis_%08d`, `optimizer`). Resuming starts from the newest ' +
      'checkpoint, so this is also the most work you can lose if training stops. If it is larger than `max_iter`, ' +
      'no checkpoint is written. Unit: iterations.',
  }),
  itersSpec('log_iter', {
    default: 10,
    referenceValues: { ...only(SMALL_CONFIGS, 1), summer2winter_yosemite256_folder: 1 },
    summary: 'Iterations between loss log entries',
    doc:
      'Every `log_iter` iterations the individual losses (adversarial, reconstructions, total) and the learning ' +
      'rate are logged; these feed the loss-curve panel. Logging is cheap; 1 gives the most detailed curves. ' +
      'Unit: iterations.',
  }),

  // ---- optimization options -------------------------------------------------------------------------------------
  {
    key: 'max_iter',
    type: 'integer',
    group: 'optimization',
    default: 1000000,
    min: 1,
    summary: 'Total training iterations',
    doc:
      'Training stops after `max_iter` iterations; each iteration is one discriminator update followed by one ' +
      'generator update on one batch per domain. The reference trains for 1,000,000 on a GPU (about 0.4 s per ' +
      'iteration at 256×256); on a 2-core CPU an iteration at 256×256 takes about 20 s, so size this to your ' +
      'hardware. Unit: iterations.',
  },
  {
    key: 'batch_size',
    type: 'integer',
    group: 'optimization',
    default: 1,
    min: 1,
    max: 1024,
    rangeHint: 'Every image of a batch is held in memory at once; the reference uses 1.',
    summary: 'Images per domain per step',
    doc:
      'Images from each domain used in one update. The paper and all reference configs use 1. Larger batches are ' +
      'allowed; they multiply memory use and time per iteration roughly linearly and are not compensated by a ' +
      'change of learning rate. Instance normalisation works per image, so its statistics do not depend on it.',
  },
  {
    key: 'weight_decay',
    type: 'number',
    group: 'optimization',
    default: 0.0001,
    min: 0,
    summary: 'L2 weight decay of both Adam optimisers',
    doc:
      'L2 penalty coefficient: `weight_decay × w` is added to every gradient before the Adam update, as ' +
      "PyTorch's `torch.optim.Adam` does (coupled, not AdamW's decoupled decay). Applies to generators and " +
      'discriminators. 0 disables it.',
  },
  {
    key: 'beta1',
    type: 'number',
    group: 'optimization',
    default: 0.5,
    min: 0,
    max: 1,
    maxExclusive: true,
    summary: "Adam's first-moment decay",
    doc:
      "Adam's decay rate for the running mean of gradients. GANs are usually trained with 0.5 (less momentum than " +
      "Adam's usual 0.9), which keeps the generator/discriminator game more stable. Must be in [0, 1).",
  },
  {
    key: 'beta2',
    type: 'number',
    group: 'optimization',
    default: 0.999,
    min: 0,
    max: 1,
    maxExclusive: true,
    summary: "Adam's second-moment decay",
    doc: "Adam's decay rate for the running mean of squared gradients. The reference uses 0.999. Must be in [0, 1).",
  },
  {
    key: 'init',
    type: 'enum',
    group: 'optimization',
    default: 'kaiming',
    values: INIT_SCHEMES,
    valueDocs: {
      gaussian: 'weights ~ N(0, 0.02), biases 0',
      kaiming: 'Kaiming normal (fan_in, gain √2), biases 0 — reference default',
      xavier: 'Xavier normal with gain √2, biases 0',
      orthogonal: 'orthogonal matrices with gain √2, biases 0',
      default: "keep each layer's own default initialisation",
    },
    summary: 'Weight initialisation of the generators',
    doc:
      'How the weights of every convolution and linear layer are initialised before training. The ' +
      'discriminators are always re-initialised with `gaussian` (N(0, 0.02)) afterwards, as in the reference, so ' +
      'this choice matters for the generators only. Ignored when resuming from a checkpoint.',
  },
  {
    key: 'lr',
    type: 'number',
    group: 'optimization',
    default: 0.0001,
    min: 0,
    minExclusive: true,
    rangeHint: 'The reference uses 0.0001.',
    summary: 'Initial learning rate',
    doc:
      'Initial learning rate of both Adam optimisers (generators and discriminators share it). Too high and the ' +
      'GAN diverges or collapses; too low and nothing visible happens for a long time. Changed during training by ' +
      '`lr_policy`. Write it as `0.0001` or `1.0e-4`: the reference (PyYAML) reads `1e-4` without a dot as text, ' +
      'although MUNIT Studio reads it as a number.',
  },
  {
    key: 'lr_policy',
    type: 'enum',
    group: 'optimization',
    default: 'step',
    values: LR_POLICIES,
    valueDocs: {
      step: 'multiply the learning rate by `gamma` every `step_size` iterations',
      constant: 'keep the learning rate at `lr`',
    },
    summary: 'Learning-rate schedule',
    doc:
      '`step` multiplies the learning rate by `gamma` every `step_size` iterations (the reference configs: halve ' +
      'it every 100,000); `constant` keeps it at `lr`. The schedule is stepped once per iteration and is restored ' +
      'when resuming. Note: the reference code treats a *missing* `lr_policy` as constant; MUNIT Studio uses the ' +
      "reference configs' `step` as the default.",
  },
  {
    key: 'step_size',
    type: 'integer',
    group: 'optimization',
    default: 100000,
    min: 1,
    summary: 'Iterations between learning-rate decays',
    doc:
      'With `lr_policy: step`, the learning rate is multiplied by `gamma` every `step_size` iterations; after ' +
      '`k × step_size` iterations it is `lr × gamma^k`. Ignored with `lr_policy: constant`. If it is not smaller ' +
      'than `max_iter` the learning rate never decays. Unit: iterations.',
  },
  {
    key: 'gamma',
    type: 'number',
    group: 'optimization',
    default: 0.5,
    min: 0,
    minExclusive: true,
    max: 1,
    rangeHint: 'Use 0.5 to halve the learning rate at each step, or 1 to keep it constant.',
    summary: 'Learning-rate decay factor',
    doc:
      'Factor the learning rate is multiplied by every `step_size` iterations with `lr_policy: step`. 0.5 halves ' +
      'it; 1 is the same as `lr_policy: constant`. Must be in (0, 1].',
  },
  lossWeightSpec('gan_w', {
    default: 1,
    summary: 'Weight of the adversarial loss',
    doc:
      'Weight of the GAN loss, in both the discriminator and the generator objective. It is what makes ' +
      'translations look like real images of the target domain; with 0 the discriminators are not trained and ' +
      'the translations are unconstrained.',
  }),
  lossWeightSpec('recon_x_w', {
    default: 10,
    summary: 'Weight of the image reconstruction loss',
    doc:
      'Weight of the within-domain image reconstruction loss: L1 between an image and its decoding from its own ' +
      'content and style codes, `x ≈ G(E_c(x), E_s(x))`. It trains each domain as an auto-encoder; the paper ' +
      'shows image quality collapses without it. The reference uses 10.',
  }),
  lossWeightSpec('recon_s_w', {
    default: 1,
    summary: 'Weight of the style reconstruction loss',
    doc:
      'Weight of the latent style reconstruction loss: L1 between a sampled style code and the style code ' +
      're-encoded from the translation made with it. It forces the decoder to use the style code; the paper shows ' +
      'that without it the outputs for one input become nearly identical (partial mode collapse).',
  }),
  lossWeightSpec('recon_c_w', {
    default: 1,
    summary: 'Weight of the content reconstruction loss',
    doc:
      'Weight of the latent content reconstruction loss: L1 between the content code of an input and the content ' +
      'code re-encoded from its translation. It keeps the translation faithful to the input; the paper shows ' +
      'quality drops without it.',
  }),
  lossWeightSpec('recon_x_cyc_w', {
    default: 0,
    referenceValues: { summer2winter_yosemite256_folder: 10, synthia2cityscape_folder: 10 },
    summary: 'Weight of the style-augmented cycle loss',
    doc:
      'Weight of the explicit style-augmented cycle-consistency loss: L1 between `x` and `x → other domain → ' +
      'back`, decoded with the original style code of `x`. Ties translations more closely to their inputs (the ' +
      'reference enables it for summer↔winter and synthia→cityscapes) at the price of some diversity and of one ' +
      'extra decoder pass per direction. Only computed when > 0.',
  }),
  {
    key: 'recon_kl_w',
    type: 'number',
    group: 'optimization',
    min: 0,
    ignoredReason: 'recon_kl_w is a UNIT setting (the KL term of its VAE); MUNIT has no such term, so it is ignored. Remove it to silence this warning.',
    summary: 'UNIT only: ignored by MUNIT',
    doc:
      'Weight of the KL-divergence term of UNIT, the predecessor of MUNIT that shares its code base. MUNIT has no ' +
      'such term: the key is accepted so configs adapted from UNIT load, and is ignored with a warning.',
  },
  lossWeightSpec('vgg_w', {
    default: 0,
    referenceValues: { synthia2cityscape_folder: 1 },
    summary: 'Weight of the domain-invariant perceptual loss',
    doc:
      'Weight of the domain-invariant perceptual loss: mean squared difference of instance-normalised VGG-16 ' +
      "relu5_3 features of a translation and of the other domain's input. The paper finds it helps on large " +
      'images (the reference enables it for synthia→cityscapes at 512 px). Needs VGG-16 weights supplied by you ' +
      '(`vgg_model_path`) and 3-channel images in both domains; adds a VGG-16 forward and backward pass per ' +
      'direction, which is expensive.',
  }),
  {
    key: 'vgg_model_path',
    type: 'path',
    group: 'optimization',
    example: './models/vgg16',
    summary: 'VGG-16 weights for the perceptual loss',
    doc:
      'Path to the VGG-16 weights used by the perceptual loss when `vgg_w > 0`. MUNIT Studio does not download ' +
      'them: supply them yourself. A relative path is looked up from the current working directory, then from the ' +
      'folder of the config file. (The reference sets this key itself from its `--output_path` option.)',
  },

  // ---- model options: generator -----------------------------------------------------------------------------
  {
    key: 'gen.dim',
    type: 'integer',
    group: 'model',
    default: 64,
    min: 1,
    max: 1024,
    rangeHint: 'Parameters grow with its square; the reference uses 64.',
    summary: 'Filters in the first generator layer',
    doc:
      'Number of filters of the first convolution of the content and style encoders; each downsampling doubles ' +
      'it (64 → 128 → 256 with `n_downsample: 2`) and the decoder halves it back. Parameters and compute grow ' +
      'roughly with its square: with the reference settings, 64 gives 15.0 M parameters per generator.',
  },
  {
    key: 'gen.mlp_dim',
    type: 'integer',
    group: 'model',
    default: 256,
    min: 1,
    max: 4096,
    rangeHint: 'The reference uses 256.',
    summary: 'Hidden width of the style MLP',
    doc:
      'Width of the two hidden layers of the MLP that maps a style code to the AdaIN parameters (a mean and a ' +
      'standard deviation per channel of every AdaIN layer in the decoder). 256 in the reference.',
  },
  {
    key: 'gen.style_dim',
    type: 'integer',
    group: 'model',
    default: 8,
    min: 1,
    max: 1024,
    rangeHint: 'The style code needs at least one number; the reference uses 8.',
    summary: 'Length of the style code',
    doc:
      'Number of values in a style code. Random styles are drawn from N(0, I) of this size; example-guided styles ' +
      'are encoded to it. Larger codes can describe more variation but make random samples less likely to fall ' +
      'where the encoder puts real styles. 8 in the reference.',
  },
  {
    key: 'gen.activ',
    type: 'enum',
    group: 'model',
    default: 'relu',
    values: ACTIVATIONS,
    valueDocs: ACTIVATION_DOCS,
    summary: 'Activation of the generator',
    doc:
      'Activation after the convolutions of the encoders and decoder and after the hidden MLP layers. The ' +
      "decoder's last layer always uses tanh, so images stay in [-1, 1]. `relu` in the reference.",
  },
  {
    key: 'gen.n_downsample',
    type: 'integer',
    group: 'model',
    default: 2,
    min: 0,
    max: 6,
    rangeHint: 'Each downsampling halves the content code; the reference uses 2.',
    summary: 'Stride-2 layers of the content encoder',
    doc:
      'Number of stride-2 convolutions in the content encoder (and of ×2 upsamplings in the decoder). The content ' +
      'code is `crop / 2^n_downsample` pixels on each side with `dim × 2^n_downsample` channels, so crops must be ' +
      'multiples of `2^n_downsample`. More downsampling gives the translation more freedom to change shapes. The ' +
      'style encoder always downsamples 4 times regardless. 0 to 6.',
  },
  {
    key: 'gen.n_res',
    type: 'integer',
    group: 'model',
    default: 4,
    min: 1,
    max: 64,
    rangeHint: 'The AdaIN layers that apply the style live in these blocks, so at least one is needed; the reference uses 4.',
    summary: 'Residual blocks in content encoder and decoder',
    doc:
      'Number of residual blocks at the end of the content encoder and at the start of the decoder. The decoder ' +
      "blocks use AdaIN, through which the style code acts, so the MLP's output size grows with it " +
      '(`4 × n_res × channels`: 4096 for the reference). 4 in the reference.',
  },
  padTypeKey('gen', 'generator', 'mirrors the border and avoids dark frames around translations; `zero` pads with zeros'),

  // ---- model options: discriminator ---------------------------------------------------------------------------
  {
    key: 'dis.dim',
    type: 'integer',
    group: 'model',
    default: 64,
    min: 1,
    max: 1024,
    rangeHint: 'Parameters grow with its square; the reference uses 64.',
    summary: 'Filters in the first discriminator layer',
    doc:
      'Number of filters of the first discriminator convolution; each further layer doubles it (64, 128, 256, 512 ' +
      'with `n_layer: 4`). Parameters grow roughly with its square: with the reference settings, 64 gives 8.3 M parameters per ' +
      'discriminator.',
  },
  {
    key: 'dis.norm',
    type: 'enum',
    group: 'model',
    default: 'none',
    values: DIS_NORMS,
    valueDocs: {
      none: 'no normalisation (reference default)',
      bn: 'batch normalisation',
      in: 'instance normalisation',
      ln: 'layer normalisation',
    },
    summary: 'Normalisation in the discriminator',
    doc:
      'Normalisation after each discriminator convolution except the first. The reference uses `none`; `bn` ' +
      'depends on the batch and behaves poorly with `batch_size: 1`.',
  },
  {
    key: 'dis.activ',
    type: 'enum',
    group: 'model',
    default: 'lrelu',
    values: ACTIVATIONS,
    valueDocs: ACTIVATION_DOCS,
    summary: 'Activation of the discriminator',
    doc:
      'Activation after each discriminator convolution except the last. `lrelu` (slope 0.2) in the reference, the ' +
      'usual choice for GAN discriminators because it keeps gradients flowing for negative inputs.',
  },
  {
    key: 'dis.n_layer',
    type: 'integer',
    group: 'model',
    default: 4,
    min: 1,
    max: 12,
    rangeHint: 'Each layer halves the image, and the coarsest scale needs 2^n_layer pixels; the reference uses 4.',
    summary: 'Stride-2 layers per discriminator scale',
    doc:
      'Number of stride-2 convolutions in each scale of the discriminator before its 1×1 output layer. Each halves ' +
      'the map, so more layers judge larger patches (a bigger receptive field) but need larger images: the coarsest ' +
      'scale must still be at least `2^n_layer` pixels. 4 in the reference.',
  },
  {
    key: 'dis.gan_type',
    type: 'enum',
    group: 'model',
    default: 'lsgan',
    values: GAN_TYPES,
    valueDocs: {
      lsgan: 'least-squares GAN: squared distance of D outputs to 1 (real) and 0 (fake) — reference default',
      nsgan: 'non-saturating GAN: binary cross-entropy on sigmoid outputs',
    },
    summary: 'Adversarial loss',
    doc:
      'Which GAN objective the discriminators and generators optimise. `lsgan` (reference) is a least-squares ' +
      'loss that gives smoother gradients; `nsgan` is the original non-saturating cross-entropy loss.',
  },
  {
    key: 'dis.num_scales',
    type: 'integer',
    group: 'model',
    default: 3,
    min: 1,
    max: 8,
    rangeHint: 'Each scale halves the image again; the reference uses 3.',
    summary: 'Image scales the discriminator judges',
    doc:
      'Number of separate discriminators, applied to the image at full size, half size, quarter size, … (3×3 ' +
      'average pooling between scales). Coarse scales judge global structure, fine scales texture; each scale adds ' +
      'a full set of discriminator parameters (2.76 M with the reference settings). 3 in the reference.',
  },
  padTypeKey('dis', 'discriminator', 'or `zero`'),

  // ---- data options ---------------------------------------------------------------------------------------------
  ...(['a', 'b'] as const).map((d): ConfigKeySpec => ({
    key: `input_dim_${d}`,
    type: 'integer',
    group: 'data',
    default: 3,
    values: [1, 3],
    valueDocs: { 1: 'greyscale', 3: 'RGB colour' },
    summary: `Channels of domain ${d.toUpperCase()} images`,
    doc:
      `Number of channels of domain ${d.toUpperCase()} images: 3 for RGB colour, 1 for greyscale (images are ` +
      "converted on load). Sets the input width of that domain's encoders, the output of its decoder and the " +
      'input of its discriminator. `vgg_w > 0` needs 3 for both domains.',
  })),
  {
    key: 'num_workers',
    type: 'integer',
    group: 'data',
    default: 8,
    min: 0,
    max: 64,
    summary: 'Parallel image loading',
    doc:
      'In the reference, the number of PyTorch DataLoader worker processes. MUNIT Studio reads it as how many ' +
      'images may be decoded ahead of the training step in parallel; 0 loads each batch in the training loop. ' +
      'It changes speed only, never results.',
  },
  {
    key: 'new_size',
    type: 'integer',
    group: 'data',
    default: 256,
    referenceValues: { synthia2cityscape_folder: 512 },
    min: 1,
    max: 8192,
    rangeHint: 'Unit: pixels; the reference uses 256.',
    summary: 'Length of the shorter image side after resizing',
    doc:
      'Every image is first resized (keeping its aspect ratio) so that its shorter side is `new_size` pixels; ' +
      'training images are then randomly cropped to `crop_image_height × crop_image_width`, and test images, as ' +
      'in the reference, to `new_size × new_size`. Unit: pixels.',
  },
  {
    key: 'crop_image_height',
    type: 'integer',
    group: 'data',
    default: 256,
    referenceValues: { synthia2cityscape_folder: 512 },
    min: 1,
    max: 8192,
    summary: 'Height of the random training crop',
    doc:
      'Height of the random crop taken from each resized training image; the networks are trained at this size. ' +
      'It must not exceed `new_size` and must be a multiple of `2^gen.n_downsample`. Time and memory per ' +
      'iteration grow with the crop area: 128×128 trains about 4× faster than 256×256. Unit: pixels.',
  },
  {
    key: 'crop_image_width',
    type: 'integer',
    group: 'data',
    default: 256,
    referenceValues: { synthia2cityscape_folder: 512 },
    min: 1,
    max: 8192,
    summary: 'Width of the random training crop',
    doc:
      'Width of the random crop taken from each resized training image. It must not exceed `new_size` and must ' +
      'be a multiple of `2^gen.n_downsample`. Time and memory per iteration grow with the crop area. Unit: pixels.',
  },
  {
    key: 'data_root',
    type: 'path',
    group: 'data',
    example: './datasets/edges2shoes/',
    referenceValues: {
      edges2shoes_folder: './datasets/edges2shoes/',
      edges2handbags_folder: './datasets/edges2handbags/',
      demo_edges2handbags_folder: './datasets/demo_edges2handbags/',
      summer2winter_yosemite256_folder: './datasets/summer2winter_yosemite256/summer2winter_yosemite',
      synthia2cityscape_folder: './datasets/synthia2cityscape/',
    },
    summary: 'Dataset folder (folder layout)',
    doc:
      'Dataset folder of the *folder layout*: it must hold `trainA`, `trainB`, `testA` and `testB`, each with ' +
      'images (.jpg, .jpeg, .png, .ppm, .bmp; sub-folders are searched too). Use either `data_root` or the eight ' +
      '`data_folder_*`/`data_list_*` keys, not both. A relative path is looked up from the current working ' +
      'directory (as the reference does), then from the folder of the config file.',
  },
  ...DATA_LIST_KEYS.map(listKeySpec),
];

export const CONFIG_SECTIONS: readonly ConfigSectionSpec[] = [
  {
    key: 'gen',
    summary: 'Generator architecture',
    doc:
      'Settings of the two generators (one per domain). Each has a content encoder, a style encoder, an MLP that ' +
      'turns a style code into AdaIN parameters, and a decoder. Keys: `dim`, `mlp_dim`, `style_dim`, `activ`, ' +
      '`n_downsample`, `n_res`, `pad_type`.',
  },
  {
    key: 'dis',
    summary: 'Discriminator architecture',
    doc:
      'Settings of the two multi-scale discriminators (one per domain), each judging real against translated ' +
      'images at `num_scales` image sizes. Keys: `dim`, `norm`, `activ`, `n_layer`, `gan_type`, `num_scales`, ' +
      '`pad_type`.',
  },
];

const BY_KEY: ReadonlyMap<string, ConfigKeySpec> = new Map(CONFIG_SCHEMA.map((s) => [s.key, s]));

/** The spec of a dotted key (`lr`, `gen.dim`), or undefined for unknown keys. */
export function getKeySpec(key: string): ConfigKeySpec | undefined {
  return BY_KEY.get(key);
}

/** Keys allowed directly under `section` ('' for the top level, 'gen', 'dis'), without the section prefix. */
export function keysIn(section: '' | 'gen' | 'dis'): string[] {
  const prefix = section ? `${section}.` : '';
  const keys = CONFIG_SCHEMA.filter((s) => (prefix ? s.key.startsWith(prefix) : !s.key.includes('.'))).map((s) => s.key.slice(prefix.length));
  return section ? keys : [...keys, 'gen', 'dis'];
}

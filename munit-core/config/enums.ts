// The values of a config's enum keys. Here rather than beside the layers that use them (which load tfjs), so that
// config/ stays free of tfjs and the extension can parse configs with it.
export const ACTIVATIONS = ['relu', 'lrelu', 'prelu', 'selu', 'tanh', 'none'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export const PAD_TYPES = ['reflect', 'zero'] as const;
export type PadType = (typeof PAD_TYPES)[number];

/** The discriminator's normalisations (the generator's AdaIN and layer norm are not a config choice). */
export const DIS_NORMS = ['none', 'bn', 'in', 'ln'] as const;
export type DisNorm = (typeof DIS_NORMS)[number];

export const GAN_TYPES = ['lsgan', 'nsgan'] as const;
export type GanType = (typeof GAN_TYPES)[number];

export const INIT_SCHEMES = ['gaussian', 'kaiming', 'xavier', 'orthogonal', 'default'] as const;
export type InitScheme = (typeof INIT_SCHEMES)[number];

export const LR_POLICIES = ['step', 'constant'] as const;
export type LrPolicy = (typeof LR_POLICIES)[number];

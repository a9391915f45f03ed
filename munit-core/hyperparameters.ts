// The config keys a training job may change while it runs, named once: the trainer's hyperparameters and the
// server's live settings are derived from these lists. No tfjs here, so the server and extension can import it.
import type { MunitConfig } from './config/config.js';

/** The loss weights and learning rate: read at every iteration, so they can be changed while training. */
export const HYPERPARAMETER_KEYS = [
  'lr',
  'gan_w',
  'recon_x_w',
  'recon_s_w',
  'recon_c_w',
  'recon_x_cyc_w',
  'vgg_w',
] as const satisfies readonly (keyof MunitConfig)[];
export type Hyperparameters = Pick<MunitConfig, (typeof HYPERPARAMETER_KEYS)[number]>;

/** The intervals the training loop reads from the config at every iteration: sample grids, metrics, checkpoints. */
export const INTERVAL_KEYS = ['image_display_iter', 'image_save_iter', 'log_iter', 'snapshot_save_iter'] as const satisfies readonly (keyof MunitConfig)[];

/** What may change while a job runs. */
export const TUNABLE_KEYS = [...HYPERPARAMETER_KEYS, ...INTERVAL_KEYS] as const;
export type TunableKey = (typeof TUNABLE_KEYS)[number];
export type TunableSettings = Pick<MunitConfig, TunableKey>;

export const isHyperparameter = (key: string): key is (typeof HYPERPARAMETER_KEYS)[number] => (HYPERPARAMETER_KEYS as readonly string[]).includes(key);
export const isTunable = (key: string): key is TunableKey => (TUNABLE_KEYS as readonly string[]).includes(key);

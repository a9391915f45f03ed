// The `gen:` and `dis:` settings a network is built from (the reference config's own key names).
import type { Activation, DisNorm, GanType, PadType } from '../config/enums.js';

export interface GenOptions {
  dim: number;
  mlp_dim: number;
  style_dim: number;
  activ: Activation;
  n_downsample: number;
  n_res: number;
  pad_type: PadType;
}

export type { DisNorm, GanType };

export interface DisOptions {
  dim: number;
  norm: DisNorm;
  activ: Activation;
  n_layer: number;
  gan_type: GanType;
  num_scales: number;
  pad_type: PadType;
}

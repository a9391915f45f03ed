// MUNIT_Trainer of the reference: both auto-encoders, both discriminators, their optimisers, and one
// iteration = update_learning_rate, dis_update, gen_update.
import * as tf from '@tensorflow/tfjs-core';
import { Adam } from './adam.js';
import type { MunitConfig } from './config/config.js';
import { initParams, reinitWeights } from './init.js';
import { disLoss, genAdvLoss, l1, vggLoss } from './losses.js';
import { learningRateAt } from './lr-schedule.js';
import { AdaINGen } from './networks/generator.js';
import { MsImageDis } from './networks/discriminator.js';
import { HYPERPARAMETER_KEYS, type Hyperparameters } from './hyperparameters.js';
import { Rng } from './random.js';

export type { Hyperparameters };

/** The config keys the trainer is built from. */
export type TrainerSettings = Hyperparameters &
  Pick<
    MunitConfig,
    'gen' | 'dis' | 'input_dim_a' | 'input_dim_b' | 'init' | 'lr_policy' | 'step_size' | 'gamma' | 'beta1' | 'beta2' | 'weight_decay' | 'display_size'
  >;

/** A loss weight: a number when run eagerly, a graph input when the compiled engine traces the step. */
export type LossWeight = number | tf.Scalar;
export type LossWeights = Record<Exclude<keyof Hyperparameters, 'lr'>, LossWeight>;

/** The optional generator terms; switching one on or off changes the computation (a compiled step is rebuilt). */
export interface GenTerms {
  cyc: boolean;
  vgg: boolean;
}

export const DIS_LOSS_TERMS = ['loss_dis_a', 'loss_dis_b', 'loss_dis_total'] as const;
export const GEN_LOSS_TERMS = [
  'loss_gen_adv_a',
  'loss_gen_adv_b',
  'loss_gen_recon_x_a',
  'loss_gen_recon_x_b',
  'loss_gen_recon_s_a',
  'loss_gen_recon_s_b',
  'loss_gen_recon_c_a',
  'loss_gen_recon_c_b',
  'loss_gen_cycrecon_x_a',
  'loss_gen_cycrecon_x_b',
  'loss_gen_vgg_a',
  'loss_gen_vgg_b',
  'loss_gen_total',
] as const;
export type GenLossName = (typeof GEN_LOSS_TERMS)[number];
export type LossName = (typeof DIS_LOSS_TERMS)[number] | GenLossName;

export interface IterationMetrics {
  /** 1-based count of finished iterations, as the reference logs `iterations + 1`. */
  iteration: number;
  lr: number;
  seconds_per_iter: number;
  losses: Record<LossName, number>;
}

/** Relu5_3 features of VGG-16 for the perceptual loss, on images in [-1, 1] (networks/vgg16.ts). */
export interface PerceptualFeatures {
  features(x: tf.Tensor4D): tf.Tensor4D;
}

export interface TrainerOptions {
  seed?: number;
  perceptual?: PerceptualFeatures;
  /** false: leave the weights at zero (a trainer traced into a graph gets its weights as inputs). Default true. */
  initialise?: boolean;
}

/**
 * Runs the iterations somewhere other than eager tfjs (the compiled engine). The trainer's variables stay the
 * record of the weights and Adam state; `settle` brings them up to date before anything reads them.
 */
export interface StepEngine {
  readonly name: string;
  step(xA: tf.Tensor4D, xB: tf.Tensor4D): Promise<IterationMetrics>;
  /** Copies the engine's weights and Adam moments into the trainer's variables. */
  settle(): Promise<void>;
  /** The trainer's variables were replaced (a checkpoint was loaded): take them as the state. */
  reload(): void;
  dispose(): void;
}

export class MunitTrainer {
  readonly genA: AdaINGen;
  readonly genB: AdaINGen;
  readonly disA: MsImageDis;
  readonly disB: MsImageDis;
  readonly genOpt: Adam;
  readonly disOpt: Adam;
  readonly rng: Rng;
  /** Fixed style codes for the sample grids, drawn once (the reference's self.s_a / self.s_b). */
  readonly fixedStyleA: tf.Tensor2D;
  readonly fixedStyleB: tf.Tensor2D;
  /** Number of finished iterations. */
  iteration = 0;
  readonly hyper: Hyperparameters;
  readonly perceptual?: PerceptualFeatures;
  /** Where iterations run when not on tfjs (see useEngine). */
  private engine?: StepEngine;

  constructor(
    readonly settings: TrainerSettings,
    options: TrainerOptions = {},
  ) {
    if (settings.vgg_w > 0 && !options.perceptual) {
      throw new Error(`vgg_w is ${settings.vgg_w} but no VGG-16 weights were given: set vgg_model_path or set vgg_w to 0`);
    }
    this.perceptual = options.perceptual;
    this.rng = new Rng(options.seed ?? 0);
    this.hyper = Object.fromEntries(HYPERPARAMETER_KEYS.map((k) => [k, settings[k]])) as Hyperparameters;
    this.genA = new AdaINGen(settings.input_dim_a, settings.gen);
    this.genB = new AdaINGen(settings.input_dim_b, settings.gen);
    this.disA = new MsImageDis(settings.input_dim_a, settings.dis);
    this.disB = new MsImageDis(settings.input_dim_b, settings.dis);
    // The reference: self.apply(weights_init(init)) on everything, then the discriminators again with gaussian.
    if (options.initialise ?? true) {
      for (const net of [this.genA, this.genB, this.disA, this.disB]) initParams(net.params, settings.init, this.rng);
      for (const net of [this.disA, this.disB]) reinitWeights(net.params, 'gaussian', this.rng);
    }
    const styleDim = settings.gen.style_dim;
    this.fixedStyleA = tf.keep(this.rng.normal([settings.display_size, styleDim]) as tf.Tensor2D);
    this.fixedStyleB = tf.keep(this.rng.normal([settings.display_size, styleDim]) as tf.Tensor2D);
    const adam = { beta1: settings.beta1, beta2: settings.beta2, weightDecay: settings.weight_decay, eps: 1e-8 };
    this.genOpt = new Adam([...this.genA.params.trainableVariables(), ...this.genB.params.trainableVariables()], adam);
    this.disOpt = new Adam([...this.disA.params.trainableVariables(), ...this.disB.params.trainableVariables()], adam);
  }

  /** Changes loss weights or the learning rate from the next iteration on; nothing is rebuilt. */
  setHyperparameters(update: Partial<Hyperparameters>): void {
    for (const [key, value] of Object.entries(update) as [keyof Hyperparameters, number][]) {
      if (!(key in this.hyper)) throw new Error(`unknown hyper-parameter '${key}'`);
      if (!Number.isFinite(value) || value < 0) throw new Error(`${key} must be a finite number >= 0, got ${value}`);
      if (key === 'vgg_w' && value > 0 && !this.perceptual) throw new Error('vgg_w > 0 needs VGG-16 weights (vgg_model_path)');
      this.hyper[key] = value;
    }
  }

  /** The learning rate the next iteration will use (schedule applied to the current base rate). */
  currentLearningRate(): number {
    return learningRateAt(this.iteration, { ...this.settings, lr: this.hyper.lr });
  }

  /**
   * One training iteration on a batch of each domain (NHWC in [-1, 1]). Asynchronous because the losses are read
   * back with tensor.data(): the webgpu backend cannot read GPU memory synchronously under Node.
   */
  async step(xA: tf.Tensor4D, xB: tf.Tensor4D): Promise<IterationMetrics> {
    if (this.engine) return this.engine.step(xA, xB);
    const start = performance.now();
    const lr = this.currentLearningRate();
    const dis = await this.disUpdate(xA, xB, lr);
    const gen = await this.genUpdate(xA, xB, lr);
    this.iteration += 1;
    return { iteration: this.iteration, lr, seconds_per_iter: (performance.now() - start) / 1000, losses: { ...dis, ...gen } };
  }

  /** Runs the following iterations on `engine` (undefined: back on tfjs, after settling). */
  async useEngine(engine: StepEngine | undefined): Promise<void> {
    await this.engine?.settle();
    this.engine?.dispose();
    this.engine = engine;
  }

  get engineName(): string {
    return this.engine?.name ?? 'tfjs';
  }

  /** Brings the variables up to date with the engine's state: call before reading weights or Adam moments. */
  async settle(): Promise<void> {
    await this.engine?.settle();
  }

  /** The variables were overwritten (a checkpoint was loaded): the engine takes them as its state. */
  reloadEngine(): void {
    this.engine?.reload();
  }

  /** Style codes drawn from the trainer's random stream, [n, style_dim]. */
  randomStyles(n: number): tf.Tensor2D {
    return this.rng.normal([n, this.settings.gen.style_dim]) as tf.Tensor2D;
  }

  /** The optional generator terms this iteration computes: those whose weight is above 0. */
  genTerms(): GenTerms {
    return { cyc: this.hyper.recon_x_cyc_w > 0, vgg: this.hyper.vgg_w > 0 && this.perceptual !== undefined };
  }

  async disUpdate(xA: tf.Tensor4D, xB: tf.Tensor4D, lr: number): Promise<Record<(typeof DIS_LOSS_TERMS)[number], number>> {
    const sA = this.randomStyles(xA.shape[0]);
    const sB = this.randomStyles(xB.shape[0]);
    const { terms, value, grads } = this.disLosses(xA, xB, sA, sB, this.hyper.gan_w);
    const disposeAll = () => tf.dispose([sA, sB, value, ...terms, ...grads]);
    const [a, b, total] = await readScalars([...terms, value], 'discriminator step', DIS_LOSS_TERMS, this.iteration, disposeAll);
    this.disOpt.apply(grads, lr);
    disposeAll();
    return { loss_dis_a: a, loss_dis_b: b, loss_dis_total: total };
  }

  /**
   * dis_update's tensors: both discriminators' losses on fakes made with the style codes sA, sB (detached, as in
   * the reference) and the gradients, in disOpt.variables order. gan_w is a number, or a graph input when compiled.
   */
  disLosses(
    xA: tf.Tensor4D,
    xB: tf.Tensor4D,
    sA: tf.Tensor2D,
    sB: tf.Tensor2D,
    ganW: LossWeight,
  ): { terms: tf.Scalar[]; value: tf.Scalar; grads: tf.Tensor[] } {
    const ganType = this.settings.dis.gan_type;
    // The fakes are detached in the reference: computing them outside the gradient tape records nothing for them.
    const [xBA, xAB] = tf.tidy(() => [this.genA.decode(this.genB.encodeContent(xB), sA), this.genB.decode(this.genA.encodeContent(xA), sB)]);
    const terms: tf.Scalar[] = [];
    const { grads, value } = tf.variableGrads(() => {
      const lossA = tf.keep(disLoss(this.disA.apply(xBA), this.disA.apply(xA), ganType));
      const lossB = tf.keep(disLoss(this.disB.apply(xAB), this.disB.apply(xB), ganType));
      terms.push(lossA, lossB);
      return tf.add(tf.mul(lossA, ganW), tf.mul(lossB, ganW)) as tf.Scalar;
    }, this.disOpt.variables);
    tf.dispose([xBA, xAB]);
    return { terms, value, grads: this.disOpt.variables.map((v) => grads[v.name]) };
  }

  async genUpdate(xA: tf.Tensor4D, xB: tf.Tensor4D, lr: number): Promise<Record<GenLossName, number>> {
    const sA = this.randomStyles(xA.shape[0]);
    const sB = this.randomStyles(xB.shape[0]);
    const { named, grads } = this.genLosses(xA, xB, sA, sB, { ...this.hyper }, this.genTerms());
    const disposeAll = () => tf.dispose([sA, sB, ...Object.values(named), ...grads]);
    const present = GEN_LOSS_TERMS.filter((n) => named[n]);
    const values = await readScalars(
      present.map((n) => named[n]!),
      'generator step',
      present,
      this.iteration,
      disposeAll,
    );
    this.genOpt.apply(grads, lr);
    disposeAll();
    return genLossRecord(present, values);
  }

  /**
   * gen_update's tensors: every term computed this iteration (named as the reference names them, loss_gen_total
   * included) and the gradients in genOpt.variables order. The loss weights are numbers, or graph inputs when compiled.
   */
  genLosses(
    xA: tf.Tensor4D,
    xB: tf.Tensor4D,
    sA: tf.Tensor2D,
    sB: tf.Tensor2D,
    h: LossWeights,
    terms: GenTerms,
  ): { named: Partial<Record<GenLossName, tf.Scalar>>; grads: tf.Tensor[] } {
    const named: Partial<Record<GenLossName, tf.Scalar>> = {};
    // The generator loss is a sum of two halves that share no computation: everything that starts from x_a
    // (its reconstruction, its translation x_ab judged by dis_b, and x_ab's re-encoding) and everything that starts
    // from x_b. Differentiating them one after the other gives the same gradient with half the peak memory.
    const halves = [
      this.genHalf(xA, sB, { own: this.genA, other: this.genB, otherDis: this.disB, suffix: 'a', otherSuffix: 'b' }, h, terms, named),
      this.genHalf(xB, sA, { own: this.genB, other: this.genA, otherDis: this.disA, suffix: 'b', otherSuffix: 'a' }, h, terms, named),
    ];
    const grads = this.genOpt.variables.map((v) => tf.tidy(() => tf.add(halves[0].grads[v.name], halves[1].grads[v.name])));
    named.loss_gen_total = tf.add(halves[0].value, halves[1].value) as tf.Scalar;
    tf.dispose(halves.flatMap((half) => [half.value, ...Object.values(half.grads)]));
    return { named, grads };
  }

  /**
   * One half of gen_update: x (of the `own` domain) is reconstructed, translated to the other domain with the
   * sampled style `sOther`, judged by the other discriminator, and re-encoded. Its terms are named as the
   * reference names them (recon_x_<own>, gen_adv_<other>, recon_c_<own>, recon_s_<other>, ...).
   */
  private genHalf(
    x: tf.Tensor4D,
    sOther: tf.Tensor2D,
    nets: { own: AdaINGen; other: AdaINGen; otherDis: MsImageDis; suffix: 'a' | 'b'; otherSuffix: 'a' | 'b' },
    h: LossWeights,
    terms: GenTerms,
    named: Partial<Record<GenLossName, tf.Scalar>>,
  ): { grads: tf.NamedTensorMap; value: tf.Scalar } {
    const { own, other, otherDis, suffix, otherSuffix } = nets;
    const ganType = this.settings.dis.gan_type;
    return tf.variableGrads(() => {
      const { content, style } = own.encode(x);
      const translated = other.decode(content, sOther);
      const { content: contentRecon, style: styleRecon } = other.encode(translated);
      const total: tf.Scalar[] = [];
      const add = (weight: LossWeight, name: GenLossName, loss: tf.Scalar) => {
        named[name] = tf.keep(loss);
        total.push(tf.mul(loss, weight));
      };
      add(h.gan_w, `loss_gen_adv_${otherSuffix}`, genAdvLoss(otherDis.apply(translated), ganType));
      add(h.recon_x_w, `loss_gen_recon_x_${suffix}`, l1(own.decode(content, style), x));
      add(h.recon_s_w, `loss_gen_recon_s_${otherSuffix}`, l1(styleRecon, sOther));
      add(h.recon_c_w, `loss_gen_recon_c_${suffix}`, l1(contentRecon, content));
      if (terms.cyc) add(h.recon_x_cyc_w, `loss_gen_cycrecon_x_${suffix}`, l1(own.decode(contentRecon, style), x));
      if (terms.vgg && this.perceptual)
        add(
          h.vgg_w,
          `loss_gen_vgg_${otherSuffix}`,
          vggLoss((y) => this.perceptual!.features(y), translated, x),
        );
      return tf.addN(total) as tf.Scalar;
    }, this.genOpt.variables);
  }

  dispose(): void {
    this.engine?.dispose();
    for (const net of [this.genA, this.genB, this.disA, this.disB]) net.dispose();
    this.genOpt.dispose();
    this.disOpt.dispose();
    tf.dispose([this.fixedStyleA, this.fixedStyleB]);
  }
}

/** The generator's losses as reported: terms not computed this iteration (weight 0) are 0, as the reference's. */
export function genLossRecord(present: readonly GenLossName[], values: readonly number[]): Record<GenLossName, number> {
  const result = Object.fromEntries(GEN_LOSS_TERMS.map((n) => [n, 0])) as Record<GenLossName, number>;
  present.forEach((n, i) => (result[n] = values[i]));
  return result;
}

/**
 * Reads several scalars with one device read. A NaN or infinite loss is an error naming the term and the iteration,
 * raised before the optimiser step so the weights stay as they were.
 */
async function readScalars(scalars: tf.Scalar[], step: string, names: readonly string[], iteration: number, onError: () => void): Promise<number[]> {
  const stacked = tf.stack(scalars);
  const values = Array.from(await stacked.data());
  stacked.dispose();
  try {
    assertFiniteLosses(values, step, names, iteration);
  } catch (err) {
    onError();
    throw err;
  }
  return values;
}

/** A NaN or infinite loss is an error naming the term and the iteration (1-based), before any update is applied. */
export function assertFiniteLosses(values: readonly number[], step: string, names: readonly string[], iteration: number): void {
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad < 0) return;
  throw new NonFiniteLossError(
    `${step}: ${names[bad]} is ${values[bad]} at iteration ${iteration + 1}; the weights were not updated (try a lower lr or loss weight)`,
    names[bad],
    iteration + 1,
  );
}

export class NonFiniteLossError extends Error {
  constructor(
    message: string,
    readonly term: string,
    readonly iteration: number,
  ) {
    super(message);
    this.name = 'NonFiniteLossError';
  }
}

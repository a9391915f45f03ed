// Batches of images for training and display, decoded ahead of time so a training step doesn't wait on decoding.
// Mirrors the reference's DataLoader(shuffle=train, drop_last=True): a fresh permutation per epoch for train splits,
// file order for test splits, and the last incomplete batch of every epoch dropped.
import * as tf from '@tensorflow/tfjs-core';
import { dataSources, DATA_SPLITS, type DataSplit, type MunitConfig } from '../config/config.js';
import { Rng } from '../random.js';
import { DataError, ImageDataset, listSplitImages, type WarningHandler } from './dataset.js';

export interface ImageLoaderOptions {
  batchSize: number;
  channels: 1 | 3;
  newSize: number;
  cropHeight: number;
  cropWidth: number;
  /** Random horizontal flips (train splits). */
  flip: boolean;
  /** A new random order every epoch (train splits); otherwise file order. */
  shuffle: boolean;
  /** Seeds this loader's own Rng: order, flips and crop positions all come from it. */
  seed: number;
  /** How many batches to keep decoding ahead (default 3). */
  prefetch?: number;
  onWarning?: WarningHandler;
}

/** Where a loader is, for resuming: the next batch to hand out, and the Rng state the epoch's plan was drawn from. */
export interface LoaderState {
  epoch: number;
  /** Batches of `epoch` already handed out. */
  batch: number;
  rngState: number;
  /** Number of files when saved; a different count on restore means the order can't be reproduced. */
  size: number;
}

/** One epoch's random draws, all made up front so any batch can be rebuilt from the epoch's start state. */
interface EpochPlan {
  epoch: number;
  startState: number;
  order: number[];
  /** Per slot: flip, crop y, crop x, uniform in [0, 1). */
  draws: Float64Array;
}

interface Job {
  epoch: number;
  batch: number;
  startState: number;
  data: Promise<Float32Array>;
  settled: boolean;
}

const DRAWS_PER_IMAGE = 3;

export class ImageLoader {
  /** [batch, height, width, channels] of every tensor `next` returns. */
  readonly shape: [number, number, number, number];
  readonly batchesPerEpoch: number;
  private readonly rng: Rng;
  private readonly prefetch: number;
  private plan: EpochPlan;
  /** Position of the next batch to schedule (runs ahead of what has been handed out). */
  private scheduled: { epoch: number; batch: number };
  private handedOut: LoaderState;
  private queue: Job[] = [];
  private closed = false;

  constructor(
    readonly dataset: ImageDataset,
    private readonly options: ImageLoaderOptions,
  ) {
    const { batchSize, cropHeight, cropWidth, channels } = options;
    this.batchesPerEpoch = Math.floor(dataset.size / batchSize);
    if (this.batchesPerEpoch === 0) {
      throw new DataError(`${dataset.description} has ${dataset.size} image(s), fewer than batch_size (${batchSize}).`);
    }
    this.shape = [batchSize, cropHeight, cropWidth, channels];
    this.prefetch = Math.max(1, options.prefetch ?? 3);
    this.rng = new Rng(options.seed);
    this.plan = this.drawPlan(0);
    this.scheduled = { epoch: 0, batch: 0 };
    this.handedOut = { epoch: 0, batch: 0, rngState: this.plan.startState, size: dataset.size };
    this.fill();
  }

  /**
   * The next batch as a new tensor (the caller disposes it). Rejects if every image of the split is unreadable;
   * single bad files are skipped with a warning.
   */
  async next(): Promise<tf.Tensor4D> {
    if (this.closed) throw new Error(`${this.dataset.description}: the loader is closed.`);
    this.fill();
    const job = this.queue.shift()!;
    this.fill(); // start decoding the replacement while this batch is still on its way
    const data = await job.data;
    const after = { epoch: job.epoch, batch: job.batch + 1, rngState: job.startState, size: this.dataset.size };
    if (after.epoch > this.handedOut.epoch || (after.epoch === this.handedOut.epoch && after.batch > this.handedOut.batch)) {
      this.handedOut = after;
    }
    return tf.tensor4d(data, this.shape, 'float32');
  }

  /** The position after the last batch handed out (prefetched batches don't count): save this with a checkpoint. */
  state(): LoaderState {
    return { ...this.handedOut };
  }

  /** Continues from a saved position: the same batches follow as after `state()` was taken. */
  restore(state: LoaderState): void {
    if (state.size !== this.dataset.size) {
      this.options.onWarning?.(
        `${this.dataset.description}: ${this.dataset.size} images now, ${state.size} when the position was saved; ` +
          'the order of images will differ from the original run.',
      );
    }
    this.queue = []; // batches in flight finish unobserved (their errors are already caught)
    this.rng.state = state.rngState >>> 0;
    this.plan = this.drawPlan(state.epoch);
    this.scheduled = { epoch: state.epoch, batch: state.batch };
    this.handedOut = { ...state, size: this.dataset.size };
    this.fill();
  }

  /** Decoded batches waiting to be handed out (for progress displays and tests). */
  get readyBatches(): number {
    return this.queue.filter((j) => j.settled).length;
  }

  /** Batches being decoded or ready. */
  get queuedBatches(): number {
    return this.queue.length;
  }

  /** Resolves when every batch scheduled so far has finished decoding (or failed). */
  async settled(): Promise<void> {
    await Promise.allSettled(this.queue.map((j) => j.data));
  }

  /** Stops decoding ahead and waits for decodes in flight, so nothing runs after the caller moves on. */
  async close(): Promise<void> {
    this.closed = true;
    await this.settled();
    this.queue = [];
  }

  private fill(): void {
    while (!this.closed && this.queue.length < this.prefetch) this.queue.push(this.schedule());
  }

  private schedule(): Job {
    if (this.scheduled.batch >= this.batchesPerEpoch) {
      // The Rng has just drawn the previous epoch's plan, so its state is where this epoch starts.
      this.plan = this.drawPlan(this.scheduled.epoch + 1);
      this.scheduled = { epoch: this.plan.epoch, batch: 0 };
    }
    const { batch } = this.scheduled;
    this.scheduled = { epoch: this.plan.epoch, batch: batch + 1 };
    const job: Job = { epoch: this.plan.epoch, batch, startState: this.plan.startState, data: this.decodeBatch(this.plan, batch), settled: false };
    // Mark settled either way; the catch also keeps a failure from being an unhandled rejection before next() awaits.
    job.data.then(
      () => (job.settled = true),
      () => (job.settled = true),
    );
    return job;
  }

  private async decodeBatch(plan: EpochPlan, batch: number): Promise<Float32Array> {
    const { batchSize, channels, newSize, cropHeight, cropWidth, flip } = this.options;
    const imageLength = cropHeight * cropWidth * channels;
    const out = new Float32Array(batchSize * imageLength);
    const images = Array.from({ length: batchSize }, (_, s) => {
      const slot = batch * batchSize + s;
      const u = plan.draws.subarray(slot * DRAWS_PER_IMAGE, (slot + 1) * DRAWS_PER_IMAGE);
      const transform = { channels, newSize, cropHeight, cropWidth, flip: flip && u[0] < 0.5, cropY: u[1], cropX: u[2] };
      return this.dataset.load(plan.order[slot], transform);
    });
    (await Promise.all(images)).forEach((image, s) => out.set(image, s * imageLength));
    return out;
  }

  /** Draws epoch `epoch`'s order and per-image randomness from the Rng's current state. */
  private drawPlan(epoch: number): EpochPlan {
    const n = this.dataset.size;
    const startState = this.rng.state;
    const order = this.options.shuffle ? this.rng.permutation(n) : Array.from({ length: n }, (_, i) => i);
    const draws = new Float64Array(n * DRAWS_PER_IMAGE);
    for (let i = 0; i < draws.length; i++) draws[i] = this.rng.next();
    return { epoch, startState, order, draws };
  }
}

export type Loaders = Record<DataSplit, ImageLoader>;
export type LoadersState = Record<DataSplit, LoaderState>;

export interface CreateLoadersOptions {
  /** Every loader gets its own Rng derived from this, so the domains are shuffled independently. */
  seed: number;
  /** Skipped files, missing list entries, changed datasets on restore (default: console.warn, never silent). */
  onWarning?: WarningHandler;
  /**
   * true (training): train splits are shuffled and randomly flipped, as in the reference. false: every split is read
   * in file order without flips (evaluation, translation of a dataset). Crops stay random (seeded) either way.
   */
  train: boolean;
  prefetch?: number;
  cwd?: string;
}

/**
 * The four loaders of a config. Train splits crop crop_image_height x crop_image_width; test splits crop
 * new_size x new_size, as the reference's get_all_data_loaders does. Throws DataError naming the path and config key
 * when a split's folder or list is missing or empty. Decoding starts at once.
 */
export function createLoaders(config: MunitConfig, configDir: string | undefined, options: CreateLoadersOptions): Loaders {
  const sources = dataSources(config);
  if (sources === undefined) {
    throw new DataError('The config names no data: set data_root, or all eight data_folder_*/data_list_* keys.');
  }
  for (const key of ['crop_image_height', 'crop_image_width'] as const) {
    if (config[key] > config.new_size) throw new DataError(`${key} (${config[key]}) is larger than new_size (${config.new_size}).`);
  }
  const onWarning = options.onWarning ?? ((message: string) => console.warn(`warning: ${message}`));
  const seeds = new Rng(options.seed);
  const loaders = {} as Loaders;
  try {
    for (const split of DATA_SPLITS) {
      const source = sources[split];
      const files = listSplitImages(split, source, { configDir, cwd: options.cwd, onWarning });
      const where = source.list ?? source.folder;
      const dataset = new ImageDataset(files, `${split} (${where})`, onWarning);
      const isTrain = split.startsWith('train');
      loaders[split] = new ImageLoader(dataset, {
        batchSize: config.batch_size,
        channels: split.endsWith('_a') ? config.input_dim_a : config.input_dim_b,
        newSize: config.new_size,
        cropHeight: isTrain ? config.crop_image_height : config.new_size,
        cropWidth: isTrain ? config.crop_image_width : config.new_size,
        flip: isTrain && options.train,
        shuffle: isTrain && options.train,
        seed: seeds.nextUint32(),
        prefetch: options.prefetch,
        onWarning,
      });
    }
  } catch (err) {
    // Don't leave the loaders made so far decoding in the background.
    void closeLoaders(loaders);
    throw err;
  }
  return loaders;
}

export function loadersState(loaders: Loaders): LoadersState {
  return Object.fromEntries(DATA_SPLITS.map((s) => [s, loaders[s].state()])) as LoadersState;
}

export function restoreLoaders(loaders: Loaders, state: LoadersState): void {
  for (const split of DATA_SPLITS) if (state[split]) loaders[split].restore(state[split]);
}

export async function closeLoaders(loaders: Partial<Loaders>): Promise<void> {
  await Promise.all(Object.values(loaders).map((l) => l.close()));
}

// A training run as the reference's train.py does it, in a run folder:
//   <output>/<config name>/config.yaml, images/ (grids + index.html), checkpoints/, metrics.jsonl
// Used by `munit train`, `munit demo` and the server's training jobs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  cleanCheckpointFolder,
  completeCheckpoints,
  makeOutputFolder,
  removeStaleTempFiles,
  resumeCheckpoint,
  saveCheckpoint,
  writeFileAtomic,
} from './checkpoint.js';
import { DATA_SPLITS, DataSplit, loadConfig, MunitConfig } from './config/config.js';
import { closeLoaders, createLoaders, Loaders, LoadersState, loadersState, restoreLoaders } from './data/loader.js';
import { Vgg16 } from './networks/vgg16.js';
import { disposeSamples, renderGrid, sampleOutputs } from './samples.js';
import { chooseEngine, EngineName, startEngine, startTranslator } from './onnx/engine-choice.js';
import type { Translator } from './translate.js';
import { IterationMetrics, MunitTrainer, TrainerOptions } from './trainer.js';
import {
  CHECKPOINTS_FOLDER,
  GALLERY_FILE,
  IMAGES_FOLDER,
  METRICS_FILE,
  parseSampleGridFile,
  RUN_CONFIG_FILE,
  runFolder,
  sampleGridFile,
} from './run-folder.js';

export interface TrainingRunOptions {
  configPath: string;
  /** Parent of the run folder (the reference's --output_path); default ./outputs. */
  outputPath?: string;
  /** Continue from the newest complete checkpoint of the run folder. */
  resume?: boolean;
  seed?: number;
  /** Stop (with a checkpoint) after this many seconds of training; the demo uses it. */
  maxSeconds?: number;
  /** Aborting stops after the current iteration and saves a checkpoint. */
  signal?: AbortSignal;
  onMetrics?: (m: LoggedMetrics) => void;
  onSamples?: (e: SamplesEvent) => void;
  onWarning?: (message: string) => void;
  /** Called once the run is set up (folder made, data found, maybe resumed), before the first iteration. The config
   * object is the live one: changing its display intervals takes effect from the next iteration. */
  onStart?: (e: { runDir: string; iteration: number; maxIter: number; config: MunitConfig; trainer: MunitTrainer; engine: string }) => void;
  /** Which engine runs the iterations (default: chooseEngine's pick, MUNIT_ENGINE). */
  engine?: EngineName;
  /** Awaited before each iteration: the server pauses here and runs requests against the live weights. */
  beforeIteration?: () => Promise<void>;
}

/** One line of metrics.jsonl: every loss term by name, lr, seconds per iteration, and the wall time. */
export interface LoggedMetrics extends IterationMetrics {
  time: string;
}

export interface SamplesEvent {
  iteration: number;
  /** Grid files written, e.g. images/gen_a2b_train_current.png. */
  files: string[];
}

export interface TrainingRunResult {
  runDir: string;
  iteration: number;
  stoppedBy: 'max_iter' | 'signal' | 'time';
}

/** Config warnings come formatted as `file:line:col: warning: ...`; other warnings get the word, never twice. */
export function warningLine(message: string): string {
  return /^\S.*?:\d+:\d+: warning: /.test(message) ? message : `warning: ${message}`;
}

export async function runTraining(options: TrainingRunOptions): Promise<TrainingRunResult> {
  const warn = options.onWarning ?? ((m: string) => console.warn(warningLine(m)));
  const config = loadConfig(options.configPath, { onWarning: warn });
  const configText = fs.readFileSync(options.configPath, 'utf8');
  const configDir = path.dirname(path.resolve(options.configPath));
  const runDir = runFolder(options.configPath, options.outputPath);
  const dirs = { images: path.join(runDir, IMAGES_FOLDER), checkpoints: path.join(runDir, CHECKPOINTS_FOLDER) };
  for (const dir of Object.values(dirs)) makeOutputFolder(dir);
  // A run killed mid-write leaves temporary files and maybe part of a checkpoint set: neither can be used.
  const leftovers = [...removeStaleTempFiles(runDir), ...removeStaleTempFiles(dirs.images), ...cleanCheckpointFolder(dirs.checkpoints)];
  if (leftovers.length) warn(`removed ${leftovers.length} leftover file(s) of an interrupted save from ${runDir}: ${leftovers.join(', ')}`);
  const seed = options.seed ?? 0;
  let vgg: Vgg16 | undefined;
  if (config.vgg_w > 0) {
    if (!config.vgg_model_path)
      throw new Error(`${options.configPath}: vgg_w is ${config.vgg_w} but vgg_model_path is not set (VGG-16 weights as .safetensors)`);
    vgg = Vgg16.load(path.resolve(configDir, config.vgg_model_path));
  }
  const trainerOptions: TrainerOptions = { seed, perceptual: vgg };
  const trainer = new MunitTrainer(config, trainerOptions);
  const loaders = createLoaders(config, configDir, { seed, train: true, onWarning: warn });
  let display: Record<DataSplit, tf.Tensor4D> | undefined;
  let translator: Translator | undefined;
  try {
    if (options.resume) {
      if (completeCheckpoints(dirs.checkpoints).length === 0) warn(`--resume: no checkpoint in ${dirs.checkpoints} yet; starting from iteration 0`);
      else {
        const { iteration, extras, damaged } = resumeCheckpoint(trainer, dirs.checkpoints);
        for (const d of damaged) warn(`checkpoint ${d.iteration} is damaged (${d.reason}); resuming from checkpoint ${iteration}, the newest intact one`);
        if (extras.loaders) restoreLoaders(loaders, JSON.parse(extras.loaders) as LoadersState);
      }
    }
    writeFileAtomic(path.join(runDir, RUN_CONFIG_FILE), configText);
    display = await displayImages(loaders, config);
    const running = await startEngine(trainer, { a: loaders.train_a.shape, b: loaders.train_b.shape }, await chooseEngine({ prefer: options.engine }));
    const engine = running.description;
    // The sample grids run on the same engine as the iterations.
    translator = startTranslator(running.choice);
    options.onStart?.({ runDir, iteration: trainer.iteration, maxIter: config.max_iter, config, trainer, engine });
    const metricsFile = path.join(runDir, METRICS_FILE);
    const save = () => saveCheckpoint(trainer, dirs.checkpoints, { configText, extras: { loaders: JSON.stringify(loadersState(loaders)) } });
    const started = performance.now();
    const startIteration = trainer.iteration;
    let gridIteration: number | undefined;
    while (trainer.iteration < config.max_iter) {
      await options.beforeIteration?.();
      if (options.signal?.aborted) return await finish('signal');
      if (options.maxSeconds !== undefined && (performance.now() - started) / 1000 >= options.maxSeconds) return await finish('time');
      const [xA, xB] = await Promise.all([loaders.train_a.next(), loaders.train_b.next()]);
      let m: IterationMetrics;
      try {
        m = await trainer.step(xA, xB);
      } finally {
        tf.dispose([xA, xB]);
      }
      const it = m.iteration;
      if (it % config.log_iter === 0) {
        const logged: LoggedMetrics = { ...m, time: new Date().toISOString() };
        fs.appendFileSync(metricsFile, JSON.stringify(flatten(logged)) + '\n');
        options.onMetrics?.(logged);
      }
      const numbered = it % config.image_save_iter === 0;
      if (numbered || it % config.image_display_iter === 0) {
        const files = await writeSampleGrids(trainer, translator, display, dirs.images, numbered ? it : 'current');
        if (numbered) writeGallery(dirs.images);
        gridIteration = it;
        options.onSamples?.({ iteration: it, files });
      }
      if (it % config.snapshot_save_iter === 0) await save();
    }
    return await finish('max_iter');

    async function finish(stoppedBy: TrainingRunResult['stoppedBy']): Promise<TrainingRunResult> {
      if (!completeCheckpoints(dirs.checkpoints).includes(trainer.iteration) && trainer.iteration > 0) await save();
      // The newest grid should show the weights just saved, not those of up to image_display_iter iterations ago.
      if (trainer.iteration > startIteration && gridIteration !== trainer.iteration) {
        const files = await writeSampleGrids(trainer, translator!, display!, dirs.images, 'current');
        options.onSamples?.({ iteration: trainer.iteration, files });
      }
      return { runDir, iteration: trainer.iteration, stoppedBy };
    }
  } finally {
    if (display) tf.dispose(Object.values(display));
    translator?.dispose();
    await closeLoaders(loaders);
    trainer.dispose();
    vgg?.dispose();
  }
}

/**
 * Records settings changed while the run goes on as a line of metrics.jsonl: {"iteration", "time", "changes"},
 * where iteration is the first one that uses them. Readers tell these lines apart by their `changes` key.
 */
export function recordSettingsChange(runDir: string, iteration: number, changes: Record<string, number>): void {
  const line = { iteration, time: new Date().toISOString(), changes };
  fs.appendFileSync(path.join(runDir, METRICS_FILE), JSON.stringify(line) + '\n');
}

/** metrics.jsonl keeps one flat object per line: iteration, lr, seconds_per_iter, time and every loss term. */
function flatten(m: LoggedMetrics): Record<string, number | string> {
  const { losses, ...rest } = m;
  return { ...rest, ...losses };
}

/** The first display_size images of each split, unflipped and centre-cropped, fixed for the whole run. */
async function displayImages(loaders: Loaders, config: MunitConfig): Promise<Record<DataSplit, tf.Tensor4D>> {
  const result = {} as Record<DataSplit, tf.Tensor4D>;
  for (const split of DATA_SPLITS) {
    const loader = loaders[split];
    const [, h, w, channels] = loader.shape;
    const n = Math.min(config.display_size, loader.dataset.size);
    const transform = { channels: channels as 1 | 3, newSize: config.new_size, cropHeight: h, cropWidth: w, flip: false, cropY: 0.5, cropX: 0.5 };
    const images = await Promise.all(Array.from({ length: n }, (_, i) => loader.dataset.load(i, transform)));
    const data = new Float32Array(n * h * w * channels);
    images.forEach((img, i) => data.set(img, i * h * w * channels));
    result[split] = tf.tensor4d(data, [n, h, w, channels]);
  }
  return result;
}

async function writeSampleGrids(
  trainer: MunitTrainer,
  translator: Translator,
  display: Record<DataSplit, tf.Tensor4D>,
  dir: string,
  iteration: number | 'current',
): Promise<string[]> {
  await trainer.settle();
  const files: string[] = [];
  for (const set of ['train', 'test'] as const) {
    const samples = await sampleOutputs(trainer, translator, display[`${set}_a`], display[`${set}_b`]);
    try {
      for (const { direction, rows } of samples) {
        const file = path.join(dir, sampleGridFile({ direction, set, iteration }));
        const title = `${direction === 'a2b' ? 'A→B' : 'B→A'}, ${set} images, iteration ${trainer.iteration}`;
        writeFileAtomic(file, await renderGrid(rows, title));
        files.push(file);
      }
    } finally {
      disposeSamples(samples);
    }
  }
  return files;
}

/** images/index.html: every numbered grid, newest first (the reference writes a similar page). */
function writeGallery(dir: string): void {
  const grids = fs.readdirSync(dir).flatMap((file) => {
    const iteration = parseSampleGridFile(file)?.iteration;
    return typeof iteration === 'number' ? [{ file, iteration }] : [];
  });
  const iterations = [...new Set(grids.map((g) => g.iteration))].sort((a, b) => b - a);
  const sections = iterations.map((it) => {
    const imgs = grids
      .filter((g) => g.iteration === it)
      .map((g) => g.file)
      .sort()
      .map((f) => `<figure><img src="${f}" alt="${f}"><figcaption>${f}</figcaption></figure>`);
    return `<h2>iteration ${it}</h2>\n${imgs.join('\n')}`;
  });
  const html = `<!doctype html>\n<meta charset="utf-8">\n<title>MUNIT samples</title>\n<style>body{font-family:sans-serif} figure{display:inline-block;margin:4px} img{image-rendering:pixelated}</style>\n<h1>MUNIT samples</h1>\n${sections.join('\n')}\n`;
  writeFileAtomic(path.join(dir, GALLERY_FILE), html);
}

// Runs of the reference PyTorch code, opened here: its checkpoints found by its own rule, loaded into our networks
// (for translate and inspect), and converted into one of our run folders so that `munit translate` and
// `munit train --resume` continue from them, Adam moments, step and iteration included, with the run's TensorBoard
// scalar history as metrics.jsonl.
//
// The reference's layout (train.py with --output_path P, config C.yaml):
//   P/outputs/C/config.yaml, P/outputs/C/checkpoints/gen_%08d.pt, dis_%08d.pt, optimizer.pt (overwritten at each
//   snapshot), P/logs/C/events.out.tfevents.*
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Adam } from '../adam.js';
import { saveCheckpoint, writeFileAtomic } from '../checkpoint.js';
import { loadConfig, MunitConfig } from '../config/config.js';
import { ParamStore, referenceShape } from '../layers/params.js';
import { learningRateAt } from '../lr-schedule.js';
import type { TensorMap } from '../safetensors.js';
import { assignFromTorch, checkTensorNames, loadStateDict } from '../state-dict.js';
import { metricsLines, readScalarLogs } from '../tfevents/scalar-logs.js';
import { MunitTrainer } from '../trainer.js';
import { CHECKPOINTS_FOLDER, METRICS_FILE, RUN_CONFIG_FILE, runName } from '../run-folder.js';
import { readNetworkPair, readOptimizerPair, TorchAdamState } from './reference-checkpoint.js';

export interface ReferenceCheckpoint {
  gen: string;
  dis?: string;
  optimizer?: string;
  /** From the generator file's name (gen_%08d.pt); undefined for other names, e.g. the official pretrained models. */
  iteration?: number;
  /** The run folder (outputs/<name>/) when the checkpoints are in its checkpoints/ folder. */
  runDir?: string;
}

/** The reference's get_model_list: the last file (by name) in `dir` whose name contains `key` and '.pt'. */
function lastModel(dir: string, key: string): string | undefined {
  const names = fs.readdirSync(dir).filter((f) => f.includes(key) && f.includes('.pt') && fs.statSync(path.join(dir, f)).isFile());
  const last = names.sort().at(-1);
  return last === undefined ? undefined : path.join(dir, last);
}

/** The reference's resume: `int(last_model_name[-11:-3])`, the eight characters before '.pt'. */
function iterationOf(file: string): number | undefined {
  const digits = path.basename(file).slice(-11, -3);
  return /^\d{8}$/.test(digits) && file.endsWith('.pt') ? Number(digits) : undefined;
}

/**
 * Finds the newest checkpoint of a reference run folder, of its checkpoints folder, or beside a generator file
 * (`gen_*.pt`, or any .pt holding {'a', 'b'} generators).
 */
export function findReferenceCheckpoint(source: string): ReferenceCheckpoint {
  if (!fs.existsSync(source)) throw new Error(`${source} does not exist`);
  let dir: string;
  let gen: string | undefined;
  let dis: string | undefined;
  if (fs.statSync(source).isFile()) {
    gen = source;
    dir = path.dirname(source);
    const sibling = path.join(dir, path.basename(source).replace('gen', 'dis'));
    dis = sibling !== source && fs.existsSync(sibling) ? sibling : undefined;
  } else {
    dir = fs.existsSync(path.join(source, 'checkpoints')) ? path.join(source, 'checkpoints') : source;
    gen = lastModel(dir, 'gen');
    if (!gen) throw new Error(`no reference checkpoint in ${dir} (expected gen_NNNNNNNN.pt files)`);
    dis = lastModel(dir, 'dis');
  }
  const optimizer = fs.existsSync(path.join(dir, 'optimizer.pt')) ? path.join(dir, 'optimizer.pt') : undefined;
  const runDir = path.basename(path.resolve(dir)) === 'checkpoints' ? path.dirname(path.resolve(dir)) : undefined;
  return { gen, dis, optimizer, iteration: iterationOf(gen), runDir };
}

/** Loads both generators from a reference gen_*.pt file (enough to translate or inspect). */
export function loadTorchGenerators(gens: Pick<MunitTrainer, 'genA' | 'genB'>, file: string): void {
  const tensors = readNetworkPair(file);
  loadStateDict(gens.genA.params, tensors, file, 'a.');
  loadStateDict(gens.genB.params, tensors, file, 'b.');
}

/**
 * Puts a PyTorch Adam state into our optimiser over the trainable weights of `stores` (gen_a then gen_b, as the
 * reference builds it). Parameter index i of the file is our slot i; names and shapes are checked as for weights.
 */
function restoreAdam(opt: Adam, stores: [ParamStore, ParamStore], state: TorchAdamState, file: string, group: string): void {
  const params = stores.flatMap((store, k) =>
    [...store.entries.values()].filter((e) => e.trainable).map((entry) => ({ name: `${group}.${'ab'[k]}.${entry.name}`, entry })),
  );
  if (state.parameterCount !== params.length) {
    throw new Error(
      `${file}: the '${group}' optimizer covers ${state.parameterCount} parameters, this config's networks have ${params.length} (check the config)`,
    );
  }
  const expected = new Map<string, number[]>();
  const tensors: TensorMap = new Map();
  params.forEach(({ name, entry }, i) => {
    const moments = state.moments.get(i);
    for (const key of ['exp_avg', 'exp_avg_sq'] as const) {
      expected.set(`${name}.${key}`, referenceShape(entry, entry.variable.shape));
      if (moments) tensors.set(`${name}.${key}`, moments[key]);
    }
  });
  checkTensorNames(expected, tensors, file);
  params.forEach(({ name, entry }, i) => {
    assignFromTorch(entry.kind, opt.slots[i].expAvg, tensors.get(`${name}.exp_avg`)!);
    assignFromTorch(entry.kind, opt.slots[i].expAvgSq, tensors.get(`${name}.exp_avg_sq`)!);
  });
  opt.step = state.step;
}

export interface ImportRunOptions {
  /** A reference run folder (outputs/<name>/), its checkpoints folder, or a generator .pt file. */
  source: string;
  /** The run's config; default: config.yaml of the reference run folder. */
  config?: string;
  /** TensorBoard logs (a folder or an event file); default: logs/<name>/ beside outputs/<name>/, when it exists;
   * false: none. */
  logs?: string | false;
  /** Parent of the new run folder, as for `munit train --output-path`; default ./outputs. */
  outputPath?: string;
  /** Name of the new run folder; default: the reference run folder's name, else the config's (config.yaml: its folder's). */
  name?: string;
  /** Seeds what the file cannot hold: our random stream and any network the run lacks. */
  seed?: number;
  onWarning?: (message: string) => void;
}

export interface ImportRunResult {
  runDir: string;
  iteration: number;
  from: ReferenceCheckpoint;
  /** The log folder or file read, if any. */
  logs?: string;
  /** Lines written to metrics.jsonl. */
  metrics: number;
}

/** The reference layout's log folder of a run folder P/outputs/<name>: P/logs/<name>. */
export function referenceLogs(runDir: string): string {
  return path.join(path.dirname(path.dirname(runDir)), 'logs', path.basename(runDir));
}

/** The import never runs the networks; a trainer with vgg_w > 0 only needs to know the features would exist. */
const unusedPerceptual = {
  features(): never {
    throw new Error('the VGG features are not computed during an import');
  },
};

/** Converts a reference run into our run folder `<outputPath>/<name>/`; returns what was written. */
export async function importTorchRun(o: ImportRunOptions): Promise<ImportRunResult> {
  const warn = o.onWarning ?? ((m: string) => console.warn(`warning: ${m}`));
  const from = findReferenceCheckpoint(o.source);
  const configPath = o.config ?? (from.runDir && path.join(from.runDir, 'config.yaml'));
  if (!configPath || !fs.existsSync(configPath)) throw new Error(`${o.source}: no config.yaml beside the checkpoints; give the run's config with --config`);
  const config: MunitConfig = loadConfig(configPath, { onWarning: warn });
  const configText = fs.readFileSync(configPath, 'utf8');
  const configName = runName(configPath);
  // A run folder's copy of its config is config.yaml: then the folder holds the name.
  const name =
    o.name ?? (from.runDir ? path.basename(from.runDir) : configName === 'config' ? path.basename(path.dirname(path.resolve(configPath))) : configName);
  const runDir = path.join(o.outputPath ?? 'outputs', name);
  const iteration = from.iteration ?? 0;
  if (from.iteration === undefined) warn(`${from.gen}: no iteration in the file name (gen_NNNNNNNN.pt); starting the count at 0`);
  const logs = o.logs === false ? undefined : (o.logs ?? (from.runDir && fs.existsSync(referenceLogs(from.runDir)) ? referenceLogs(from.runDir) : undefined));
  if (logs && !fs.existsSync(logs)) throw new Error(`--logs ${logs} does not exist`);

  const trainer = new MunitTrainer(config, { seed: o.seed ?? 0, perceptual: config.vgg_w > 0 ? unusedPerceptual : undefined });
  try {
    loadTorchGenerators(trainer, from.gen);
    if (from.dis) {
      const dis = readNetworkPair(from.dis);
      loadStateDict(trainer.disA.params, dis, from.dis, 'a.');
      loadStateDict(trainer.disB.params, dis, from.dis, 'b.');
      if (iterationOf(from.dis) !== from.iteration) warn(`${from.dis} and ${from.gen} are from different iterations`);
    } else warn(`no dis_*.pt beside ${from.gen}: the discriminators start fresh (initialised as the config says)`);
    if (from.optimizer) {
      const opt = readOptimizerPair(from.optimizer);
      restoreAdam(trainer.genOpt, [trainer.genA.params, trainer.genB.params], opt.gen, from.optimizer, 'gen');
      if (from.dis) restoreAdam(trainer.disOpt, [trainer.disA.params, trainer.disB.params], opt.dis, from.optimizer, 'dis');
      const { betas, eps, weightDecay } = opt.gen;
      if (betas[0] !== config.beta1 || betas[1] !== config.beta2 || weightDecay !== config.weight_decay || eps !== 1e-8) {
        warn(
          `${from.optimizer}: Adam ran with betas (${betas}), weight_decay ${weightDecay}, eps ${eps}; training continues with the config's (${config.beta1},${config.beta2}), ${config.weight_decay}, 1e-8`,
        );
      }
      // The reference writes optimizer.pt after gen_ and dis_ at each snapshot, so its step is the iteration.
      if (opt.gen.step !== iteration)
        warn(`${from.optimizer} is from step ${opt.gen.step} but ${from.gen} from iteration ${iteration}: the optimizer file belongs to another snapshot`);
    } else warn(`no optimizer.pt beside ${from.gen}: Adam starts from zero moments`);
    trainer.iteration = iteration;
    fs.mkdirSync(runDir, { recursive: true });
    writeFileAtomic(path.join(runDir, RUN_CONFIG_FILE), configText);
    await saveCheckpoint(trainer, path.join(runDir, CHECKPOINTS_FOLDER), { configText });
  } finally {
    trainer.dispose();
  }

  let metrics = 0;
  if (logs) {
    const lines = metricsLines(readScalarLogs(logs, warn), (it) => learningRateAt(it - 1, config));
    const kept = lines.filter((l) => (l.iteration as number) <= iteration);
    if (kept.length < lines.length)
      warn(`${logs}: ${lines.length - kept.length} logged iterations after the checkpoint (${iteration}) are left out, as resuming repeats them`);
    writeFileAtomic(path.join(runDir, METRICS_FILE), kept.map((l) => JSON.stringify(l) + '\n').join(''));
    metrics = kept.length;
  }
  return { runDir, iteration, from, logs, metrics };
}

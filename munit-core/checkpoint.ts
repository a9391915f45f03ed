// Checkpoints: safetensors files with the reference's state-dict names and PyTorch layout, written atomically.
//   gen_%08d.safetensors        a.<name>, b.<name>   (the reference's gen_%08d.pt holds {'a': ..., 'b': ...})
//   dis_%08d.safetensors        a.<name>, b.<name>
//   optimizer_%08d.safetensors  gen.<a|b>.<name>.exp_avg / .exp_avg_sq, dis.<...>; metadata: steps, iteration,
//                               random state, config text
// The number is the count of finished iterations. The newest checkpoint is the highest number for which all three
// files exist, so a crash between files (or mid-file: each is written to a temporary name and renamed) never
// leaves a broken newest checkpoint.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Adam } from './adam.js';
import { ParamEntry, ParamStore, referenceShape } from './layers/params.js';
import { decodeSafetensors, encodeSafetensors, readSafetensors, TensorMap } from './safetensors.js';
import { assignFromTorch, checkTensorNames, loadStateDict, toStateDict, toTorchTensor } from './state-dict.js';
import { MunitTrainer } from './trainer.js';

export const CHECKPOINT_FORMAT = 'munit-studio/1';
const KINDS = ['gen', 'dis', 'optimizer'] as const;
type Kind = (typeof KINDS)[number];

export function checkpointFile(dir: string, kind: Kind, iteration: number): string {
  return path.join(dir, `${kind}_${String(iteration).padStart(8, '0')}.safetensors`);
}

/** Extra state saved with a checkpoint (e.g. data-loader positions), as JSON strings. */
export type CheckpointExtras = Record<string, string>;

/** Iterations for which all three files exist, newest last. */
export function completeCheckpoints(dir: string): number[] {
  if (!fs.existsSync(dir)) return [];
  const byIteration = new Map<number, Set<string>>();
  for (const name of fs.readdirSync(dir)) {
    const m = /^(gen|dis|optimizer)_(\d{8})\.safetensors$/.exec(name);
    if (!m) continue;
    const it = Number(m[2]);
    if (!byIteration.has(it)) byIteration.set(it, new Set());
    byIteration.get(it)!.add(m[1]);
  }
  return [...byIteration].filter(([, kinds]) => kinds.size === KINDS.length).map(([it]) => it).sort((a, b) => a - b);
}

/** Writes `data` to `file` so that `file` is either the old content or the whole new one, never a part. */
export function writeFileAtomic(file: string, data: Buffer | string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

async function pair(a: ParamStore, b: ParamStore): Promise<TensorMap> {
  return new Map([...(await toStateDict(a, 'a.')), ...(await toStateDict(b, 'b.'))]);
}

interface OptimizedParam {
  /** 'a.enc_style.model.0.conv.weight' */
  qualified: string;
  entry: ParamEntry;
}

/** The optimiser's variables in its order (both networks' trainable weights), with network-qualified names. */
function optimizedParams(a: ParamStore, b: ParamStore): OptimizedParam[] {
  return [['a', a], ['b', b]].flatMap(([net, store]) =>
    [...(store as ParamStore).entries.values()].filter((e) => e.trainable).map((entry) => ({ qualified: `${net as string}.${entry.name}`, entry })),
  );
}

const MOMENTS = [['exp_avg', 'expAvg'], ['exp_avg_sq', 'expAvgSq']] as const;

/** Adam's moments as `<prefix><qualified name>.exp_avg` / `.exp_avg_sq`, in PyTorch layout like the weights. */
async function optimizerTensors(opt: Adam, params: OptimizedParam[], prefix: string): Promise<TensorMap> {
  const out: TensorMap = new Map();
  for (const [i, slot] of opt.slots.entries()) {
    const { qualified, entry } = params[i];
    for (const [suffix, key] of MOMENTS) out.set(`${prefix}${qualified}.${suffix}`, await toTorchTensor(entry.kind, slot[key]));
  }
  return out;
}

function restoreOptimizer(opt: Adam, params: OptimizedParam[], prefix: string, tensors: TensorMap, step: number): void {
  opt.slots.forEach((slot, i) => {
    const { qualified, entry } = params[i];
    for (const [suffix, key] of MOMENTS) assignFromTorch(entry.kind, slot[key], tensors.get(`${prefix}${qualified}.${suffix}`)!);
  });
  opt.step = step;
}

function groups(trainer: MunitTrainer) {
  return {
    gen: optimizedParams(trainer.genA.params, trainer.genB.params),
    dis: optimizedParams(trainer.disA.params, trainer.disB.params),
  };
}

export interface SaveOptions {
  configText: string;
  extras?: CheckpointExtras;
  /** Keep only this many newest checkpoints (0 or absent keeps all). */
  keep?: number;
}

/** Saves the trainer at its current iteration into `dir`; returns the iteration saved. */
export async function saveCheckpoint(trainer: MunitTrainer, dir: string, options: SaveOptions): Promise<number> {
  fs.mkdirSync(dir, { recursive: true });
  const it = trainer.iteration;
  const meta = { format: CHECKPOINT_FORMAT, iteration: String(it) };
  const g = groups(trainer);
  const optimizer: TensorMap = new Map([...(await optimizerTensors(trainer.genOpt, g.gen, 'gen.')), ...(await optimizerTensors(trainer.disOpt, g.dis, 'dis.'))]);
  const optMeta: Record<string, string> = {
    ...meta,
    gen_step: String(trainer.genOpt.step),
    dis_step: String(trainer.disOpt.step),
    rng_state: String(trainer.rng.state),
    hyperparameters: JSON.stringify(trainer.hyper),
    config: options.configText,
    ...(options.extras ?? {}),
  };
  writeFileAtomic(checkpointFile(dir, 'gen', it), encodeSafetensors(await pair(trainer.genA.params, trainer.genB.params), meta));
  writeFileAtomic(checkpointFile(dir, 'dis', it), encodeSafetensors(await pair(trainer.disA.params, trainer.disB.params), meta));
  // The optimiser file goes last: its presence completes the checkpoint.
  writeFileAtomic(checkpointFile(dir, 'optimizer', it), encodeSafetensors(optimizer, optMeta));
  if (options.keep) for (const old of completeCheckpoints(dir).slice(0, -options.keep)) removeCheckpoint(dir, old);
  return it;
}

function removeCheckpoint(dir: string, iteration: number): void {
  for (const kind of KINDS) fs.rmSync(checkpointFile(dir, kind, iteration), { force: true });
}

/** Loads generator weights only (enough to translate) from a gen_*.safetensors file. */
export function loadGenerators(trainer: Pick<MunitTrainer, 'genA' | 'genB'>, file: string): void {
  const { tensors } = readSafetensors(file);
  loadStateDict(trainer.genA.params, tensors, file, 'a.');
  loadStateDict(trainer.genB.params, tensors, file, 'b.');
}

export interface ResumeResult {
  iteration: number;
  extras: CheckpointExtras;
}

/**
 * Restores weights, both optimisers' moments and steps, the iteration, the random state and the live
 * hyper-parameters from checkpoint `iteration` in `dir` (default: the newest complete one).
 */
export function resumeCheckpoint(trainer: MunitTrainer, dir: string, iteration?: number): ResumeResult {
  const available = completeCheckpoints(dir);
  const it = iteration ?? available.at(-1);
  if (it === undefined) throw new Error(`no complete checkpoint in ${dir} (need gen_, dis_ and optimizer_ files of one iteration)`);
  if (!available.includes(it)) throw new Error(`checkpoint ${it} is not complete in ${dir}`);
  const gen = readSafetensors(checkpointFile(dir, 'gen', it)).tensors;
  const dis = readSafetensors(checkpointFile(dir, 'dis', it)).tensors;
  const optFile = checkpointFile(dir, 'optimizer', it);
  const { tensors: opt, metadata } = decodeSafetensors(fs.readFileSync(optFile), optFile);
  loadStateDict(trainer.genA.params, gen, checkpointFile(dir, 'gen', it), 'a.');
  loadStateDict(trainer.genB.params, gen, checkpointFile(dir, 'gen', it), 'b.');
  loadStateDict(trainer.disA.params, dis, checkpointFile(dir, 'dis', it), 'a.');
  loadStateDict(trainer.disB.params, dis, checkpointFile(dir, 'dis', it), 'b.');
  const g = groups(trainer);
  const expected = new Map<string, number[]>();
  for (const [prefix, params] of [['gen.', g.gen], ['dis.', g.dis]] as const) {
    for (const { qualified, entry } of params) {
      for (const [suffix] of MOMENTS) expected.set(`${prefix}${qualified}.${suffix}`, toTorchShape(entry));
    }
  }
  checkTensorNames(expected, opt, optFile);
  restoreOptimizer(trainer.genOpt, g.gen, 'gen.', opt, Number(metadata.gen_step));
  restoreOptimizer(trainer.disOpt, g.dis, 'dis.', opt, Number(metadata.dis_step));
  trainer.iteration = it;
  trainer.rng.state = Number(metadata.rng_state) >>> 0;
  if (metadata.hyperparameters) trainer.setHyperparameters(JSON.parse(metadata.hyperparameters));
  const known = new Set(['format', 'iteration', 'gen_step', 'dis_step', 'rng_state', 'hyperparameters', 'config']);
  const extras = Object.fromEntries(Object.entries(metadata).filter(([k]) => !known.has(k)));
  return { iteration: it, extras };
}

function toTorchShape(entry: ParamEntry): number[] {
  return referenceShape(entry, entry.variable.shape);
}

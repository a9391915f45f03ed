// Checkpoints: safetensors files with the reference's state-dict names and PyTorch layout, written atomically.
//   gen_%08d.safetensors        a.<name>, b.<name>   (the reference's gen_%08d.pt holds {'a': ..., 'b': ...})
//   dis_%08d.safetensors        a.<name>, b.<name>
//   optimizer_%08d.safetensors  gen.<a|b>.<name>.exp_avg / .exp_avg_sq, dis.<...>; metadata: steps, iteration,
//                               random state, config text
// The number is the count of finished iterations. Every file records its format, its iteration and the SHA-256 of its
// data, checked on load. A set is complete when all three files exist; resuming takes the newest complete set that
// also reads back intact, so a crash between files, a short write on a full disk or a damaged file never loses the
// run. Sets with a non-finite weight or Adam moment are never written.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Adam } from './adam.js';
import { ParamEntry, ParamStore, referenceShape } from './layers/params.js';
import { DATA_CHECKSUM_KEY, decodeSafetensors, encodeSafetensors, readSafetensors, TensorMap } from './safetensors.js';
import { assignFromTorch, checkTensorNames, loadStateDict, toStateDict, toTorchTensor } from './state-dict.js';
import { MunitTrainer } from './trainer.js';

/** munit-studio/2: every file carries DATA_CHECKSUM_KEY. */
export const CHECKPOINT_FORMAT = 'munit-studio/2';
/** Written before checksums were recorded; still loaded, without the check. */
const LEGACY_FORMAT = 'munit-studio/1';
const KINDS = ['gen', 'dis', 'optimizer'] as const;
type Kind = (typeof KINDS)[number];
const CHECKPOINT_NAME = /^(gen|dis|optimizer)_(\d{8})\.safetensors$/;

export function checkpointFile(dir: string, kind: Kind, iteration: number): string {
  return path.join(dir, `${kind}_${String(iteration).padStart(8, '0')}.safetensors`);
}

/** Extra state saved with a checkpoint (e.g. data-loader positions), as JSON strings. */
export type CheckpointExtras = Record<string, string>;

function filesByIteration(dir: string): Map<number, Set<Kind>> {
  const byIteration = new Map<number, Set<Kind>>();
  if (!fs.existsSync(dir)) return byIteration;
  for (const name of fs.readdirSync(dir)) {
    const m = CHECKPOINT_NAME.exec(name);
    if (!m) continue;
    const it = Number(m[2]);
    if (!byIteration.has(it)) byIteration.set(it, new Set());
    byIteration.get(it)!.add(m[1] as Kind);
  }
  return byIteration;
}

/** Iterations for which all three files exist, newest last (their content is checked when they are loaded). */
export function completeCheckpoints(dir: string): number[] {
  return [...filesByIteration(dir)]
    .filter(([, kinds]) => kinds.size === KINDS.length)
    .map(([it]) => it)
    .sort((a, b) => a - b);
}

/** The part of `fs` that writeFileAtomic writes through; tests inject short writes and full disks here. */
export interface WriteIo {
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
}

const NODE_IO: WriteIo = { writeSync: (fd, buffer, offset, length) => fs.writeSync(fd, buffer, offset, length) };

/**
 * Writes `data` to `file` so that `file` is either the old content or the whole new one, never a part: the data goes
 * to `<file>.tmp-<pid>` in full (writeSync may write less than asked), is fsynced, and only then renamed into place;
 * the folder is fsynced after the rename so the new name survives a power cut. On failure the temporary file is
 * removed and the error names the file, says why (full disk, read-only folder) and that the old file is kept.
 */
export function writeFileAtomic(file: string, data: Buffer | string, io: WriteIo = NODE_IO): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const tmp = `${file}.tmp-${process.pid}`;
  let written = 0;
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      while (written < bytes.length) {
        const n = io.writeSync(fd, bytes, written, bytes.length - written);
        // A write that makes no progress would loop forever; the kernel only does that when the disk is full.
        if (!(n > 0)) throw Object.assign(new Error(`write returned ${n}`), { code: 'ENOSPC' });
        written += n;
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new Error(describeWriteFailure(file, err as NodeJS.ErrnoException, written, bytes.length));
  }
  fsyncFolder(path.dirname(file));
}

function fsyncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Windows cannot open folders and some file systems refuse to fsync them; the rename itself has been done.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** One sentence for a failed write: the file, the cause in words, and what is left on disk. */
export function describeWriteFailure(file: string, err: NodeJS.ErrnoException, written: number, total: number): string {
  const kept = fs.existsSync(file) ? `the previous ${path.basename(file)} is kept` : `no ${path.basename(file)} was written`;
  switch (err.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return `cannot write ${file}: the disk is full (${err.code}) after ${written} of ${total} bytes; ${kept}. Free some space and try again.`;
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return `cannot write ${file}: the folder ${path.dirname(file)} is read-only (${err.code}); ${kept}. Choose a writable output folder.`;
    default:
      return `cannot write ${file}: ${err.message}; ${kept}.`;
  }
}

/** mkdir -p that says "read-only" when that is why it fails, naming the folder that refused. */
export function makeOutputFolder(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    let existing = path.resolve(dir);
    while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || (code === 'ENOENT' && !writable(existing))) {
      throw new Error(`cannot create the output folder ${dir}: ${existing} is read-only (${code}); choose a writable output folder`);
    }
    throw new Error(`cannot create the output folder ${dir}: ${(err as Error).message}`);
  }
}

function writable(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes what an interrupted write leaves in `dir`: `*.tmp-<pid>` files of processes that are no longer running.
 * Returns the names removed.
 */
export function removeStaleTempFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const removed: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    const m = /\.tmp-(\d+)$/.exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    fs.rmSync(path.join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Before a run starts: removes stale temporary files and incomplete sets (a crash between the gen_, dis_ and
 * optimizer_ files of one iteration) from a checkpoints folder. Returns the names removed.
 */
export function cleanCheckpointFolder(dir: string): string[] {
  const removed = removeStaleTempFiles(dir);
  for (const [it, kinds] of filesByIteration(dir)) {
    if (kinds.size === KINDS.length) continue;
    for (const kind of kinds) {
      fs.rmSync(checkpointFile(dir, kind, it), { force: true });
      removed.push(path.basename(checkpointFile(dir, kind, it)));
    }
  }
  return removed;
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
  return [
    ['a', a],
    ['b', b],
  ].flatMap(([net, store]) =>
    [...(store as ParamStore).entries.values()].filter((e) => e.trainable).map((entry) => ({ qualified: `${net as string}.${entry.name}`, entry })),
  );
}

const MOMENTS = [
  ['exp_avg', 'expAvg'],
  ['exp_avg_sq', 'expAvgSq'],
] as const;

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
  /** For tests: where the bytes go (see writeFileAtomic). */
  io?: WriteIo;
}

/** A checkpoint was refused because the weights or Adam moments are no longer finite numbers. */
export class DivergenceError extends Error {
  constructor(
    message: string,
    readonly iteration: number,
  ) {
    super(message);
    this.name = 'DivergenceError';
  }
}

/** Saves the trainer at its current iteration into `dir`; returns the iteration saved. */
export async function saveCheckpoint(trainer: MunitTrainer, dir: string, options: SaveOptions): Promise<number> {
  // A compiled engine holds the newest weights and moments; bring the variables up to date first.
  await trainer.settle();
  makeOutputFolder(dir);
  const it = trainer.iteration;
  const meta = { format: CHECKPOINT_FORMAT, iteration: String(it) };
  const g = groups(trainer);
  const gen = await pair(trainer.genA.params, trainer.genB.params);
  const dis = await pair(trainer.disA.params, trainer.disB.params);
  const genMoments = await optimizerTensors(trainer.genOpt, g.gen, 'gen.');
  const disMoments = await optimizerTensors(trainer.disOpt, g.dis, 'dis.');
  checkFinite(trainer, dir, {
    'generator weights': gen,
    'discriminator weights': dis,
    'generator Adam moments': genMoments,
    'discriminator Adam moments': disMoments,
  });
  const optMeta: Record<string, string> = {
    ...meta,
    gen_step: String(trainer.genOpt.step),
    dis_step: String(trainer.disOpt.step),
    rng_state: String(trainer.rng.state),
    hyperparameters: JSON.stringify(trainer.hyper),
    config: options.configText,
    ...(options.extras ?? {}),
  };
  // The optimiser file goes last: its presence completes the checkpoint.
  const files: [Kind, TensorMap, Record<string, string>][] = [
    ['gen', gen, meta],
    ['dis', dis, meta],
    ['optimizer', new Map([...genMoments, ...disMoments]), optMeta],
  ];
  const written: string[] = [];
  try {
    for (const [kind, tensors, metadata] of files) {
      const file = checkpointFile(dir, kind, it);
      writeFileAtomic(file, encodeSafetensors(tensors, metadata, { checksum: true }), options.io);
      written.push(file);
    }
  } catch (err) {
    // A partial set is useless; removing it keeps the folder to whole sets.
    for (const file of written) fs.rmSync(file, { force: true });
    throw new Error(`checkpoint ${it} was not saved: ${(err as Error).message} ${keptText(dir)}`);
  }
  if (options.keep) for (const old of completeCheckpoints(dir).slice(0, -options.keep)) removeCheckpoint(dir, old);
  return it;
}

function keptText(dir: string): string {
  const newest = completeCheckpoints(dir).at(-1);
  return newest === undefined ? `There is no earlier checkpoint in ${dir}.` : `The newest checkpoint kept is ${newest} in ${dir}.`;
}

function countNonFinite(tensors: TensorMap): { bad: number; total: number } {
  let bad = 0;
  let total = 0;
  for (const t of tensors.values()) {
    total += t.data.length;
    for (let i = 0; i < t.data.length; i++) if (!Number.isFinite(t.data[i])) bad++;
  }
  return { bad, total };
}

/**
 * Throws DivergenceError when any weight or Adam moment is NaN or infinite: such a checkpoint could only be resumed
 * into NaN losses. Losses can stay finite while the moments overflow (huge gradients squared), so both are checked.
 */
function checkFinite(trainer: MunitTrainer, dir: string, groups: Record<string, TensorMap>): void {
  const problems: string[] = [];
  for (const [what, tensors] of Object.entries(groups)) {
    const { bad, total } = countNonFinite(tensors);
    if (bad > 0) problems.push(`${bad.toLocaleString('en-US')} of the ${total.toLocaleString('en-US')} ${what}`);
  }
  if (problems.length === 0) return;
  // Name the settings far above the reference's (lr 0.0001, loss weights 1 to 10); else the usual suspects.
  const h = trainer.hyper;
  const suspects = [
    ...(h.lr > 0.01 ? [`lr (now ${h.lr}; the reference uses 0.0001)`] : []),
    ...(['gan_w', 'recon_x_w', 'recon_s_w', 'recon_c_w', 'recon_x_cyc_w', 'vgg_w'] as const).filter((k) => h[k] > 100).map((k) => `${k} (now ${h[k]})`),
  ];
  const change = suspects.length ? suspects.join(' and ') : `lr (now ${h.lr}) or the loss weights`;
  const it = trainer.iteration;
  throw new DivergenceError(
    `training diverged by iteration ${it}: ${problems.join(', ')} are not finite (NaN or infinite), so checkpoint ${it} was not written and training stopped. ` +
      // Not "resume": a resumed run takes its hyper-parameters from the checkpoint, not from the edited config.
      `Lower ${change} in the config and train again without --resume. ${keptText(dir)}`,
    it,
  );
}

function removeCheckpoint(dir: string, iteration: number): void {
  for (const kind of KINDS) fs.rmSync(checkpointFile(dir, kind, iteration), { force: true });
}

/** Reads one checkpoint file, checking its format, iteration and checksum; errors say the file is damaged and how. */
function readCheckpointFile(dir: string, kind: Kind, iteration: number): { tensors: TensorMap; metadata: Record<string, string> } {
  const file = checkpointFile(dir, kind, iteration);
  const read = decodeSafetensors(fs.readFileSync(file), file);
  checkHeader(read.metadata, file, iteration);
  return read;
}

/** `iteration`: the one the file's name says, when known. */
function checkHeader(metadata: Record<string, string>, file: string, iteration?: number): void {
  const { format } = metadata;
  if (format !== CHECKPOINT_FORMAT && format !== LEGACY_FORMAT) {
    const found = format === undefined ? 'has no format field' : `has format '${format}'`;
    throw new Error(`${file}: not a MUNIT Studio checkpoint: its header ${found}, expected '${CHECKPOINT_FORMAT}' (or '${LEGACY_FORMAT}')`);
  }
  if (format === CHECKPOINT_FORMAT && metadata[DATA_CHECKSUM_KEY] === undefined)
    throw new Error(`${file}: damaged: the header has lost its checksum (${DATA_CHECKSUM_KEY})`);
  if (iteration !== undefined && metadata.iteration !== String(iteration)) {
    throw new Error(`${file}: damaged: its header says iteration ${metadata.iteration}, its name ${iteration}`);
  }
}

/** Loads generator weights only (enough to translate) from a gen_*.safetensors file. */
export function loadGenerators(trainer: Pick<MunitTrainer, 'genA' | 'genB'>, file: string): void {
  const { tensors, metadata } = readSafetensors(file);
  const named = CHECKPOINT_NAME.exec(path.basename(file));
  checkHeader(metadata, file, named ? Number(named[2]) : undefined);
  loadStateDict(trainer.genA.params, tensors, file, 'a.');
  loadStateDict(trainer.genB.params, tensors, file, 'b.');
}

export interface DamagedCheckpoint {
  iteration: number;
  reason: string;
}

type CheckpointSet = Record<Kind, { tensors: TensorMap; metadata: Record<string, string> }>;

/**
 * The newest complete set in `dir` whose `kinds` files all read back intact, and the newer ones that did not (with
 * why). Throws when there is none.
 */
export function newestIntactCheckpoint<K extends Kind>(
  dir: string,
  kinds: readonly K[],
): { iteration: number; files: Pick<CheckpointSet, K>; damaged: DamagedCheckpoint[] } {
  const available = completeCheckpoints(dir);
  if (available.length === 0) throw new Error(`no complete checkpoint in ${dir} (need gen_, dis_ and optimizer_ files of one iteration)`);
  const damaged: DamagedCheckpoint[] = [];
  for (const it of [...available].reverse()) {
    try {
      const files = Object.fromEntries(kinds.map((kind) => [kind, readCheckpointFile(dir, kind, it)])) as Pick<CheckpointSet, K>;
      return { iteration: it, files, damaged };
    } catch (err) {
      damaged.push({ iteration: it, reason: (err as Error).message });
    }
  }
  throw new Error(`no intact checkpoint in ${dir}: ${damaged.map((d) => `checkpoint ${d.iteration}: ${d.reason}`).join('; ')}`);
}

export interface ResumeResult {
  iteration: number;
  extras: CheckpointExtras;
  /** Newer sets that were skipped because they are damaged. */
  damaged: DamagedCheckpoint[];
}

/**
 * Restores weights, both optimisers' moments and steps, the iteration, the random state and the live
 * hyper-parameters from checkpoint `iteration` in `dir` (default: the newest complete one that reads back intact).
 * Nothing is changed unless all three files are intact.
 */
export function resumeCheckpoint(trainer: MunitTrainer, dir: string, iteration?: number): ResumeResult {
  let set: CheckpointSet;
  let it: number;
  let damaged: DamagedCheckpoint[] = [];
  if (iteration === undefined) {
    ({ iteration: it, files: set, damaged } = newestIntactCheckpoint(dir, KINDS));
  } else {
    if (!completeCheckpoints(dir).includes(iteration)) throw new Error(`checkpoint ${iteration} is not complete in ${dir}`);
    it = iteration;
    set = Object.fromEntries(KINDS.map((kind) => [kind, readCheckpointFile(dir, kind, it)])) as CheckpointSet;
  }
  const optFile = checkpointFile(dir, 'optimizer', it);
  const { tensors: opt, metadata } = set.optimizer;
  loadStateDict(trainer.genA.params, set.gen.tensors, checkpointFile(dir, 'gen', it), 'a.');
  loadStateDict(trainer.genB.params, set.gen.tensors, checkpointFile(dir, 'gen', it), 'b.');
  loadStateDict(trainer.disA.params, set.dis.tensors, checkpointFile(dir, 'dis', it), 'a.');
  loadStateDict(trainer.disB.params, set.dis.tensors, checkpointFile(dir, 'dis', it), 'b.');
  const g = groups(trainer);
  const expected = new Map<string, number[]>();
  for (const [prefix, params] of [
    ['gen.', g.gen],
    ['dis.', g.dis],
  ] as const) {
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
  const known = new Set(['format', 'iteration', 'gen_step', 'dis_step', 'rng_state', 'hyperparameters', 'config', DATA_CHECKSUM_KEY]);
  const extras = Object.fromEntries(Object.entries(metadata).filter(([k]) => !known.has(k)));
  return { iteration: it, extras, damaged };
}

function toTorchShape(entry: ParamEntry): number[] {
  return referenceShape(entry, entry.variable.shape);
}

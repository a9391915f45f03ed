// The layout of a run folder, the contract between what writes a run (munit train, demo, import) and what reads it
// (the server, the extension's panels):
//   <output>/<config name>/config.yaml, images/ (sample grids + index.html), checkpoints/, metrics.jsonl
// No tfjs here: the extension bundle imports this file.
import * as path from 'node:path';

export const RUN_CONFIG_FILE = 'config.yaml';
export const IMAGES_FOLDER = 'images';
export const GALLERY_FILE = 'index.html';
export const CHECKPOINTS_FOLDER = 'checkpoints';
export const METRICS_FILE = 'metrics.jsonl';

/** Keys of a metrics.jsonl line that are not loss terms (`changes` marks a settings-change line). */
export const NOT_LOSS_KEYS: ReadonlySet<string> = new Set(['iteration', 'lr', 'seconds_per_iter', 'time', 'changes']);

/** A run is named after its config file, without .yaml/.yml. */
export function runName(configPath: string): string {
  return path.basename(configPath).replace(/\.ya?ml$/i, '');
}

/** `<outputPath>/<config name>`, as the reference's train.py names it. */
export function runFolder(configPath: string, outputPath = 'outputs'): string {
  return path.join(outputPath, runName(configPath));
}

export type GridDirection = 'a2b' | 'b2a';
export type GridSet = 'train' | 'test';

export interface SampleGridName {
  direction: GridDirection;
  set: GridSet;
  /** The iteration of a numbered grid (kept), or 'current' for the one overwritten every image_display_iter. */
  iteration: number | 'current';
}

/** gen_<direction>_<set>_<8-digit iteration | current>.png */
export function sampleGridFile({ direction, set, iteration }: SampleGridName): string {
  return `gen_${direction}_${set}_${iteration === 'current' ? 'current' : String(iteration).padStart(8, '0')}.png`;
}

/** The parts of a sample grid's file name (a path is fine); undefined for other files. */
export function parseSampleGridFile(file: string): SampleGridName | undefined {
  const match = /^gen_(a2b|b2a)_(train|test)_(current|\d{8})\.png$/.exec(path.basename(file));
  if (!match) return undefined;
  return { direction: match[1] as GridDirection, set: match[2] as GridSet, iteration: match[3] === 'current' ? 'current' : Number(match[3]) };
}

/** How the panels name a grid: `<direction>_<set>`, e.g. a2b_train. */
export function gridLabel(grid: SampleGridName): string {
  return `${grid.direction}_${grid.set}`;
}

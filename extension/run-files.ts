// What a run folder holds on disk (written by munit-core/training-run.ts), read for the panels: the metrics history,
// and the numbered sample grids. The extension reads files; it never loads the model.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gridLabel, IMAGES_FOLDER, METRICS_FILE, NOT_LOSS_KEYS, parseSampleGridFile } from '../munit-core/run-folder.js';
import { type LoggedMetrics, type SamplesParams, type TunableSettings } from '../server/protocol.js';
import type { MetricsEntry, RunHistory } from '../webviews/protocol.js';

/** A line of metrics.jsonl: flat metrics (iteration, lr, seconds_per_iter, time, every loss term), or a settings change. */
type MetricsLine = Record<string, number | string> & { changes?: Partial<TunableSettings> };

export function readMetricsLines(runFolder: string): MetricsLine[] {
  const file = path.join(runFolder, METRICS_FILE);
  if (!fs.existsSync(file)) return [];
  const lines: MetricsLine[] = [];
  for (const text of fs.readFileSync(file, 'utf8').split('\n')) {
    if (text.trim() === '') continue;
    try {
      lines.push(JSON.parse(text) as MetricsLine);
    } catch {
      // A line being written while we read: the next read has it whole.
    }
  }
  return lines;
}

/** The run's history as the loss-curve panel takes it: each settings change rides on the first logged iteration that
 * uses it, as the live metrics notifications carry it. */
export function readRunHistory(runFolder: string): RunHistory {
  const entries: MetricsEntry[] = [];
  let pending: Partial<TunableSettings> | undefined;
  for (const line of readMetricsLines(runFolder)) {
    if (line.changes) {
      pending = { ...pending, ...line.changes };
      continue;
    }
    const losses: Record<string, number> = {};
    for (const [key, value] of Object.entries(line)) if (!NOT_LOSS_KEYS.has(key) && typeof value === 'number') losses[key] = value;
    const metrics = {
      iteration: Number(line.iteration),
      lr: Number(line.lr),
      seconds_per_iter: Number(line.seconds_per_iter),
      time: String(line.time),
      losses: losses as LoggedMetrics['losses'],
    };
    entries.push(pending ? { metrics, changes: pending } : { metrics });
    pending = undefined;
  }
  return { runFolder, label: path.basename(runFolder), entries };
}

/** The numbered sample grids of a run (images/gen_<direction>_<set>_<iteration>.png), one step per iteration. */
export function readSampleHistory(runFolder: string, jobId: string): SamplesParams[] {
  const dir = path.join(runFolder, IMAGES_FOLDER);
  if (!fs.existsSync(dir)) return [];
  const steps = new Map<number, SamplesParams>();
  for (const file of fs.readdirSync(dir).sort()) {
    const grid = parseSampleGridFile(file);
    if (!grid || grid.iteration === 'current') continue;
    const { iteration } = grid;
    const step = steps.get(iteration) ?? { jobId, runFolder, iteration, grids: [] };
    step.grids.push({ name: gridLabel(grid), png: fs.readFileSync(path.join(dir, file)).toString('base64') });
    steps.set(iteration, step);
  }
  return [...steps.values()];
}

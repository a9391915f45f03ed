// A run's TensorBoard scalar logs (the reference writes them with tensorboardX to logs/<name>/) as per-iteration
// points, and as the lines of our metrics.jsonl so the loss-curve panel shows an imported run's history.
// A resumed run appends a new event file whose steps restart below the old ones; as TensorBoard does, a step that
// goes back drops everything logged from that step on (the orphaned tail of the interrupted session).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NOT_LOSS_KEYS } from '../run-folder.js';
import { decodeEvent } from './event.js';
import { ProtobufError } from './protobuf.js';
import { readTfRecords } from './tfrecord.js';

export interface ScalarPoint {
  step: number;
  /** Seconds since the epoch, of the newest event at this step. */
  wallTime: number;
  /** Index of the event file (in writing order) it came from: one per training session. */
  session: number;
  values: Record<string, number>;
}

/** The event files of a log folder, in the order they were written (their names hold their creation time). */
export function eventFiles(dirOrFile: string): string[] {
  if (fs.statSync(dirOrFile).isFile()) return [dirOrFile];
  const created = (name: string) => Number(name.split('.')[3]);
  return fs
    .readdirSync(dirOrFile)
    .filter((name) => name.startsWith('events.out.tfevents.'))
    .sort((a, b) => created(a) - created(b) || (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => path.join(dirOrFile, name));
}

/** Every scalar of the logs, one point per step, in step order. Damaged records are skipped with a warning. */
export function readScalarLogs(dirOrFile: string, onWarning: (message: string) => void): ScalarPoint[] {
  const points = new Map<number, ScalarPoint>();
  let maxStep = -Infinity;
  eventFiles(dirOrFile).forEach((file, session) => {
    for (const record of readTfRecords(fs.readFileSync(file), file, onWarning)) {
      let event;
      try {
        event = decodeEvent(record.data);
      } catch (err) {
        if (!(err instanceof ProtobufError)) throw err;
        onWarning(`${file}: the record at byte ${record.offset} is not an event (${err.message}); skipped`);
        continue;
      }
      if (event.scalars.length === 0) continue;
      if (event.step < maxStep) for (const step of points.keys()) if (step >= event.step) points.delete(step);
      maxStep = event.step;
      let point = points.get(event.step);
      if (!point) points.set(event.step, (point = { step: event.step, wallTime: event.wallTime, session, values: {} }));
      point.wallTime = event.wallTime;
      point.session = session;
      for (const [tag, value] of event.scalars) point.values[tag] = value;
    }
  });
  return [...points.values()].sort((a, b) => a.step - b.step);
}

/**
 * metrics.jsonl lines (iteration, lr, seconds_per_iter, time, then every logged tag). The reference logs neither
 * the learning rate nor the speed: `lrAt(iteration)` gives the rate (from the config's schedule), and the seconds
 * per iteration come from the wall times of neighbouring points of the same session. Logged tags named like the
 * keys that are not losses are left out.
 */
export function metricsLines(points: ScalarPoint[], lrAt: (iteration: number) => number): Record<string, number | string>[] {
  return points.map((p, i) => {
    const neighbour = [points[i - 1], points[i + 1]].find((q) => q && q.session === p.session);
    const seconds = neighbour ? Math.abs(p.wallTime - neighbour.wallTime) / Math.abs(p.step - neighbour.step) : 0;
    const line: Record<string, number | string> = {
      iteration: p.step,
      lr: lrAt(p.step),
      seconds_per_iter: seconds,
      time: Number.isFinite(new Date(p.wallTime * 1000).getTime()) ? new Date(p.wallTime * 1000).toISOString() : '',
    };
    for (const [tag, value] of Object.entries(p.values)) if (!NOT_LOSS_KEYS.has(tag)) line[tag] = value;
    return line;
  });
}

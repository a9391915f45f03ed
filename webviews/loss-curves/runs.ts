// The loss histories in columns, as uPlot wants them: per run the iterations, the raw values of every loss term and
// their smoothed values. Live points are appended to the columns in place; nothing is rebuilt per point.
import type { MetricsEntry } from '../protocol.js';
import { DebiasedEma } from './smoothing.js';

export type Column = (number | null)[];

/** A setting changed live, drawn as a vertical marker. */
export interface ChangeMark {
  iteration: number;
  text: string;
}

export class RunSeries {
  readonly iterations: number[] = [];
  readonly raw = new Map<string, Column>();
  readonly smoothed = new Map<string, DebiasedEma>();
  readonly changes: ChangeMark[] = [];

  constructor(
    readonly runFolder: string,
    readonly label: string,
    private weight: number,
  ) {}

  append(entry: MetricsEntry): void {
    const { iteration, losses } = entry.metrics;
    // A resumed run logs again from its checkpoint: the newer points replace the ones after it.
    const last = this.iterations[this.iterations.length - 1];
    if (last !== undefined && iteration <= last) this.truncateFrom(iteration);
    const n = this.iterations.length;
    this.iterations.push(iteration);
    for (const term of Object.keys(losses)) {
      if (!this.raw.has(term)) {
        this.raw.set(term, new Array<number | null>(n).fill(null));
        this.smoothed.set(term, smooth(this.raw.get(term)!, this.weight));
      }
    }
    for (const [term, column] of this.raw) {
      const value = losses[term as keyof typeof losses];
      const y = Number.isFinite(value) ? value : null;
      column.push(y);
      this.smoothed.get(term)!.push(y);
    }
    if (entry.changes && Object.keys(entry.changes).length > 0) {
      const text = Object.entries(entry.changes)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      this.changes.push({ iteration, text });
    }
  }

  setSmoothing(weight: number): void {
    this.weight = weight;
    for (const [term, column] of this.raw) this.smoothed.set(term, smooth(column, weight));
  }

  private truncateFrom(iteration: number): void {
    const keep = this.iterations.findIndex((it) => it >= iteration);
    this.iterations.length = keep;
    for (const column of this.raw.values()) column.length = keep;
    const firstDropped = this.changes.findIndex((c) => c.iteration >= iteration);
    if (firstDropped >= 0) this.changes.length = firstDropped;
    this.setSmoothing(this.weight);
  }
}

function smooth(column: Column, weight: number): DebiasedEma {
  const ema = new DebiasedEma(weight);
  for (const y of column) ema.push(y);
  return ema;
}

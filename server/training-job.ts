// One training job inside the engine worker: runTraining with pause/stop, live tuning, and a gate that runs
// model requests against the live weights between iterations (never in the middle of a step).
import * as fs from 'node:fs';
import { MunitConfig } from '../munit-core/config/config.js';
import { type Hyperparameters, isHyperparameter, TUNABLE_KEYS } from '../munit-core/hyperparameters.js';
import { gridLabel, parseSampleGridFile, runFolder } from '../munit-core/run-folder.js';
import { NonFiniteLossError, MunitTrainer } from '../munit-core/trainer.js';
import { LoggedMetrics, recordSettingsChange, runTraining } from '../munit-core/training-run.js';
import {
  isActiveJob,
  type JobState,
  type JobStatus,
  type MetricsParams,
  type SamplesParams,
  type TunableSettings,
  type UpdateHyperparametersResult,
} from './protocol.js';

export interface JobEvents {
  state(status: JobStatus): void;
  metrics(params: MetricsParams): void;
  samples(params: SamplesParams): void;
  warn(message: string): void;
}

type Task = () => Promise<void>;

export class TrainingJob {
  state: JobState = 'starting';
  iteration = 0;
  maxIter = 0;
  runFolder: string;
  message?: string;
  /** Set once the run is set up; the weights model requests use. */
  trainer?: MunitTrainer;
  config?: MunitConfig;
  readonly done: Promise<void>;
  private readonly abort = new AbortController();
  private readonly tasks: Task[] = [];
  private wake?: () => void;
  private pendingChanges: Partial<TunableSettings> = {};

  constructor(
    readonly jobId: string,
    readonly configPath: string,
    outputPath: string,
    resume: boolean,
    private readonly events: JobEvents,
    started: (error?: Error) => void,
  ) {
    this.runFolder = runFolder(configPath, outputPath);
    let reportedStart = false;
    this.done = runTraining({
      configPath,
      outputPath,
      resume,
      signal: this.abort.signal,
      onWarning: (m) => events.warn(m),
      onStart: (e) => {
        Object.assign(this, { runFolder: e.runDir, iteration: e.iteration, maxIter: e.maxIter, trainer: e.trainer, config: e.config });
        this.setState('running');
        reportedStart = true;
        started();
      },
      beforeIteration: () => this.gate(),
      onMetrics: (m) => this.onMetrics(m),
      onSamples: (e) => {
        const grids = e.files.map((file) => ({ name: gridLabel(parseSampleGridFile(file)!), png: fs.readFileSync(file).toString('base64') }));
        events.samples({ jobId, runFolder: this.runFolder, iteration: e.iteration, grids });
      },
    })
      .then(
        (result) => {
          this.iteration = result.iteration;
          this.setState(result.stoppedBy === 'max_iter' ? 'finished' : 'stopped');
        },
        (err: Error) => {
          this.message =
            err instanceof NonFiniteLossError ? `${err.message.replace(/\.?$/, '.')} Training stopped; the last checkpoint is intact.` : err.message;
          this.setState('failed');
          if (!reportedStart) started(err);
        },
      )
      .finally(() => {
        this.trainer = undefined;
        // Requests queued after the last iteration find no trainer and fail; callers then read the checkpoint.
        void this.runTasks();
      });
  }

  status(): JobStatus {
    const { jobId, configPath, runFolder, state, iteration, maxIter, message } = this;
    return { jobId, configPath, runFolder, state, iteration, maxIter, ...(message ? { message } : {}) };
  }

  get active(): boolean {
    return isActiveJob(this.state);
  }

  stop(): Promise<void> {
    if (this.active) this.setState('stopping');
    this.abort.abort();
    this.wake?.();
    return this.done;
  }

  /** Resolves once the iteration in flight has finished and the job waits. */
  pause(): Promise<void> {
    if (this.state === 'running') this.setState('paused');
    if (this.state !== 'paused') return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.tasks.push(async () => resolve());
      this.wake?.();
    });
  }

  resume(): void {
    if (this.state === 'paused') this.setState('running');
    this.wake?.();
  }

  /** Runs `fn` with the live trainer between two iterations. */
  withTrainer<T>(fn: (trainer: MunitTrainer, config: MunitConfig) => Promise<T> | T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.tasks.push(async () => {
        if (!this.trainer || !this.config) return reject(new Error(`the training job for ${this.configPath} is not running`));
        try {
          // The compiled engine holds the newest weights: the requests read the trainer's variables.
          await this.trainer.settle();
          resolve(await fn(this.trainer, this.config));
        } catch (err) {
          reject(err as Error);
        }
      });
      this.wake?.();
    });
  }

  /** Applies from the next iteration; recorded in metrics.jsonl and on the next metrics notification. */
  updateHyperparameters(changes: Partial<TunableSettings>): Promise<UpdateHyperparametersResult> {
    return this.withTrainer((trainer, config) => {
      const hyper: Partial<Hyperparameters> = {};
      for (const [key, value] of Object.entries(changes) as [keyof TunableSettings, number][]) {
        if (isHyperparameter(key)) hyper[key] = value;
        else config[key] = value;
      }
      trainer.setHyperparameters(hyper);
      const fromIteration = trainer.iteration + 1;
      recordSettingsChange(this.runFolder, fromIteration, changes as Record<string, number>);
      Object.assign(this.pendingChanges, changes);
      return { fromIteration, settings: tunableSettings(trainer, config) };
    });
  }

  /** The loss weights, lr and display intervals in force. */
  settings(): Promise<TunableSettings> {
    return this.withTrainer(tunableSettings);
  }

  private onMetrics(m: LoggedMetrics): void {
    this.iteration = m.iteration;
    const params: MetricsParams = { jobId: this.jobId, runFolder: this.runFolder, metrics: m };
    if (Object.keys(this.pendingChanges).length > 0) {
      params.changes = this.pendingChanges;
      this.pendingChanges = {};
    }
    this.events.metrics(params);
  }

  /** Between iterations: run queued requests, and hold here while paused. */
  private async gate(): Promise<void> {
    if (this.trainer) this.iteration = this.trainer.iteration;
    for (;;) {
      await this.runTasks();
      if (this.state !== 'paused' || this.abort.signal.aborted) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }

  private async runTasks(): Promise<void> {
    for (let task = this.tasks.shift(); task; task = this.tasks.shift()) await task();
  }

  private setState(state: JobState): void {
    this.state = state;
    this.events.state(this.status());
  }
}

function tunableSettings(trainer: MunitTrainer, config: MunitConfig): TunableSettings {
  return Object.fromEntries(TUNABLE_KEYS.map((k) => [k, isHyperparameter(k) ? trainer.hyper[k] : config[k]])) as TunableSettings;
}

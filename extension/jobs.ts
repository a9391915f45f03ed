// The training jobs of the running server as its notifications describe them, with the latest metrics of each, and
// the context keys that show or hide the commands that act on them.
import * as vscode from 'vscode';
import { isActiveJob, type JobStatus, type MetricsParams, type SamplesParams } from '../server/protocol.js';

/**
 * Jobs that can still be stopped, paused or tuned. A stopping job still holds the trainer, but counts as done here:
 * Stop, Pause and Tune hide, and the status bar goes idle, as soon as it is asked to stop. The Stop command itself
 * waits for the job to end, since its request answers only then.
 */
const takesCommands = (state: JobStatus['state']) => isActiveJob(state) && state !== 'stopping';

export class Jobs implements vscode.Disposable {
  private readonly jobs = new Map<string, JobStatus>();
  private readonly metrics = new Map<string, MetricsParams>();
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly metricsArrived = new vscode.EventEmitter<MetricsParams>();
  private readonly samplesArrived = new vscode.EventEmitter<SamplesParams>();
  /** A job changed state, a job was added, or the list was replaced. */
  readonly onDidChange = this.changed.event;
  readonly onMetrics = this.metricsArrived.event;
  readonly onSamples = this.samplesArrived.event;

  /** The list as the server knows it, newest first (after a restart: a new server has no jobs). Kept oldest first. */
  reset(newestFirst: JobStatus[]): void {
    this.jobs.clear();
    for (const job of [...newestFirst].reverse()) this.jobs.set(job.jobId, job);
    for (const id of this.metrics.keys()) if (!this.jobs.has(id)) this.metrics.delete(id);
    this.update();
  }

  setState(status: JobStatus): void {
    this.jobs.set(status.jobId, status);
    this.update();
  }

  addMetrics(params: MetricsParams): void {
    this.metrics.set(params.jobId, params);
    const job = this.jobs.get(params.jobId);
    if (job) job.iteration = params.metrics.iteration;
    this.metricsArrived.fire(params);
  }

  addSamples(params: SamplesParams): void {
    this.samplesArrived.fire(params);
  }

  /** The job that holds the trainer now, if any (the server runs one at a time per run folder; the newest wins). */
  get active(): JobStatus | undefined {
    return [...this.jobs.values()].reverse().find((j) => takesCommands(j.state));
  }

  /** The newest job of any state, e.g. to show the run that just finished. */
  get latest(): JobStatus | undefined {
    return [...this.jobs.values()].at(-1);
  }

  latestMetrics(jobId: string): MetricsParams | undefined {
    return this.metrics.get(jobId);
  }

  dispose(): void {
    this.changed.dispose();
    this.metricsArrived.dispose();
    this.samplesArrived.dispose();
  }

  private update(): void {
    const active = this.active;
    void vscode.commands.executeCommand('setContext', 'munit.training', active !== undefined);
    void vscode.commands.executeCommand('setContext', 'munit.paused', active?.state === 'paused');
    this.changed.fire();
  }
}

// Work-done progress for each training job: begun with the job, moved on by its metrics, ended with it; cancelling
// it stops the job.
import * as path from 'node:path';
import type { Connection, WorkDoneProgressServerReporter } from 'vscode-languageserver/node';
import { isFinalJob, type JobStatus, type MetricsParams } from './protocol.js';

export class TrainingProgress {
  private readonly reporters = new Map<string, WorkDoneProgressServerReporter>();

  /** `latest`: the job's newest state (it may have ended while the client created the progress). */
  constructor(
    private readonly connection: Connection,
    private readonly latest: (jobId: string) => JobStatus | undefined,
    private readonly stop: (jobId: string) => void,
  ) {}

  async begin(status: JobStatus): Promise<void> {
    const reporter = await this.connection.window.createWorkDoneProgress();
    const latest = this.latest(status.jobId);
    if (!latest || isFinalJob(latest.state)) return reporter.done();
    reporter.begin(`MUNIT: training ${path.basename(status.configPath)}`, 0, `iteration ${status.iteration}/${status.maxIter}`, true);
    reporter.token.onCancellationRequested(() => this.stop(status.jobId));
    this.reporters.set(status.jobId, reporter);
  }

  report(job: JobStatus, { metrics }: MetricsParams): void {
    const total = metrics.losses.loss_gen_total;
    this.reporters
      .get(job.jobId)
      ?.report(Math.floor((100 * metrics.iteration) / job.maxIter), `iteration ${metrics.iteration}/${job.maxIter}, gen loss ${total.toFixed(3)}`);
  }

  done(jobId: string): void {
    this.reporters.get(jobId)?.done();
    this.reporters.delete(jobId);
  }
}

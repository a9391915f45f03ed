// The training jobs as the main thread last heard of them (the engine worker owns them). Each change of state goes
// on to the client: a notification, the job's progress, a message when it failed, fresh code lenses.
import * as path from 'node:path';
import { CodeLensRefreshRequest, type Connection, MessageType, ShowMessageNotification } from 'vscode-languageserver/node';
import type { ClientFeatures } from './client-features.js';
import { isActiveJob, isFinalJob, JobStateChanged, type JobStatus, type MetricsParams } from './protocol.js';
import { TrainingProgress } from './training-progress.js';

export class JobStates {
  private readonly jobs = new Map<string, JobStatus>();
  private readonly progress: TrainingProgress;

  /** `stop`: asks the engine to stop a job (its progress was cancelled). */
  constructor(
    private readonly connection: Connection,
    private readonly client: ClientFeatures,
    stop: (jobId: string) => void,
  ) {
    this.progress = new TrainingProgress(connection, (jobId) => this.jobs.get(jobId), stop);
  }

  /** Jobs that hold the trainer. */
  active(): JobStatus[] {
    return [...this.jobs.values()].filter((j) => isActiveJob(j.state));
  }

  set(status: JobStatus): void {
    const previous = this.jobs.get(status.jobId);
    this.jobs.set(status.jobId, status);
    this.connection.sendNotification(JobStateChanged.type, status);
    if (!previous && this.client.progress) void this.progress.begin(status);
    if (isFinalJob(status.state)) {
      this.progress.done(status.jobId);
      // A notification, not showErrorMessage's request: the client need not answer it.
      if (status.state === 'failed')
        void this.connection.sendNotification(ShowMessageNotification.type, {
          type: MessageType.Error,
          message: `MUNIT training of ${path.basename(status.configPath)} failed: ${status.message ?? 'unknown error'}`,
        });
    }
    // The plain lenses say Train or Stop training: ask the client to fetch them again when that changes.
    if (!this.client.commands && this.client.lensRefresh && isActiveJob(status.state) !== (previous !== undefined && isActiveJob(previous.state))) {
      void this.connection.sendRequest(CodeLensRefreshRequest.type).catch(() => undefined);
    }
  }

  metrics(params: MetricsParams): void {
    const job = this.jobs.get(params.jobId);
    if (job) this.progress.report(job, params);
  }

  /** The engine died: its jobs with it. */
  failActive(reason: string): void {
    for (const job of this.active()) this.set({ ...job, state: 'failed', message: `${reason}; resume from the last checkpoint` });
  }
}

// Hosts the samples panel: the numbered grids already in the run folder, then the live job's grids.
import type * as vscode from 'vscode';
import type { CommandOf, PanelState, RequestHandlers, SamplesContract } from '../../webviews/protocol.js';
import type { MunitContext } from '../context.js';
import { readSampleHistory } from '../run-files.js';
import { PanelHost, PanelSlot, type PanelSource } from './panel-host.js';

export class SamplesHost extends PanelHost<'samples'> {
  protected readonly requests: RequestHandlers<SamplesContract> = {};

  constructor(panel: vscode.WebviewPanel, munit: MunitContext, source: PanelSource) {
    super('samples', panel, munit, source);
    this.disposables.push(
      munit.jobs.onSamples((params) => {
        if (params.runFolder === this.runFolder) this.notify('samples', params);
      }),
    );
  }

  private get runFolder(): string | undefined {
    return this.source.runFolder ?? (this.source.configPath && this.munit.configs.runFolder(this.source.configPath));
  }

  protected async sendState(): Promise<void> {
    const run = this.runFolder;
    const job = this.munit.jobs.latest;
    this.notify('history', { steps: run ? readSampleHistory(run, job?.runFolder === run ? job.jobId : '') : [] });
  }

  protected command(_message: CommandOf<SamplesContract>): void {
    // 'ready' is the panel's only command.
  }
}

export function samplesSlot(munit: MunitContext): PanelSlot<'samples', SamplesHost> {
  return new PanelSlot(
    munit,
    'samples',
    (panel, source) => new SamplesHost(panel, munit, source),
    (panel, state?: PanelState<'samples'>) => new SamplesHost(panel, munit, { runFolder: state?.runFolder }),
  );
}

// Hosts the tuning panel: the running job's loss weights, learning rate and intervals, changed live through
// munit/updateHyperparameters, and style-code previews through munit/translate.
import type * as vscode from 'vscode';
import * as P from '../../server/protocol.js';
import type { CommandOf, RequestHandlers, TuningContract } from '../../webviews/protocol.js';
import type { MunitContext } from '../context.js';
import { PanelHost, PanelSlot, type PanelSource } from './panel-host.js';
import { pickImage } from './pick-image.js';

export class TuningHost extends PanelHost<'tuning'> {
  protected readonly requests: RequestHandlers<TuningContract> = {
    pickImage: () => pickImage(),
    updateHyperparameters: async ({ changes }) => {
      const result = await this.munit.request(P.UpdateHyperparameters.type, { jobId: this.munit.jobs.active?.jobId, changes });
      this.notify('job', { job: this.munit.jobs.active ?? null, settings: result.settings });
      return result;
    },
    translate: (params) => this.munit.request(P.Translate.type, { ...params, ...this.source }),
  };

  constructor(panel: vscode.WebviewPanel, munit: MunitContext, source: PanelSource) {
    super('tuning', panel, munit, source);
    this.disposables.push(munit.jobs.onDidChange(() => void this.sendJob()));
  }

  protected async sendState(): Promise<void> {
    await this.sendJob();
    if (this.source.configPath) this.notify('images', { images: this.munit.configs.testImages(this.source.configPath) });
  }

  protected command(_message: CommandOf<TuningContract>): void {
    // 'ready' is the panel's only command.
  }

  private async sendJob(): Promise<void> {
    const job = this.munit.jobs.active ?? null;
    const settings = job ? await this.munit.request(P.GetHyperparameters.type, { jobId: job.jobId }).catch(() => null) : null;
    this.notify('job', { job, settings });
  }
}

export function tuningSlot(munit: MunitContext): PanelSlot<'tuning', TuningHost> {
  const current = (): PanelSource => ({ configPath: munit.jobs.active?.configPath ?? munit.configs.recent });
  return new PanelSlot(
    munit,
    'tuning',
    (panel, source) => new TuningHost(panel, munit, source),
    (panel) => new TuningHost(panel, munit, current()),
  );
}

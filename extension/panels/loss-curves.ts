// Hosts the loss-curve panel: the history of each shown run from its metrics.jsonl, then its live metrics.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CommandOf, LossCurvesContract, PanelState, RequestHandlers } from '../../webviews/protocol.js';
import type { MunitContext } from '../context.js';
import { readRunHistory } from '../run-files.js';
import { PanelHost, PanelSlot, type PanelSource } from './panel-host.js';

export class LossCurvesHost extends PanelHost<'lossCurves'> {
  /** Run folders drawn, overlaid. */
  private readonly runs = new Set<string>();
  protected readonly requests: RequestHandlers<LossCurvesContract> = {};

  constructor(panel: vscode.WebviewPanel, munit: MunitContext, source: PanelSource, restoredRuns: string[] = []) {
    super('lossCurves', panel, munit, source);
    for (const run of restoredRuns) this.runs.add(run);
    this.addSource(source);
    this.disposables.push(
      munit.jobs.onMetrics((params) => {
        if (this.runs.has(params.runFolder)) this.notify('metrics', params);
      }),
    );
  }

  override setSource(source: PanelSource): void {
    this.addSource(source);
    super.setSource(source);
  }

  protected async sendState(): Promise<void> {
    this.notify('history', { runs: [...this.runs].map(readRunHistory) });
  }

  protected async command(message: CommandOf<LossCurvesContract>): Promise<void> {
    if (message.method === 'addRun') {
      const picked = await vscode.window.showOpenDialog({
        title: 'Add a run to the loss curves',
        openLabel: 'Add run',
        canSelectFiles: true,
        canSelectFolders: true,
        filters: { 'MUNIT metrics': ['jsonl'] },
      });
      if (!picked?.[0]) return;
      const run = picked[0].fsPath.endsWith('.jsonl') ? path.dirname(picked[0].fsPath) : picked[0].fsPath;
      this.runs.add(run);
      this.notify('history', { runs: [readRunHistory(run)] });
    } else if (message.method === 'removeRun') {
      this.runs.delete(message.params.runFolder);
    }
  }

  private addSource(source: PanelSource): void {
    const run = source.runFolder ?? (source.configPath && this.munit.configs.runFolder(source.configPath));
    if (run) this.runs.add(run);
  }
}

export function lossCurvesSlot(munit: MunitContext): PanelSlot<'lossCurves', LossCurvesHost> {
  return new PanelSlot(
    munit,
    'lossCurves',
    (panel, source) => new LossCurvesHost(panel, munit, source),
    (panel, state?: PanelState<'lossCurves'>) => new LossCurvesHost(panel, munit, { runFolder: state?.runFolders[0] }, state?.runFolders),
  );
}

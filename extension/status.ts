// The status bar item: the training job's iteration, speed and total loss while it trains, the server's health
// otherwise (warning colour when it is down). The tooltip lists every loss term and links to the useful commands.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { JobStatus, MetricsParams } from '../server/protocol.js';
import type { MunitContext } from './context.js';

const LINK_COMMANDS = ['munit.stopTraining', 'munit.pauseTraining', 'munit.resumeTraining', 'munit.openLossCurves', 'munit.restartServer', 'munit.showLogs'];

export function registerStatusBar(munit: MunitContext): void {
  const item = vscode.window.createStatusBarItem('munit.status', vscode.StatusBarAlignment.Left, 10);
  item.name = 'MUNIT';
  const update = () => render(item, munit);
  munit.extension.subscriptions.push(item, munit.onDidChangeServerState(update), munit.jobs.onDidChange(update), munit.jobs.onMetrics(update));
  update();
  item.show();
}

function render(item: vscode.StatusBarItem, munit: MunitContext): void {
  const tooltip = new vscode.MarkdownString('', true);
  tooltip.isTrusted = { enabledCommands: LINK_COMMANDS };
  item.backgroundColor = undefined;
  item.command = undefined;
  if (munit.serverState !== 'running') {
    const starting = munit.serverState === 'starting';
    item.text = starting ? '$(loading~spin) MUNIT' : '$(warning) MUNIT';
    if (!starting) item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
    tooltip.appendMarkdown(starting ? 'The MUNIT server is starting.' : 'The MUNIT server is not running.');
    tooltip.appendMarkdown('\n\n[Restart Server](command:munit.restartServer) · [Show Logs](command:munit.showLogs)');
    item.command = starting ? 'munit.showLogs' : 'munit.restartServer';
    item.tooltip = tooltip;
    return;
  }
  const job = munit.jobs.active;
  if (!job) {
    item.text = '$(circuit-board) MUNIT';
    tooltip.appendMarkdown(`MUNIT server ${munit.serverInfo?.version ?? ''} on **${munit.serverInfo?.backend ?? 'unknown backend'}**. No training job.`);
    if (munit.serverInfo?.engine) tooltip.appendMarkdown(`\n\nTraining engine: ${munit.serverInfo.engine}.`);
    tooltip.appendMarkdown('\n\n[Open Loss Curves](command:munit.openLossCurves) · [Show Logs](command:munit.showLogs)');
    item.command = 'munit.startTraining';
    item.tooltip = tooltip;
    return;
  }
  const metrics = munit.jobs.latestMetrics(job.jobId);
  item.text = `${job.state === 'paused' ? '$(debug-pause)' : '$(sync~spin)'} MUNIT ${summary(job, metrics)}`;
  tooltip.appendMarkdown(`**${path.basename(job.runFolder)}** ${job.state}, iteration ${job.iteration} of ${job.maxIter}`);
  if (metrics) tooltip.appendMarkdown(`\n\n${lossTable(metrics)}`);
  const pause = job.state === 'paused' ? '[Resume](command:munit.resumeTraining)' : '[Pause](command:munit.pauseTraining)';
  tooltip.appendMarkdown(`\n\n[Stop](command:munit.stopTraining) · ${pause} · [Open Loss Curves](command:munit.openLossCurves)`);
  item.command = 'munit.openLossCurves';
  item.tooltip = tooltip;
}

/** e.g. `120/20000 · 3.9 it/s · loss 4.213` (the generator's total loss, the one that falls as it learns). */
function summary(job: JobStatus, metrics: MetricsParams | undefined): string {
  if (!metrics) return `${job.state} ${job.iteration}/${job.maxIter}`;
  const { iteration, seconds_per_iter, losses } = metrics.metrics;
  const speed = seconds_per_iter > 0 ? `${(1 / seconds_per_iter).toFixed(seconds_per_iter > 1 ? 2 : 1)} it/s` : '';
  return [`${iteration}/${job.maxIter}`, speed, `loss ${losses.loss_gen_total.toFixed(3)}`].filter(Boolean).join(' · ');
}

function lossTable(metrics: MetricsParams): string {
  const rows = Object.entries(metrics.metrics.losses).map(([term, value]) => `| ${term} | ${value.toPrecision(4)} |`);
  return ['| loss | value |', '|---|---:|', ...rows, `| lr | ${metrics.metrics.lr.toExponential(2)} |`].join('\n');
}

// Hosts the config preview panel: what the config's current (unsaved) text produces, from munit/configPreview,
// refreshed as the text changes (debounced: a preview translates images).
import * as vscode from 'vscode';
import * as P from '../../server/protocol.js';
import type { CommandOf, ConfigPreviewContract, PanelState, RequestHandlers } from '../../webviews/protocol.js';
import type { MunitContext } from '../context.js';
import { PanelHost, PanelSlot, type PanelSource } from './panel-host.js';

const DEBOUNCE_MS = 600;

export class ConfigPreviewHost extends PanelHost<'configPreview'> {
  protected readonly requests: RequestHandlers<ConfigPreviewContract> = {};
  private timer: NodeJS.Timeout | undefined;
  /** Answers to older texts that arrive late are dropped. */
  private generation = 0;

  constructor(panel: vscode.WebviewPanel, munit: MunitContext, source: PanelSource) {
    super('configPreview', panel, munit, source);
    this.disposables.push(
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.uri.fsPath !== this.source.configPath) return;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.refresh(), DEBOUNCE_MS);
      }),
      { dispose: () => clearTimeout(this.timer) },
    );
  }

  protected async sendState(): Promise<void> {
    const configPath = this.source.configPath;
    if (!configPath) return;
    const generation = ++this.generation;
    this.notify('updating', { configPath });
    const document = await vscode.workspace.openTextDocument(vscode.Uri.file(configPath));
    const result = await this.munit.request(P.ConfigPreview.type, { configPath, text: document.getText() });
    if (generation === this.generation) this.notify('preview', { configPath, result });
  }

  protected command(_message: CommandOf<ConfigPreviewContract>): void {
    // 'ready' is the panel's only command.
  }
}

export function configPreviewSlot(munit: MunitContext): PanelSlot<'configPreview', ConfigPreviewHost> {
  return new PanelSlot(
    munit,
    'configPreview',
    (panel, source) => new ConfigPreviewHost(panel, munit, source),
    (panel, state?: PanelState<'configPreview'>) => new ConfigPreviewHost(panel, munit, { configPath: state?.configPath }),
  );
}

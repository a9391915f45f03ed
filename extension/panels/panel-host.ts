// What every panel host shares: the webview panel with its strict content security policy, the typed message
// channel of webviews/protocol.ts (notifications out; commands and requests in, requests answered by id), the
// 'ready' handshake, one panel per kind, and restoring after a window reload from the state the panel saved.
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  answerRequest,
  isRequest,
  type CommandOf,
  type PanelContracts,
  type PanelKind,
  type PanelState,
  type RequestHandlers,
  type WebviewMessage,
} from '../../webviews/protocol.js';
import { panelHtml, panelScriptPath, PANELS, WEBVIEW_ROOT } from '../../webviews/panels.js';
import type { MunitContext } from '../context.js';

/** The model a panel shows: a config (its live job, else its newest checkpoint) or a past run's folder. */
export interface PanelSource {
  configPath?: string;
  runFolder?: string;
}

/** Every open panel, so a new one opens in the column the others are in rather than adding a column each time. */
const openPanels = new Set<vscode.WebviewPanel>();

export abstract class PanelHost<K extends PanelKind> implements vscode.Disposable {
  protected readonly disposables: vscode.Disposable[] = [];
  private readonly disposed = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposed.event;

  constructor(
    readonly kind: K,
    readonly panel: vscode.WebviewPanel,
    protected readonly munit: MunitContext,
    protected source: PanelSource,
  ) {
    const root = munit.extension.extensionUri;
    panel.webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(root, ...WEBVIEW_ROOT)] };
    panel.webview.html = panelHtml({
      cspSource: panel.webview.cspSource,
      nonce: crypto.randomBytes(16).toString('base64'),
      scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(root, ...panelScriptPath(kind))).toString(),
      title: PANELS[kind].title,
    });
    this.updateTitle();
    openPanels.add(panel);
    this.disposables.push(
      { dispose: () => openPanels.delete(panel) },
      panel.webview.onDidReceiveMessage((message: WebviewMessage<PanelContracts[K]>) => this.receive(message)),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  /** Shows another model in the same panel. */
  setSource(source: PanelSource): void {
    this.source = source;
    this.updateTitle();
    this.refresh();
  }

  /** Sends the panel its data again, reporting a failure (e.g. no checkpoint yet) instead of losing it. */
  protected refresh(): void {
    this.sendState().catch((error: unknown) => this.reportError('loading', error));
  }

  /** The run the panel shows, for its title: the run folder's name. */
  protected get runName(): string | undefined {
    const folder = this.source.runFolder ?? (this.source.configPath && this.munit.configs.runFolder(this.source.configPath));
    return folder ? path.basename(folder) : undefined;
  }

  /** Sends the panel everything it shows: on its 'ready', after a reload, and when the source changes. */
  protected abstract sendState(): Promise<void>;

  /** The panel's own commands besides 'ready'. */
  protected abstract command(message: CommandOf<PanelContracts[K]>): void | Promise<void>;

  protected abstract readonly requests: RequestHandlers<PanelContracts[K]>;

  protected notify<M extends keyof PanelContracts[K]['notifications'] & string>(method: M, params: PanelContracts[K]['notifications'][M]): void {
    void this.panel.webview.postMessage({ method, params });
  }

  dispose(): void {
    this.disposed.fire();
    this.disposed.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }

  protected reportError(what: string, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.munit.output.error(`${PANELS[this.kind].title}: ${what}: ${message}`);
    void vscode.window.showErrorMessage(`MUNIT ${PANELS[this.kind].title}: ${what}: ${message}`);
  }

  private updateTitle(): void {
    const run = this.runName;
    this.panel.title = run ? `${PANELS[this.kind].title}: ${run}` : PANELS[this.kind].title;
  }

  private async receive(message: WebviewMessage<PanelContracts[K]>): Promise<void> {
    try {
      if (isRequest(message)) {
        void this.panel.webview.postMessage(await answerRequest(message, this.requests));
      } else if (message.method === 'ready') {
        await this.sendState();
      } else {
        await this.command(message);
      }
    } catch (error) {
      this.reportError(message.method, error);
    }
  }
}

/** The one panel of a kind: shown with a source (a new panel, or the open one switched to it), and restored after a
 * reload from the state the panel saved (e.g. its run folder). */
export class PanelSlot<K extends PanelKind, H extends PanelHost<K>> {
  private current: H | undefined;

  constructor(
    munit: MunitContext,
    private readonly kind: K,
    private readonly create: (panel: vscode.WebviewPanel, source: PanelSource) => H,
    restore: (panel: vscode.WebviewPanel, state: PanelState<K> | undefined) => H,
  ) {
    munit.extension.subscriptions.push(
      vscode.window.registerWebviewPanelSerializer(PANELS[kind].viewType, {
        deserializeWebviewPanel: async (panel: vscode.WebviewPanel, state: unknown) => {
          this.adopt(restore(panel, (state ?? undefined) as PanelState<K> | undefined));
        },
      }),
      { dispose: () => this.current?.dispose() },
    );
  }

  show(source: PanelSource): H {
    if (this.current) {
      this.current.setSource(source);
      this.current.panel.reveal(undefined, true);
      return this.current;
    }
    const column = [...openPanels].find((p) => p.viewColumn !== undefined)?.viewColumn ?? vscode.ViewColumn.Beside;
    const panel = vscode.window.createWebviewPanel(PANELS[this.kind].viewType, PANELS[this.kind].title, { viewColumn: column, preserveFocus: true });
    return this.adopt(this.create(panel, source));
  }

  private adopt(host: H): H {
    this.current?.dispose();
    this.current = host;
    host.onDidDispose(() => {
      if (this.current === host) this.current = undefined;
    });
    return host;
  }
}

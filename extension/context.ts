// The one object the extension is: it owns the language client (recreated when the server must restart with new
// settings), the log channel, the jobs, the status bar, the panels, and everything they registered.
import * as vscode from 'vscode';
import { State, type LanguageClient, type RequestParam, type RequestType } from 'vscode-languageclient/node';
import * as P from '../server/protocol.js';
import { createClient } from './client.js';
import { Configs } from './configs.js';
import { Jobs } from './jobs.js';
import { createPanels, type Panels } from './panels/panels.js';
import { readSettings, RESTART_SETTINGS } from './settings.js';

export type ServerState = 'starting' | 'running' | 'stopped';

export class MunitContext implements vscode.Disposable {
  readonly output = vscode.window.createOutputChannel('MUNIT', { log: true });
  readonly jobs = new Jobs();
  readonly configs: Configs;
  readonly panels: Panels;
  private client: LanguageClient | undefined;
  /** Handlers of the current client; replaced with it. */
  private clientSubscriptions: vscode.Disposable[] = [];
  private readonly stateChanged = new vscode.EventEmitter<ServerState>();
  readonly onDidChangeServerState = this.stateChanged.event;
  serverState: ServerState = 'stopped';
  serverInfo: P.MunitServerInfo | undefined;

  constructor(readonly extension: vscode.ExtensionContext) {
    this.configs = new Configs(extension.workspaceState);
    this.panels = createPanels(this);
    extension.subscriptions.push(this, this.output, this.jobs, this.stateChanged);
    extension.subscriptions.push(vscode.workspace.onDidChangeConfiguration((e) => this.onSettingsChanged(e)));
  }

  /** Starts the server with the current settings, replacing a running one. */
  async startServer(): Promise<void> {
    await this.stopServer();
    const client = createClient(this.extension.extensionUri, this.output, readSettings());
    this.client = client;
    this.clientSubscriptions = [
      client.onDidChangeState(({ newState }) => this.onClientState(client, newState)),
      client.onNotification(P.JobStateChanged.type, (status) => this.jobs.setState(status)),
      client.onNotification(P.Metrics.type, (params) => this.jobs.addMetrics(params)),
      client.onNotification(P.Samples.type, (params) => this.jobs.addSamples(params)),
    ];
    await client.start();
  }

  async stopServer(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    for (const d of this.clientSubscriptions) d.dispose();
    this.clientSubscriptions = [];
    // A server busy in a training step answers shutdown after the step; do not wait for ever on a stuck one.
    await client?.dispose(10_000).catch((error: unknown) => this.output.warn(`Stopping the server: ${String(error)}`));
    this.setServerState('stopped');
  }

  /** Sends a `munit/*` request, starting the server first if it is not running. */
  async request<P, R>(type: RequestType<P, R, void>, params: NoInfer<RequestParam<P>>): Promise<R> {
    if (!this.client || this.client.state === State.Stopped || this.client.state === State.StartFailed) await this.startServer();
    return this.client!.sendRequest(type, params);
  }

  dispose(): void {
    void this.stopServer();
  }

  private onClientState(client: LanguageClient, state: State): void {
    if (client !== this.client) return;
    if (state === State.Running) {
      this.serverInfo = (client.initializeResult as { munit?: P.MunitServerInfo } | undefined)?.munit;
      this.output.info(
        `MUNIT server running: ${this.serverInfo ? `${this.serverInfo.backend}, version ${this.serverInfo.version}; training engine: ${this.serverInfo.engine}` : 'no server info'}`,
      );
      // A (re)started server has its own job list: none, or the ones it kept running.
      client.sendRequest(P.ListJobs.type, undefined).then(
        (jobs) => this.jobs.reset(jobs),
        (error: unknown) => this.output.error(`munit/listJobs failed: ${String(error)}`),
      );
    } else if (state !== State.Starting) {
      this.jobs.reset([]);
    }
    this.setServerState(state === State.Running ? 'running' : state === State.Starting ? 'starting' : 'stopped');
  }

  private setServerState(state: ServerState): void {
    this.serverState = state;
    void vscode.commands.executeCommand('setContext', 'munit.serverRunning', state === 'running');
    this.stateChanged.fire(state);
  }

  private onSettingsChanged(e: vscode.ConfigurationChangeEvent): void {
    if (!RESTART_SETTINGS.some((s) => e.affectsConfiguration(s)) || !this.client) return;
    const training = this.jobs.active ? ' It stops the running training job after saving a checkpoint.' : '';
    void vscode.window
      .showInformationMessage(`The MUNIT server uses the new backend and heap size after a restart.${training}`, 'Restart now')
      .then((choice) => choice && this.startServer());
  }
}

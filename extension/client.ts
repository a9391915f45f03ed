// The language client that starts the bundled MUNIT server (dist/server.js) over Node IPC and restarts it when it
// crashes, at most MAX_RESTARTS times in RESTART_WINDOW_MS, so a server that dies at start-up does not loop forever.
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  RevealOutputChannelOn,
  TransportKind,
  type CloseHandlerResult,
  type ErrorHandler,
  type ErrorHandlerResult,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import { BACKEND_ENV } from '../munit-core/backend-choices.js';
import { ENGINE_ENV, PROVIDER_ENV } from '../munit-core/onnx/engine-names.js';
import type { MunitSettings } from './settings.js';

/** Also the prefix of the `munit.trace.server` setting, which vscode-languageclient reads by the client's id. */
export const CLIENT_ID = 'munit';
const MAX_RESTARTS = 4;
const RESTART_WINDOW_MS = 3 * 60_000;

export function createClient(extensionUri: vscode.Uri, output: vscode.LogOutputChannel, settings: MunitSettings): LanguageClient {
  const module = vscode.Uri.joinPath(extensionUri, 'dist', 'server.js').fsPath;
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (settings.backend !== 'auto') env[BACKEND_ENV] = settings.backend;
  if (settings.engine !== 'auto') env[ENGINE_ENV] = settings.engine;
  if (settings.onnxProvider !== 'auto') env[PROVIDER_ENV] = settings.onnxProvider;
  const serverOptions: ServerOptions = {
    module,
    transport: TransportKind.ipc,
    options: { execArgv: [`--max-old-space-size=${settings.maxHeapMB}`], env },
  };
  const clientOptions: LanguageClientOptions = {
    // Any YAML file may be a MUNIT config; the server looks at the text and answers only for configs.
    documentSelector: [
      { scheme: 'file', language: 'yaml' },
      { scheme: 'untitled', language: 'yaml' },
    ],
    outputChannel: output,
    traceOutputChannel: output,
    // The log is there when asked for (MUNIT: Show Logs); failures get their own notifications.
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    // clientCommands: this extension registers the code lenses' commands and shows codicons.
    initializationOptions: { outputFolder: settings.outputFolder, clientCommands: true },
    // The server follows munit.outputFolder through workspace/didChangeConfiguration.
    synchronize: { configurationSection: CLIENT_ID },
    errorHandler: new RestartingErrorHandler(),
  };
  return new LanguageClient(CLIENT_ID, 'MUNIT server', serverOptions, clientOptions);
}

/** Restarts a server that went away on its own, with a message saying so; gives up after too many crashes. */
class RestartingErrorHandler implements ErrorHandler {
  private readonly restarts: number[] = [];

  error(): ErrorHandlerResult {
    // A broken message is not a reason to stop the server; a dead server is handled by closed().
    return { action: ErrorAction.Continue, handled: true };
  }

  closed(): CloseHandlerResult {
    const now = Date.now();
    while (this.restarts.length > 0 && now - this.restarts[0] > RESTART_WINDOW_MS) this.restarts.shift();
    if (this.restarts.length >= MAX_RESTARTS) {
      const minutes = RESTART_WINDOW_MS / 60_000;
      void vscode.window
        .showErrorMessage(`The MUNIT server stopped ${MAX_RESTARTS + 1} times in ${minutes} minutes and will not be restarted.`, 'Show Logs', 'Restart Server')
        .then((choice) => choice && vscode.commands.executeCommand(choice === 'Show Logs' ? 'munit.showLogs' : 'munit.restartServer'));
      return { action: CloseAction.DoNotRestart, handled: true };
    }
    this.restarts.push(now);
    void vscode.window
      .showWarningMessage(
        'The MUNIT server stopped unexpectedly and is being restarted. Training since the last checkpoint is lost; resume it with MUNIT: Start Training.',
        'Show Logs',
      )
      .then((choice) => choice && vscode.commands.executeCommand('munit.showLogs'));
    return { action: CloseAction.Restart, handled: true };
  }
}

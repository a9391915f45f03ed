// The MUNIT language server: config files as a language on the main thread, everything with tensors in the engine
// worker, and the `munit/*` requests (protocol.ts) between the two.
import * as path from 'node:path';
import {
  CodeActionKind, Connection, InitializeResult, MessageType, ResponseError, ShowMessageNotification, TextDocuments, TextDocumentSyncKind, WorkDoneProgressServerReporter,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import * as configLanguage from './config-language.js';
import { Engine } from './engine.js';
import type { EngineEvent } from './engine-messages.js';
import * as P from './protocol.js';
import { Workspace } from './workspace.js';

const { version } = require('../package.json') as { version: string };

/** LSP's "request failed" code: the request was valid but could not be carried out. */
const REQUEST_FAILED = -32803;

export function startServer(connection: Connection): void {
  const documents = new TextDocuments(TextDocument);
  const workspace = new Workspace();
  const progress = new Map<string, WorkDoneProgressServerReporter>();
  const jobs = new Map<string, P.JobStatus>();
  let supportsProgress = false;

  const engine = new Engine((e) => onEngineEvent(e));

  function onEngineEvent(e: Exclude<EngineEvent, { event: 'ready' }>): void {
    switch (e.event) {
      case 'metrics': {
        connection.sendNotification(P.Metrics.type, e.params);
        const job = jobs.get(e.params.jobId);
        const total = e.params.metrics.losses.loss_gen_total;
        if (job) progress.get(job.jobId)?.report(Math.floor((100 * e.params.metrics.iteration) / job.maxIter), `iteration ${e.params.metrics.iteration}/${job.maxIter}, gen loss ${total.toFixed(3)}`);
        break;
      }
      case 'samples':
        connection.sendNotification(P.Samples.type, e.params);
        break;
      case 'jobState':
        onJobState(e.params);
        break;
      case 'log':
        connection.console[e.level === 'warn' ? 'warn' : e.level](e.message);
        break;
      case 'crashed':
        connection.console.error(e.restarting ? `${e.reason}; starting a new engine. Training since the last checkpoint is lost: resume from it.` : e.reason);
        for (const job of jobs.values()) {
          if (['starting', 'running', 'paused', 'stopping'].includes(job.state)) onJobState({ ...job, state: 'failed', message: `${e.reason}; resume from the last checkpoint` });
        }
        break;
    }
  }

  function onJobState(status: P.JobStatus): void {
    const first = !jobs.has(status.jobId);
    jobs.set(status.jobId, status);
    connection.sendNotification(P.JobStateChanged.type, status);
    if (first && supportsProgress) void beginProgress(status);
    if (['finished', 'stopped', 'failed'].includes(status.state)) {
      progress.get(status.jobId)?.done();
      progress.delete(status.jobId);
      // A notification, not showErrorMessage's request: the client need not answer it.
      if (status.state === 'failed') void connection.sendNotification(ShowMessageNotification.type, { type: MessageType.Error, message: `MUNIT training of ${path.basename(status.configPath)} failed: ${status.message ?? 'unknown error'}` });
    }
  }

  async function beginProgress(status: P.JobStatus): Promise<void> {
    const reporter = await connection.window.createWorkDoneProgress();
    const latest = jobs.get(status.jobId);
    if (!latest || ['finished', 'stopped', 'failed'].includes(latest.state)) return reporter.done();
    reporter.begin(`MUNIT: training ${path.basename(status.configPath)}`, 0, `iteration ${status.iteration}/${status.maxIter}`, true);
    reporter.token.onCancellationRequested(() => void engine.request('stopTraining', { jobId: status.jobId }).catch(() => undefined));
    progress.set(status.jobId, reporter);
  }

  /** Wraps a handler so every failure becomes an LSP error response with a readable message. */
  function handle<T, R>(fn: (params: T) => Promise<R> | R): (params: T) => Promise<R> {
    return async (params: T) => {
      try {
        return await fn(params);
      } catch (err) {
        throw new ResponseError(REQUEST_FAILED, (err as Error).message);
      }
    };
  }

  /** Checks the paths of a model request and adds the output folder the engine needs. */
  function withSource<T extends P.ModelSource>(params: T): T & { outputPath: string } {
    if (!params || (params.configPath === undefined && params.runFolder === undefined)) throw new Error('name the model: configPath or runFolder');
    const configPath = params.configPath === undefined ? undefined : workspace.check(params.configPath, 'configPath');
    const runFolder = params.runFolder === undefined ? undefined : workspace.check(params.runFolder, 'runFolder');
    const outputPath = configPath ? workspace.outputPathFor(configPath) : path.dirname(runFolder!);
    return { ...params, configPath, runFolder, outputPath };
  }

  connection.onInitialize(async (params): Promise<InitializeResult & { munit: P.MunitServerInfo }> => {
    const folders = params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : []);
    workspace.setFolders(folders);
    supportsProgress = params.capabilities.window?.workDoneProgress === true;
    const options = params.initializationOptions as { outputFolder?: string } | undefined;
    if (options?.outputFolder) workspace.outputFolder = options.outputFolder;
    const backend = await engine.backend();
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        completionProvider: { triggerCharacters: [':', ' '] },
        codeLensProvider: { resolveProvider: false },
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
      },
      serverInfo: { name: 'munit-server', version },
      munit: { backend, version },
    };
  });

  connection.onInitialized(() => {
    connection.console.info(`MUNIT server ${version} ready; workspace: ${workspace.folders.join(', ') || '(none)'}`);
  });

  connection.onDidChangeConfiguration((change) => {
    const settings = (change.settings as { munit?: { outputFolder?: string } } | undefined)?.munit;
    if (settings?.outputFolder) workspace.outputFolder = settings.outputFolder;
  });

  // ---- config files as a language ----
  const pendingValidation = new Map<string, NodeJS.Timeout>();
  const isConfig = (doc: TextDocument | undefined): doc is TextDocument => doc !== undefined && configLanguage.isMunitConfig(doc.getText());
  documents.onDidChangeContent(({ document }) => {
    clearTimeout(pendingValidation.get(document.uri));
    pendingValidation.set(document.uri, setTimeout(() => {
      pendingValidation.delete(document.uri);
      const current = documents.get(document.uri);
      if (!current) return;
      const diagnostics = isConfig(current) ? configLanguage.diagnostics(current) : [];
      void connection.sendDiagnostics({ uri: current.uri, version: current.version, diagnostics });
    }, 150));
  });
  documents.onDidClose(({ document }) => void connection.sendDiagnostics({ uri: document.uri, diagnostics: [] }));
  connection.onHover(({ textDocument, position }) => {
    const doc = documents.get(textDocument.uri);
    return isConfig(doc) ? configLanguage.hover(doc, position) : null;
  });
  connection.onCompletion(({ textDocument, position }) => {
    const doc = documents.get(textDocument.uri);
    return isConfig(doc) ? configLanguage.completion(doc, position) : [];
  });
  connection.onCodeLens(({ textDocument }) => {
    const doc = documents.get(textDocument.uri);
    return isConfig(doc) && textDocument.uri.startsWith('file:') ? configLanguage.codeLenses(doc) : [];
  });
  connection.onCodeAction(({ textDocument, context }) => configLanguage.codeActions(textDocument.uri, context.diagnostics));

  // ---- munit/* ----
  connection.onRequest(P.StartTraining.type, handle((params) => {
    const configPath = workspace.check(params?.configPath, 'configPath');
    return engine.request('startTraining', { ...params, configPath, outputPath: params.outputPath ? workspace.check(params.outputPath, 'outputPath') : workspace.outputPathFor(configPath) });
  }));
  connection.onRequest(P.StopTraining.type, handle((params) => engine.request('stopTraining', params ?? {})));
  connection.onRequest(P.PauseTraining.type, handle((params) => engine.request('pauseTraining', params ?? {})));
  connection.onRequest(P.ResumeTraining.type, handle((params) => engine.request('resumeTraining', params ?? {})));
  connection.onRequest(P.ListJobs.type, handle(() => engine.request('listJobs', undefined)));
  connection.onRequest(P.GetHyperparameters.type, handle((params) => engine.request('getHyperparameters', params ?? {})));
  connection.onRequest(P.UpdateHyperparameters.type, handle((params) => engine.request('updateHyperparameters', params)));
  connection.onRequest(P.Architecture.type, handle((params) => engine.request('architecture', withSource(params))));
  connection.onRequest(P.Translate.type, handle((params) => {
    const checked = withSource(params);
    checked.image = workspace.check(params.image, 'image');
    if (params.style?.kind === 'example') checked.style = { ...params.style, image: workspace.check(params.style.image, 'style.image') };
    else if (!params.style) throw new Error('style: give {kind: "random", count}, {kind: "vector", values} or {kind: "example", image}');
    return engine.request('translate', checked);
  }));
  connection.onRequest(P.GetActivations.type, handle((params) => {
    const checked = withSource(params);
    checked.image = workspace.check(params.image, 'image');
    if (typeof params.nodeId !== 'string') throw new Error('nodeId: expected a node id from munit/architecture');
    return engine.request('activations', checked);
  }));
  connection.onRequest(P.ConfigPreview.type, handle((params) => {
    const configPath = workspace.check(params?.configPath, 'configPath');
    if (typeof params.text !== 'string') throw new Error('text: expected the config text');
    return engine.request('configPreview', { ...params, configPath, outputPath: workspace.outputPathFor(configPath) });
  }));
  connection.onRequest(P.CreateDemoProject.type, handle((params) => engine.request('createDemoProject', { folder: workspace.check(params?.folder, 'folder') })));

  connection.onRequest(P.ImportRun.type, handle((params) => {
    const source = workspace.check(params?.source, 'source');
    const configPath = params.configPath === undefined ? undefined : workspace.check(params.configPath, 'configPath');
    const logs = params.logs === undefined ? undefined : workspace.check(params.logs, 'logs');
    return engine.request('importRun', { source, configPath, logs, outputPath: workspace.outputPathFor(configPath ?? source) });
  }));

  connection.onShutdown(async () => {
    // Stop a running job cleanly so its last iterations are saved, then let the worker go.
    const running = [...jobs.values()].filter((j) => ['running', 'paused', 'starting'].includes(j.state));
    await Promise.all(running.map((j) => engine.request('stopTraining', { jobId: j.jobId }).catch(() => undefined)));
    await engine.close();
  });
  connection.onExit(() => process.exit(0));

  documents.listen(connection);
  connection.listen();
}

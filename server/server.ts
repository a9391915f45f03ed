// The MUNIT language server: config files as a language on the main thread, everything with tensors in the engine
// worker, and the `munit/*` requests (protocol.ts) between the two. Every handler is wrapped: a failure in a language
// feature is logged and answered empty, a failed request is an error response; none can end the process.
import * as path from 'node:path';
import {
  CodeActionKind, CodeLensRefreshRequest, Connection, Diagnostic, DiagnosticSeverity, InitializeResult, MessageType, Range, ResponseError,
  ShowMessageNotification, TextDocuments, TextDocumentSyncKind, WorkDoneProgressServerReporter, WorkspaceFolder,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import * as configLanguage from './config-language.js';
import { Engine } from './engine.js';
import type { EngineEvent } from './engine-messages.js';
import { numbers, oneOf, optionalBoolean, optionalString, ParamsError, Params, paramsOf, requiredString, styleChoice } from './params.js';
import * as P from './protocol.js';
import { uriToPath, Workspace } from './workspace.js';

const { version } = require('../package.json') as { version: string };

/** LSP's "request failed" code: the request was valid but could not be carried out. */
const REQUEST_FAILED = -32803;
const ACTIVE: readonly P.JobState[] = ['starting', 'running', 'paused', 'stopping'];
const DOMAINS = ['a', 'b'] as const;

const describe = (err: unknown) => (err instanceof Error ? err.stack ?? err.message : String(err));

export function startServer(connection: Connection): void {
  const documents = new TextDocuments(TextDocument);
  const workspace = new Workspace();
  const progress = new Map<string, WorkDoneProgressServerReporter>();
  const jobs = new Map<string, P.JobStatus>();
  let folderUris: string[] = [];
  let supportsProgress = false;
  let clientCommands = false;
  let lensRefresh = false;

  const engine = new Engine((e) => onEngineEvent(e), () => workspace.folders);

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
          if (ACTIVE.includes(job.state)) onJobState({ ...job, state: 'failed', message: `${e.reason}; resume from the last checkpoint` });
        }
        break;
    }
  }

  function onJobState(status: P.JobStatus): void {
    const previous = jobs.get(status.jobId);
    jobs.set(status.jobId, status);
    connection.sendNotification(P.JobStateChanged.type, status);
    if (!previous && supportsProgress) void beginProgress(status);
    if (['finished', 'stopped', 'failed'].includes(status.state)) {
      progress.get(status.jobId)?.done();
      progress.delete(status.jobId);
      // A notification, not showErrorMessage's request: the client need not answer it.
      if (status.state === 'failed') void connection.sendNotification(ShowMessageNotification.type, { type: MessageType.Error, message: `MUNIT training of ${path.basename(status.configPath)} failed: ${status.message ?? 'unknown error'}` });
    }
    // The plain lenses say Train or Stop training: ask the client to fetch them again when that changes.
    if (!clientCommands && lensRefresh && ACTIVE.includes(status.state) !== (previous !== undefined && ACTIVE.includes(previous.state))) {
      void connection.sendRequest(CodeLensRefreshRequest.type).catch(() => undefined);
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

  /** A language feature: a failure is logged and answered with `empty`, as if there were nothing to say. */
  function feature<T, R>(name: string, empty: R, fn: (params: T) => R): (params: T) => R {
    return (params: T) => {
      try {
        return fn(params);
      } catch (err) {
        const uri = (params as { textDocument?: { uri?: unknown } } | undefined)?.textDocument?.uri;
        connection.console.error(`${name} failed${typeof uri === 'string' ? ` for ${uri}` : ''}: ${describe(err)}`);
        return empty;
      }
    };
  }

  /** A failure as an error response: bad params keep their code, anything else is "request failed" with its message. */
  function asResponseError(err: unknown): ResponseError<void> {
    return err instanceof ResponseError ? err : new ResponseError(REQUEST_FAILED, err instanceof Error ? err.message : String(err));
  }

  /**
   * Registers a munit/* request by its method name, so params are optional on the wire when `allOptional` (a typed
   * registration would refuse a request without params), and checks them here with readable messages.
   */
  function onMunit(type: { method: string }, allOptional: boolean, fn: (params: Params) => Promise<unknown> | unknown): void {
    connection.onRequest(type.method, async (raw: unknown): Promise<unknown> => {
      try {
        return await fn(paramsOf(type.method, raw, allOptional));
      } catch (err) {
        throw asResponseError(err);
      }
    });
  }

  const jobParams = (p: Params): P.JobParams => {
    const jobId = optionalString(p, 'jobId');
    return jobId === undefined ? {} : { jobId };
  };

  /** The model a request names, its paths checked, with the output folder the engine needs. */
  function modelSource(p: Params): P.ModelSource & { outputPath: string } {
    const configPath = optionalString(p, 'configPath');
    const runFolder = optionalString(p, 'runFolder');
    if (configPath === undefined && runFolder === undefined) throw new ParamsError('name the model: configPath or runFolder');
    const checkedConfig = configPath === undefined ? undefined : workspace.check(configPath, 'configPath');
    const checkedRun = runFolder === undefined ? undefined : workspace.check(runFolder, 'runFolder');
    const outputPath = checkedConfig ? workspace.outputPathFor(checkedConfig) : path.dirname(checkedRun!);
    return { configPath: checkedConfig, runFolder: checkedRun, outputPath };
  }

  function startTraining(p: Params): Promise<P.JobStatus> {
    const configPath = workspace.check(requiredString(p, 'configPath'), 'configPath');
    const resume = optionalBoolean(p, 'resume');
    const outputPath = optionalString(p, 'outputPath');
    return engine.request('startTraining', { configPath, resume, outputPath: outputPath === undefined ? workspace.outputPathFor(configPath) : workspace.check(outputPath, 'outputPath') });
  }

  function setOutputFolder(value: unknown, from: string): void {
    if (value === undefined) return;
    if (typeof value !== 'string' || value.trim() === '') {
      connection.console.warn(`${from}: munit.outputFolder must be a folder path, got ${JSON.stringify(value)}; keeping ${JSON.stringify(workspace.outputFolder)}`);
      return;
    }
    workspace.outputFolder = value;
  }

  function setFolders(uris: string[]): void {
    folderUris = uris;
    const refused = workspace.setFolders(uris);
    if (refused.length > 0) connection.console.warn(`workspace folders that are not local folders are not used: ${refused.join(', ')}`);
  }

  connection.onInitialize(async (params): Promise<InitializeResult & { munit: P.MunitServerInfo }> => {
    setFolders(params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : []));
    supportsProgress = params.capabilities?.window?.workDoneProgress === true;
    lensRefresh = params.capabilities?.workspace?.codeLens?.refreshSupport === true;
    const options = params.initializationOptions as P.InitializationOptions | undefined;
    clientCommands = options?.clientCommands === true;
    setOutputFolder(options?.outputFolder, 'initializationOptions');
    const { backend, engine: trainingEngine } = await engine.backend();
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        completionProvider: { triggerCharacters: [':', ' '] },
        codeLensProvider: { resolveProvider: false },
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
        executeCommandProvider: { commands: Object.values(P.SERVER_COMMANDS) },
        // Folders the user adds to the workspace become places the server may read and write.
        workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
      },
      serverInfo: { name: 'munit-server', version },
      munit: { backend, engine: trainingEngine, version },
    };
  });

  connection.onInitialized(() => {
    connection.console.info(`MUNIT server ${version} ready; workspace: ${workspace.folders.join(', ') || '(none)'}`);
    try {
      connection.workspace.onDidChangeWorkspaceFolders(({ added, removed }) => {
        const gone = new Set(removed.map((f: WorkspaceFolder) => f.uri));
        setFolders([...folderUris.filter((u) => !gone.has(u)), ...added.map((f: WorkspaceFolder) => f.uri)]);
        connection.console.info(`workspace: ${workspace.folders.join(', ') || '(none)'}`);
      });
    } catch {
      // The client does not send workspace folder changes: the folders stay those of initialize.
    }
  });

  connection.onDidChangeConfiguration((change) => {
    // munit.outputFolder is machine-scoped in the extension: a repository's .vscode/settings.json cannot set it.
    const settings = (change?.settings as { munit?: { outputFolder?: unknown } } | undefined)?.munit;
    setOutputFolder(settings?.outputFolder, 'settings');
  });

  // ---- config files as a language ----
  const pendingValidation = new Map<string, NodeJS.Timeout>();
  const isConfig = (doc: TextDocument | undefined): doc is TextDocument => doc !== undefined && configLanguage.isMunitConfig(doc.getText());

  /** Publishes a document's diagnostics; if computing them fails, one diagnostic says so instead. */
  function validate(uri: string): void {
    const doc = documents.get(uri);
    if (!doc) return;
    let diagnostics: Diagnostic[];
    try {
      diagnostics = isConfig(doc) ? configLanguage.diagnostics(doc, workspace.guard) : [];
    } catch (err) {
      connection.console.error(`checking ${uri} failed: ${describe(err)}`);
      const message = `MUNIT could not check this file: ${err instanceof Error ? err.message : String(err)} (details in the MUNIT server log)`;
      diagnostics = [{ range: Range.create(0, 0, 0, 0), severity: DiagnosticSeverity.Error, source: 'munit', message }];
    }
    void connection.sendDiagnostics({ uri: doc.uri, version: doc.version, diagnostics });
  }

  documents.onDidChangeContent(({ document }) => {
    clearTimeout(pendingValidation.get(document.uri));
    pendingValidation.set(document.uri, setTimeout(() => {
      pendingValidation.delete(document.uri);
      validate(document.uri);
    }, 150));
  });
  documents.onDidClose(({ document }) => {
    clearTimeout(pendingValidation.get(document.uri));
    pendingValidation.delete(document.uri);
    void connection.sendDiagnostics({ uri: document.uri, diagnostics: [] });
  });
  connection.onHover(feature('hover', null, ({ textDocument, position }) => {
    const doc = documents.get(textDocument.uri);
    return isConfig(doc) ? configLanguage.hover(doc, position) : null;
  }));
  connection.onCompletion(feature('completion', [], ({ textDocument, position }) => {
    const doc = documents.get(textDocument.uri);
    return isConfig(doc) ? configLanguage.completion(doc, position) : [];
  }));
  connection.onCodeLens(feature('code lenses', [], ({ textDocument }) => {
    const doc = documents.get(textDocument.uri);
    const file = uriToPath(textDocument.uri);
    // Lenses only for configs on disk inside the workspace: training anything else is refused.
    if (!isConfig(doc) || file === undefined || workspace.guard.refusal(file) !== undefined) return [];
    const configPath = workspace.check(file, 'config');
    const activeJob = [...jobs.values()].find((j) => j.configPath === configPath && ACTIVE.includes(j.state))?.jobId;
    return configLanguage.codeLenses(configPath, { clientCommands, activeJob });
  }));
  connection.onCodeAction(feature('code actions', [], ({ textDocument, context }) => configLanguage.codeActions(textDocument.uri, context.diagnostics)));

  connection.onExecuteCommand(async ({ command, arguments: args }) => {
    try {
      const [arg] = Array.isArray(args) ? args : [];
      switch (command) {
        case P.SERVER_COMMANDS.startTraining: {
          if (typeof arg !== 'string') throw new ParamsError(`${command}: expected the config file's path as its argument, got ${JSON.stringify(arg)}`);
          const status = await startTraining({ configPath: arg, resume: true });
          void connection.sendNotification(ShowMessageNotification.type, { type: MessageType.Info, message: `MUNIT: training ${path.basename(status.configPath)} (${status.jobId}) from iteration ${status.iteration} into ${status.runFolder}` });
          return status;
        }
        case P.SERVER_COMMANDS.stopTraining:
          if (typeof arg !== 'string') throw new ParamsError(`${command}: expected a job id as its argument, got ${JSON.stringify(arg)}`);
          return await engine.request('stopTraining', { jobId: arg });
        default:
          throw new ParamsError(`unknown command ${JSON.stringify(command)}; the MUNIT server has ${Object.values(P.SERVER_COMMANDS).join(', ')}`);
      }
    } catch (err) {
      throw asResponseError(err);
    }
  });

  // ---- munit/* ----
  onMunit(P.StartTraining, false, startTraining);
  onMunit(P.StopTraining, true, (p) => engine.request('stopTraining', jobParams(p)));
  onMunit(P.PauseTraining, true, (p) => engine.request('pauseTraining', jobParams(p)));
  onMunit(P.ResumeTraining, true, (p) => engine.request('resumeTraining', jobParams(p)));
  onMunit(P.ListJobs, true, () => engine.request('listJobs', undefined));
  onMunit(P.GetHyperparameters, true, (p) => engine.request('getHyperparameters', jobParams(p)));
  onMunit(P.UpdateHyperparameters, false, (p) => {
    const changes = p.changes;
    if (typeof changes !== 'object' || changes === null || Array.isArray(changes)) throw new ParamsError(`changes: expected an object of settings, e.g. {"lr": 0.0001}, got ${JSON.stringify(changes)}`);
    return engine.request('updateHyperparameters', { ...jobParams(p), changes: changes as Partial<P.TunableSettings> });
  });
  onMunit(P.Architecture, false, (p) => engine.request('architecture', { ...modelSource(p), domain: oneOf(p, 'domain', DOMAINS) }));
  onMunit(P.Translate, false, (p) => {
    const direction = oneOf(p, 'direction', ['a2b', 'b2a'] as const);
    if (direction === undefined) throw new ParamsError('direction: required; use "a2b" or "b2a"');
    const style = styleChoice(p);
    const image = workspace.check(requiredString(p, 'image'), 'image');
    const checkedStyle = style.kind === 'example' ? { ...style, image: workspace.check(style.image, 'style.image') } : style;
    return engine.request('translate', { ...modelSource(p), image, direction, style: checkedStyle });
  });
  onMunit(P.GetActivations, false, (p) => {
    const nodeId = optionalString(p, 'nodeId');
    if (nodeId === undefined) throw new ParamsError('nodeId: required; a node id from munit/architecture');
    const style = p.style === undefined ? undefined : numbers(p.style, 'style');
    const image = workspace.check(requiredString(p, 'image'), 'image');
    return engine.request('activations', { ...modelSource(p), image, nodeId, domain: oneOf(p, 'domain', DOMAINS), style });
  });
  onMunit(P.ConfigPreview, false, (p) => {
    const text = optionalString(p, 'text');
    if (text === undefined) throw new ParamsError('text: required; the config text');
    const configPath = workspace.check(requiredString(p, 'configPath'), 'configPath');
    return engine.request('configPreview', { configPath, text, outputPath: workspace.outputPathFor(configPath) });
  });
  onMunit(P.CreateDemoProject, false, (p) => engine.request('createDemoProject', { folder: workspace.check(requiredString(p, 'folder'), 'folder') }));
  onMunit(P.ImportRun, false, (p) => {
    const source = workspace.check(requiredString(p, 'source'), 'source');
    const configPath = optionalString(p, 'configPath');
    const logs = optionalString(p, 'logs');
    const checkedConfig = configPath === undefined ? undefined : workspace.check(configPath, 'configPath');
    return engine.request('importRun', {
      source,
      configPath: checkedConfig,
      logs: logs === undefined ? undefined : workspace.check(logs, 'logs'),
      outputPath: workspace.outputPathFor(checkedConfig ?? source),
    });
  });

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

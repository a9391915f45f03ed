// The MUNIT language server: config files as a language on the main thread, everything with tensors in the engine
// worker, and the `munit/*` requests (protocol.ts) between the two. Here the parts are wired together, with the
// handshake, the workspace folders and the settings. Every handler is wrapped: a failure in a language feature is
// logged and answered empty, a failed request is an error response; none can end the process.
import { CodeActionKind, Connection, InitializeResult, TextDocuments, TextDocumentSyncKind, WorkspaceFolder } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { clientFeatures, type ClientFeatures } from './client-features.js';
import { serveConfigLanguage } from './config-handlers.js';
import { Engine } from './engine.js';
import { engineEvents } from './engine-events.js';
import { JobStates } from './job-states.js';
import * as P from './protocol.js';
import { relayRequests } from './relays.js';
import { serveCommands } from './server-commands.js';
import { Workspace } from './workspace.js';

const { version } = require('../package.json') as { version: string };

export function startServer(connection: Connection): void {
  const documents = new TextDocuments(TextDocument);
  const workspace = new Workspace();
  const client: ClientFeatures = { progress: false, commands: false, lensRefresh: false };
  let folderUris: string[] = [];

  const stop = (jobId: string) => void engine.request('stopTraining', { jobId }).catch(() => undefined);
  const jobs = new JobStates(connection, client, stop);
  const engine = new Engine(engineEvents(connection, jobs), () => workspace.folders);

  function setOutputFolder(value: unknown, from: string): void {
    if (value === undefined) return;
    if (typeof value !== 'string' || value.trim() === '') {
      connection.console.warn(
        `${from}: munit.outputFolder must be a folder path, got ${JSON.stringify(value)}; keeping ${JSON.stringify(workspace.outputFolder)}`,
      );
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
    Object.assign(client, clientFeatures(params));
    setOutputFolder((params.initializationOptions as P.InitializationOptions | undefined)?.outputFolder, 'initializationOptions');
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

  serveConfigLanguage(connection, documents, workspace, client, (configPath) => jobs.active().find((j) => j.configPath === configPath)?.jobId);
  serveCommands(connection, engine, workspace);
  relayRequests(connection, engine, workspace);

  connection.onShutdown(async () => {
    // Stop a running job cleanly so its last iterations are saved, then let the worker go.
    await Promise.all(jobs.active().map((j) => engine.request('stopTraining', { jobId: j.jobId }).catch(() => undefined)));
    await engine.close();
  });
  connection.onExit(() => process.exit(0));

  documents.listen(connection);
  connection.listen();
}

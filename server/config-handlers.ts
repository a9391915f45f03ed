// Config files as a language: the LSP handlers that hand open configs to config-language.ts (diagnostics a moment
// after each edit, hover, completion, code lenses, quick fixes). Other documents get nothing.
import { type Connection, type Diagnostic, DiagnosticSeverity, Range, type TextDocuments } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { ClientFeatures } from './client-features.js';
import * as configLanguage from './config-language.js';
import { describe, feature } from './failures.js';
import { uriToPath, type Workspace } from './workspace.js';

/** How long typing may pause before a config is checked again. */
const VALIDATE_DELAY_MS = 150;

/** `activeJob`: the job training a config now, for its Stop lens. */
export function serveConfigLanguage(
  connection: Connection,
  documents: TextDocuments<TextDocument>,
  workspace: Workspace,
  client: ClientFeatures,
  activeJob: (configPath: string) => string | undefined,
): void {
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
    pendingValidation.set(
      document.uri,
      setTimeout(() => {
        pendingValidation.delete(document.uri);
        validate(document.uri);
      }, VALIDATE_DELAY_MS),
    );
  });
  documents.onDidClose(({ document }) => {
    clearTimeout(pendingValidation.get(document.uri));
    pendingValidation.delete(document.uri);
    void connection.sendDiagnostics({ uri: document.uri, diagnostics: [] });
  });
  connection.onHover(
    feature(connection, 'hover', null, ({ textDocument, position }) => {
      const doc = documents.get(textDocument.uri);
      return isConfig(doc) ? configLanguage.hover(doc, position) : null;
    }),
  );
  connection.onCompletion(
    feature(connection, 'completion', [], ({ textDocument, position }) => {
      const doc = documents.get(textDocument.uri);
      return isConfig(doc) ? configLanguage.completion(doc, position) : [];
    }),
  );
  connection.onCodeLens(
    feature(connection, 'code lenses', [], ({ textDocument }) => {
      const doc = documents.get(textDocument.uri);
      const file = uriToPath(textDocument.uri);
      // Lenses only for configs on disk inside the workspace: training anything else is refused.
      if (!isConfig(doc) || file === undefined || workspace.guard.refusal(file) !== undefined) return [];
      const configPath = workspace.check(file, 'config');
      return configLanguage.codeLenses(configPath, { clientCommands: client.commands, activeJob: activeJob(configPath) });
    }),
  );
  connection.onCodeAction(
    feature(connection, 'code actions', [], ({ textDocument, context }) => configLanguage.codeActions(textDocument.uri, context.diagnostics)),
  );
}

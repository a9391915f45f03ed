// MUNIT config files as a language: diagnostics from the core's validation, hover docs and completion from the
// config schema, quick fixes for misspelt keys and values, and "Train" / "Preview" code lenses.
import * as path from 'node:path';
import {
  CodeAction,
  CodeActionKind,
  CodeLens,
  CompletionItem,
  CompletionItemKind,
  Diagnostic,
  DiagnosticSeverity,
  Hover,
  MarkupKind,
  Position,
  Range,
  TextEdit,
} from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { checkDataPaths, ConfigDiagnostic, parseConfig } from '../munit-core/config/config.js';
import { CONFIG_SECTIONS, ConfigKeySpec, getKeySpec, keysIn } from '../munit-core/config/schema.js';
import { CLIENT_COMMANDS, SERVER_COMMANDS } from './protocol.js';
import { PathGuard, uriToPath } from './workspace.js';

const TOP_LEVEL_KEYS = new Set(keysIn(''));
const KEY_LINE = /^(\s*)([A-Za-z_][\w]*)\s*:(.*)$/;

/** A YAML file is treated as a MUNIT config when it has `gen:` and `dis:` or at least four top-level MUNIT keys. */
export function isMunitConfig(text: string): boolean {
  const found = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^([A-Za-z_]\w*)\s*:/.exec(line);
    if (m && TOP_LEVEL_KEYS.has(m[1])) found.add(m[1]);
  }
  return (found.has('gen') && found.has('dis')) || found.size >= 4;
}

/**
 * The config's problems. Its data paths are looked at only for a file on disk (relative ones resolve from its
 * folder; an untitled document has none) and only inside the workspace: a path elsewhere is reported, not read.
 */
export function diagnostics(doc: TextDocument, guard: PathGuard): Diagnostic[] {
  const file = uriToPath(doc.uri);
  const parsed = parseConfig(doc.getText(), file);
  const all = [...parsed.diagnostics];
  if (file !== undefined && !parsed.diagnostics.some((d) => d.code === 'syntax')) {
    all.push(...checkDataPaths(parsed.config, path.dirname(file), undefined, (resolved) => guard.refusal(resolved)));
  }
  return all.map((d) => toDiagnostic(d));
}

function toDiagnostic(d: ConfigDiagnostic): Diagnostic {
  return {
    range: Range.create(d.range.line, d.range.column, d.range.endLine, d.range.endColumn),
    severity: d.severity === 'error' ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
    message: d.key ? `${d.key}: ${d.message}` : d.message,
    source: 'munit',
    ...(d.code ? { code: d.code } : {}),
    ...(d.suggestion !== undefined ? { data: { suggestion: d.suggestion } } : {}),
  };
}

/** Quick fixes: put the suggested key or value in place ("did you mean ..."). */
export function codeActions(uri: string, diagnosticsInRange: Diagnostic[]): CodeAction[] {
  return diagnosticsInRange
    .filter((d) => d.source === 'munit' && typeof (d.data as { suggestion?: unknown } | undefined)?.suggestion === 'string')
    .map((d) => {
      const suggestion = (d.data as { suggestion: string }).suggestion;
      return {
        title: `Change to '${suggestion}'`,
        kind: CodeActionKind.QuickFix,
        diagnostics: [d],
        isPreferred: true,
        edit: { changes: { [uri]: [TextEdit.replace(d.range, suggestion)] } },
      };
    });
}

interface KeyAt {
  /** Dotted key, e.g. 'gen.dim'; for the section lines themselves 'gen' / 'dis'. */
  key: string;
  section: '' | 'gen' | 'dis';
  keyRange: Range;
  /** Where the cursor is: on the key or after the colon. */
  onValue: boolean;
}

/** The section a line belongs to: indented lines belong to the last unindented `gen:` / `dis:` above them. */
function sectionAt(lines: string[], line: number): '' | 'gen' | 'dis' {
  if (!/^\s+\S/.test(lines[line] ?? '') && !/^\s+$/.test(lines[line] ?? '')) return '';
  for (let i = line - 1; i >= 0; i--) {
    const m = /^([A-Za-z_]\w*)\s*:/.exec(lines[i]);
    if (m) return m[1] === 'gen' || m[1] === 'dis' ? m[1] : '';
  }
  return '';
}

function keyAt(doc: TextDocument, pos: Position): KeyAt | undefined {
  const lines = doc.getText().split(/\r?\n/);
  const m = KEY_LINE.exec(lines[pos.line] ?? '');
  if (!m) return undefined;
  const [, indent, name] = m;
  const section = sectionAt(lines, pos.line);
  const keyStart = indent.length;
  const colon = lines[pos.line].indexOf(':', keyStart + name.length);
  const key = section ? `${section}.${name}` : name;
  return { key, section, keyRange: Range.create(pos.line, keyStart, pos.line, keyStart + name.length), onValue: pos.character > colon };
}

export function hover(doc: TextDocument, pos: Position): Hover | null {
  const at = keyAt(doc, pos);
  if (!at) return null;
  const section = CONFIG_SECTIONS.find((s) => s.key === at.key);
  if (section) return { contents: { kind: MarkupKind.Markdown, value: `**${section.key}**: ${section.summary}\n\n${section.doc}` }, range: at.keyRange };
  const spec = getKeySpec(at.key);
  if (!spec) return null;
  return { contents: { kind: MarkupKind.Markdown, value: keyDocs(spec) }, range: at.keyRange };
}

/** Meaning, default, the reference configs' values, allowed values. */
export function keyDocs(spec: ConfigKeySpec): string {
  const parts = [`**${spec.key}** (${spec.type}): ${spec.summary}`, spec.doc];
  if (spec.default !== undefined) parts.push(`Default (the reference's): \`${spec.default}\``);
  if (spec.referenceValues) {
    const others = Object.entries(spec.referenceValues).map(([name, v]) => `\`${v}\` in ${name}`);
    parts.push(`Other reference configs: ${others.join(', ')}`);
  }
  if (spec.values) {
    const docs = spec.valueDocs ?? {};
    parts.push(`Allowed: ${spec.values.map((v) => (docs[String(v)] ? `\`${v}\` (${docs[String(v)]})` : `\`${v}\``)).join(', ')}`);
  }
  if (spec.ignoredReason) parts.push(`*Ignored:* ${spec.ignoredReason}`);
  return parts.join('\n\n');
}

export function completion(doc: TextDocument, pos: Position): CompletionItem[] {
  const lines = doc.getText().split(/\r?\n/);
  const before = (lines[pos.line] ?? '').slice(0, pos.character);
  const valueMatch = /^(\s*)([A-Za-z_]\w*)\s*:\s*([\w.-]*)$/.exec(before);
  if (valueMatch) {
    const section = sectionAt(lines, pos.line);
    const spec = getKeySpec(section ? `${section}.${valueMatch[2]}` : valueMatch[2]);
    if (!spec) return [];
    const values = spec.values ?? (spec.default !== undefined ? [spec.default] : spec.example !== undefined ? [spec.example] : []);
    return values.map((v, i) => ({
      label: String(v),
      kind: CompletionItemKind.EnumMember,
      detail: v === spec.default ? 'default' : undefined,
      documentation: spec.valueDocs?.[String(v)],
      sortText: String(i).padStart(3, '0'),
    }));
  }
  if (!/^\s*[A-Za-z_]*$/.test(before)) return [];
  const section = sectionAt(lines, pos.line);
  const present = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const m = KEY_LINE.exec(lines[i]);
    if (m && i !== pos.line && sectionAt(lines, i) === section) present.add(m[2]);
  }
  return keysIn(section)
    .filter((k) => !present.has(k))
    .map((k) => {
      const dotted = section ? `${section}.${k}` : k;
      const spec = getKeySpec(dotted);
      const sectionSpec = CONFIG_SECTIONS.find((s) => s.key === dotted);
      const value = spec?.default ?? spec?.example;
      return {
        label: k,
        kind: sectionSpec ? CompletionItemKind.Module : CompletionItemKind.Property,
        detail: spec?.summary ?? sectionSpec?.summary,
        documentation: spec ? { kind: MarkupKind.Markdown, value: keyDocs(spec) } : undefined,
        insertText: sectionSpec ? `${k}:\n  ` : `${k}: ${value ?? ''}`,
      };
    });
}

export interface LensOptions {
  /** The client registers CLIENT_COMMANDS and shows codicons in titles (our VS Code extension). */
  clientCommands: boolean;
  /** The job training this config now, if any. */
  activeJob?: string;
}

/** Train / Preview with the extension's commands; elsewhere plain titles and the server's own commands. */
export function codeLenses(configPath: string, options: LensOptions): CodeLens[] {
  const range = Range.create(0, 0, 0, 0);
  if (options.clientCommands) {
    return [
      { range, command: { title: '$(play) Train', command: CLIENT_COMMANDS.startTraining, arguments: [configPath] } },
      { range, command: { title: '$(eye) Preview', command: CLIENT_COMMANDS.previewConfig, arguments: [configPath] } },
    ];
  }
  return options.activeJob
    ? [{ range, command: { title: 'Stop training', command: SERVER_COMMANDS.stopTraining, arguments: [options.activeJob] } }]
    : [{ range, command: { title: 'Train', command: SERVER_COMMANDS.startTraining, arguments: [configPath] } }];
}

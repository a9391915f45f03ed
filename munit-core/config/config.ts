// MUNIT config files: the typed config, parsing with diagnostics (for the language server), loading (for the CLI and
// trainer) and a check of the data paths on disk. Key-by-key rules live in schema.ts, checks in validate.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isMap, LineCounter, parseDocument, type Document } from 'yaml';
import { CONFIG_SCHEMA, type ConfigScalar } from './schema.js';
import { checkCombinations, checkKeys, DOCUMENT_START, type KeyLocation } from './validate.js';
import type { InitScheme, LrPolicy } from './enums.js';
import type { DisOptions, GenOptions } from '../networks/options.js';

export type { Activation, DisNorm, GanType, InitScheme, LrPolicy, PadType } from './enums.js';
export type InputDim = 1 | 3;
export type GenConfig = GenOptions;
export type DisConfig = DisOptions;

/** A config with every default filled in; the keys are the reference's (see schema.ts for what each means). */
export interface MunitConfig {
  // logger
  image_save_iter: number;
  image_display_iter: number;
  display_size: number;
  snapshot_save_iter: number;
  log_iter: number;
  // optimisation
  max_iter: number;
  batch_size: number;
  weight_decay: number;
  beta1: number;
  beta2: number;
  init: InitScheme;
  lr: number;
  lr_policy: LrPolicy;
  step_size: number;
  gamma: number;
  gan_w: number;
  recon_x_w: number;
  recon_s_w: number;
  recon_c_w: number;
  recon_x_cyc_w: number;
  vgg_w: number;
  vgg_model_path?: string;
  // model
  gen: GenConfig;
  dis: DisConfig;
  // data
  input_dim_a: InputDim;
  input_dim_b: InputDim;
  num_workers: number;
  new_size: number;
  crop_image_height: number;
  crop_image_width: number;
  /** Folder layout: data_root/trainA, trainB, testA, testB. */
  data_root?: string;
  /** List layout: a folder plus a text file of paths relative to it, per split and domain. */
  data_folder_train_a?: string;
  data_list_train_a?: string;
  data_folder_test_a?: string;
  data_list_test_a?: string;
  data_folder_train_b?: string;
  data_list_train_b?: string;
  data_folder_test_b?: string;
  data_list_test_b?: string;
}

/**
 * A position span in the config text. All four numbers are 0-based, as in the Language Server Protocol (line 0 is
 * the first line; columns count UTF-16 code units); the end is exclusive. `formatDiagnostic` prints 1-based.
 */
export interface ConfigRange {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

export type ConfigDiagnosticCode =
  'syntax' | 'unknown-key' | 'duplicate-key' | 'type' | 'range' | 'enum' | 'unsupported' | 'ignored' | 'combination' | 'data-path';

export interface ConfigDiagnostic {
  /** Dotted key (`lr`, `gen.dim`); '' for problems of the file as a whole (YAML syntax). */
  key: string;
  /** A sentence the user can act on. */
  message: string;
  severity: 'error' | 'warning';
  /** 0-based, see ConfigRange. */
  range: ConfigRange;
  /** Kind of problem, for quick fixes and tests. */
  code?: ConfigDiagnosticCode;
  /** For unknown keys and enum values: the replacement text a quick fix can put in place of the range. */
  suggestion?: string;
}

export interface ParsedConfig {
  config: MunitConfig;
  diagnostics: ConfigDiagnostic[];
}

/** Thrown by loadConfig; the message lists every error as `file:line:col: key: message` (1-based). */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly diagnostics: readonly ConfigDiagnostic[],
    message?: string,
  ) {
    super(
      message ??
        `Invalid MUNIT config ${file} (${diagnostics.length} error${diagnostics.length === 1 ? '' : 's'}):\n` +
          diagnostics.map((d) => formatDiagnostic(d, file)).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

export { DOCUMENT_START };

/** Where a parsed config came from, so checkDataPaths can point at the right line without re-parsing. */
const origins = new WeakMap<MunitConfig, { file?: string; locations: ReadonlyMap<string, KeyLocation> }>();

/** `file:line:col: key: message` with 1-based line and column, the form terminals and editors turn into links. */
export function formatDiagnostic(d: ConfigDiagnostic, file: string): string {
  const where = `${file}:${d.range.line + 1}:${d.range.column + 1}`;
  const warning = d.severity === 'warning' ? 'warning: ' : '';
  if (!d.key) return `${where}: ${warning}${d.message}`;
  // Messages name their key so they read well alone (editor Problems panel); don't print it twice here.
  const repeated = [`${d.key}: `, `${d.key} `].find((p) => d.message.startsWith(p));
  return `${where}: ${warning}${d.key}: ${repeated ? d.message.slice(repeated.length) : d.message}`;
}

/** Every key at its reference default; no data paths. */
export function defaultConfig(): MunitConfig {
  return buildConfig(new Map());
}

function buildConfig(values: ReadonlyMap<string, ConfigScalar>): MunitConfig {
  const top: Record<string, unknown> = {};
  const sections: Record<'gen' | 'dis', Record<string, unknown>> = { gen: {}, dis: {} };
  for (const spec of CONFIG_SCHEMA) {
    if (spec.ignoredReason) continue; // accepted for compatibility, not part of the config
    const value = values.get(spec.key) ?? spec.default;
    if (value === undefined) continue;
    const [section, name] = spec.key.split('.');
    if (name === undefined) top[section] = value;
    else sections[section as 'gen' | 'dis'][name] = value;
  }
  // The schema's types match MunitConfig's field by field (the test suite checks every key).
  return { ...top, gen: sections.gen, dis: sections.dis } as unknown as MunitConfig;
}

/**
 * Parses config text into a full config (defaults for everything missing or invalid) and every problem found.
 * Never throws: YAML syntax errors become diagnostics too. Combination checks (crop vs new_size, data layout, ...)
 * are skipped while the YAML itself is broken or is not a mapping, since half-parsed text would make them misleading.
 */
export function parseConfig(text: string, file?: string): ParsedConfig {
  const lineCounter = new LineCounter();
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: false });
  } catch (err) {
    const message = `The file could not be read as YAML: ${(err as Error).message}`;
    const diagnostic: ConfigDiagnostic = { key: '', message, severity: 'error', range: DOCUMENT_START, code: 'syntax' };
    return { config: defaultConfig(), diagnostics: [diagnostic] };
  }
  const rangeOf = (start: number, end: number): ConfigRange => {
    // LineCounter is 1-based; ranges are 0-based.
    const a = lineCounter.linePos(start);
    const b = lineCounter.linePos(Math.max(start, end));
    const z = (n: number) => Math.max(0, n - 1);
    return { line: z(a.line), column: z(a.col), endLine: z(b.line), endColumn: z(b.col) };
  };

  // Duplicate keys are reported by checkKeys with their dotted name; the others stop combination checks.
  const syntaxErrors = doc.errors.filter((e) => e.code !== 'DUPLICATE_KEY');
  const overlapsSyntaxError = (start: number, end: number) => syntaxErrors.some((e) => e.pos[0] >= start && e.pos[0] <= end);
  const keys = checkKeys(doc, rangeOf, overlapsSyntaxError);

  const diagnostics: ConfigDiagnostic[] = [];
  for (const e of doc.errors) {
    if (e.code === 'DUPLICATE_KEY' && keys.reportedDuplicates.has(e.pos[0])) continue;
    const range = rangeOf(e.pos[0], e.pos[1]);
    diagnostics.push({ key: '', message: `YAML syntax error: ${e.message.replace(/\.$/, '')}.`, severity: 'error', range, code: 'syntax' });
  }
  for (const w of doc.warnings) {
    const range = rangeOf(w.pos[0], w.pos[1]);
    diagnostics.push({ key: '', message: `YAML: ${w.message.replace(/\.$/, '')}.`, severity: 'warning', range, code: 'syntax' });
  }
  diagnostics.push(...keys.diagnostics);

  const config = buildConfig(keys.values);
  const wellFormed = syntaxErrors.length === 0 && (doc.contents === null || isMap(doc.contents));
  if (wellFormed) diagnostics.push(...checkCombinations(config, keys));
  origins.set(config, { file, locations: keys.locations });
  diagnostics.sort((x, y) => x.range.line - y.range.line || x.range.column - y.range.column);
  return { config, diagnostics };
}

export interface LoadConfigOptions {
  /** Called once per warning (warnings never throw); `formatted` is `file:line:col: warning: key: message`. */
  onWarning?: (formatted: string, diagnostic: ConfigDiagnostic) => void;
}

/** Reads and validates a config file; throws ConfigError listing every error. Does not look at the data on disk. */
export function loadConfig(file: string, options: LoadConfigOptions = {}): MunitConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [], readFailure(file, err as NodeJS.ErrnoException));
  }
  // Editors hide a byte-order mark; dropping it keeps our columns equal to theirs on the first line.
  const { config, diagnostics } = parseConfig(text.replace(/^\uFEFF/, ''), file);
  for (const d of diagnostics) if (d.severity === 'warning') options.onWarning?.(formatDiagnostic(d, file), d);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new ConfigError(file, errors);
  return config;
}

function readFailure(file: string, err: NodeJS.ErrnoException): string {
  const resolved = path.resolve(file);
  if (err.code === 'ENOENT') return `Cannot read MUNIT config ${file}: the file does not exist (looked for ${resolved}).`;
  if (err.code === 'EISDIR') return `Cannot read MUNIT config ${file}: ${resolved} is a folder, not a YAML file.`;
  return `Cannot read MUNIT config ${file} (${resolved}): ${err.message}`;
}

// ---- data on disk ---------------------------------------------------------------------------------------------------

export type DataSplit = 'train_a' | 'test_a' | 'train_b' | 'test_b';
export const DATA_SPLITS: readonly DataSplit[] = ['train_a', 'test_a', 'train_b', 'test_b'];

export interface DataSource {
  /** Folder of the images (folder layout: data_root/trainA ...), as written, not yet resolved. */
  folder: string;
  /** List layout only: the text file of image paths relative to `folder`. */
  list?: string;
  /** The config keys these come from, for messages. */
  folderKey: string;
  listKey?: string;
}

/**
 * Where each split's images are, as the config says. Like the reference, `data_root` wins when both layouts are
 * given (validation reports that as an error); undefined when neither layout is complete.
 */
export function dataSources(config: MunitConfig): Record<DataSplit, DataSource> | undefined {
  const result = {} as Record<DataSplit, DataSource>;
  for (const split of DATA_SPLITS) {
    const [phase, domain] = split.split('_');
    if (config.data_root !== undefined) {
      result[split] = { folder: path.join(config.data_root, `${phase}${domain.toUpperCase()}`), folderKey: 'data_root' };
      continue;
    }
    const folderKey = `data_folder_${split}` as const;
    const listKey = `data_list_${split}` as const;
    const folder = config[folderKey];
    const list = config[listKey];
    if (folder === undefined || list === undefined) return undefined;
    result[split] = { folder, list, folderKey, listKey };
  }
  return result;
}

/**
 * Resolves a path from a config. Relative paths are taken from the config file's folder, so a config stored next to
 * its dataset means the same thing from anywhere; if nothing exists there, from the current working directory, as
 * the reference (run from its repository root) does. Returns the first candidate that exists, else the config one.
 */
export function resolveConfigPath(p: string, configDir?: string, cwd: string = process.cwd()): string {
  if (path.isAbsolute(p)) return p;
  const fromCwd = path.resolve(cwd, p);
  if (configDir === undefined) return fromCwd;
  const fromConfig = path.resolve(configDir, p);
  return fs.existsSync(fromConfig) || !fs.existsSync(fromCwd) ? fromConfig : fromCwd;
}

/** Image types the reference's loaders accept (compared case-insensitively). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.ppm', '.bmp'];

/**
 * Checks that the data the config names exists: folders are folders and hold images, list files are non-empty and
 * their first entry exists. Each diagnostic names the key and the path. `configDir` defaults to the folder of the
 * file given to parseConfig (see resolveConfigPath for how relative paths are looked up). Missing keys are not
 * reported here: parseConfig already does. `refuse` may veto a resolved path before anything is read there (the
 * language server keeps to the workspace): its message becomes the key's diagnostic. Never quotes a file's content.
 */
export function checkDataPaths(
  config: MunitConfig,
  configDir?: string,
  cwd: string = process.cwd(),
  refuse?: (resolved: string, key: string) => string | undefined,
): ConfigDiagnostic[] {
  const origin = origins.get(config);
  const dir = configDir ?? (origin?.file !== undefined ? path.dirname(path.resolve(origin.file)) : undefined);
  const out: ConfigDiagnostic[] = [];
  const report = (key: string, message: string) => {
    const range = origin?.locations.get(key)?.valueRange ?? DOCUMENT_START;
    out.push({ key, message, severity: 'error', code: 'data-path', range });
  };
  const where = (p: string) =>
    path.isAbsolute(p) || dir === undefined || path.resolve(dir) === path.resolve(cwd)
      ? resolveConfigPath(p, dir, cwd)
      : `${path.resolve(dir, p)} (also looked in ${path.resolve(cwd, p)})`;
  /** The resolved path, or undefined when `refuse` vetoed it (then reported). */
  const resolve = (p: string, key: string): string | undefined => {
    const resolved = resolveConfigPath(p, dir, cwd);
    const refusal = refuse?.(resolved, key);
    if (refusal !== undefined) report(key, refusal);
    return refusal === undefined ? resolved : undefined;
  };

  const root = config.data_root === undefined ? undefined : resolve(config.data_root, 'data_root');
  if (config.data_root !== undefined && root !== undefined) {
    if (!isDirectory(root)) {
      report('data_root', `The dataset folder ${config.data_root} does not exist: looked for ${where(config.data_root)}.`);
    } else {
      for (const sub of ['trainA', 'trainB', 'testA', 'testB']) {
        const folder = path.join(root, sub);
        if (!isDirectory(folder)) {
          report('data_root', `${folder} is missing: the folder layout needs trainA, trainB, testA and testB.`);
        } else if (!containsImage(folder)) {
          report('data_root', `${folder} holds no images (${IMAGE_EXTENSIONS.join(', ')}).`);
        }
      }
    }
  }
  for (const split of DATA_SPLITS) checkListSplit(config, split, resolve, report, where);
  if (config.vgg_w > 0 && config.vgg_model_path !== undefined) {
    const weights = config.vgg_model_path;
    const resolved = resolve(weights, 'vgg_model_path');
    if (resolved !== undefined && !fs.existsSync(resolved)) {
      report('vgg_model_path', `The VGG-16 weights ${weights} do not exist: looked for ${where(weights)}.`);
    }
  }
  return out;
}

function checkListSplit(
  config: MunitConfig,
  split: DataSplit,
  resolve: (p: string, key: string) => string | undefined,
  report: (key: string, message: string) => void,
  where: (p: string) => string,
): void {
  const folderKey = `data_folder_${split}` as const;
  const listKey = `data_list_${split}` as const;
  const folderValue = config[folderKey];
  const listValue = config[listKey];
  const folder = folderValue === undefined ? undefined : resolve(folderValue, folderKey);
  const folderOk = folder !== undefined && isDirectory(folder);
  if (folderValue !== undefined && folder !== undefined && !folderOk) {
    report(folderKey, `The image folder ${folderValue} does not exist: looked for ${where(folderValue)}.`);
  }
  if (listValue === undefined) return;
  const list = resolve(listValue, listKey);
  if (list === undefined) return;
  if (!isFile(list)) {
    report(listKey, `The image list ${listValue} does not exist: looked for ${where(listValue)}.`);
    return;
  }
  let lines: string[];
  try {
    lines = fs
      .readFileSync(list, 'utf8')
      .split(/\r?\n/)
      .map((l) => l.trim());
  } catch (err) {
    report(listKey, `The image list ${list} cannot be read: ${(err as Error).message}.`);
    return;
  }
  // Messages give the line number, never the line: the list may be any file (a diagnostic must not show its content).
  const line = lines.findIndex((l) => l !== '');
  if (line < 0) {
    report(listKey, `The image list ${list} is empty: it should name one image per line.`);
  } else if (folderOk && !fs.existsSync(path.join(folder, lines[line]))) {
    report(listKey, `The first entry of ${list} (line ${line + 1}) names no file in ${folderKey} (${folder}); entries are relative to that folder.`);
  }
}

/** False also for paths that cannot exist (ENOTDIR: through a file, ELOOP, ENAMETOOLONG): they are reported as missing. */
function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return false;
  }
}

/** True as soon as one image is found; searches sub-folders like the reference's loader, visiting a bounded number of entries. */
function containsImage(folder: string, budget = { entries: 20000 }): boolean {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(folder, { withFileTypes: true });
  } catch {
    return false;
  }
  const subfolders: string[] = [];
  for (const e of entries) {
    if (--budget.entries < 0) return false;
    if (e.isFile() && IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) return true;
    if (e.isDirectory()) subfolders.push(path.join(folder, e.name));
  }
  return subfolders.some((sub) => containsImage(sub, budget));
}

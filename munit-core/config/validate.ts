// Validation of a parsed config: each key on its own (known? right type? in range?) while walking the YAML tree,
// then the rules that involve several keys. Every diagnostic names the dotted key, points at its line, and says in
// one sentence what to change.
import * as os from 'node:os';
import { isAlias, isMap, isScalar, isSeq, type Document, type Node, type YAMLMap } from 'yaml';
import { DATA_LIST_KEYS, getKeySpec, keysIn, type ConfigKeySpec, type ConfigScalar } from './schema.js';
import type { ConfigDiagnostic, ConfigDiagnosticCode, ConfigRange, MunitConfig } from './config.js';

export interface KeyLocation {
  keyRange: ConfigRange;
  /** The value's span; the key's own span when the value is empty. */
  valueRange: ConfigRange;
}

export interface KeyCheckResult {
  /** Valid values by dotted key; keys left out get their defaults. */
  values: Map<string, ConfigScalar>;
  /** Every known key written in the file (valid or not), by dotted key. */
  locations: Map<string, KeyLocation>;
  /** Known keys whose value was rejected: combination rules involving them are skipped, not guessed at. */
  invalid: Set<string>;
  /** Offsets of duplicate keys already reported here (the caller drops the YAML parser's own report of them). */
  reportedDuplicates: Set<number>;
  diagnostics: ConfigDiagnostic[];
}

export type RangeOf = (start: number, end: number) => ConfigRange;

type Section = '' | 'gen' | 'dis';
const SECTION_NAMES: Record<'gen' | 'dis', string> = { gen: 'generator', dis: 'discriminator' };

// ---- one key at a time ------------------------------------------------------------------------------------------

/**
 * Walks the top-level mapping and the `gen:`/`dis:` mappings. `skip(start, end)` says a pair overlaps a YAML syntax
 * error; such pairs are half-parsed (e.g. two lines read as one key), so judging them would only add noise.
 */
export function checkKeys(doc: Document, rangeOf: RangeOf, skip: (start: number, end: number) => boolean): KeyCheckResult {
  const result: KeyCheckResult = {
    values: new Map(),
    locations: new Map(),
    invalid: new Set(),
    reportedDuplicates: new Set(),
    diagnostics: [],
  };
  const root = doc.contents;
  if (root === null || root === undefined) return result; // empty file or comments only: all defaults
  if (!isMap(root)) {
    result.diagnostics.push({
      key: '',
      severity: 'error',
      code: 'type',
      range: nodeRange(root, rangeOf),
      message: 'A MUNIT config must be a list of `key: value` lines (a YAML mapping), like the reference configs.',
    });
    return result;
  }
  walkMap(root, '', { doc, rangeOf, skip, result });
  return result;
}

interface WalkContext {
  doc: Document;
  rangeOf: RangeOf;
  skip: (start: number, end: number) => boolean;
  result: KeyCheckResult;
}

function walkMap(map: YAMLMap, section: Section, ctx: WalkContext): void {
  const { rangeOf, result } = ctx;
  const seen = new Map<string, ConfigRange>();
  for (const pair of map.items) {
    const keyNode = pair.key as Node | null;
    const name = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
    const keyRange = nodeRange(keyNode, rangeOf);
    const start = keyNode?.range?.[0] ?? 0;
    const end = (pair.value as Node | null)?.range?.[1] ?? keyNode?.range?.[1] ?? start;
    if (ctx.skip(start, end)) continue;
    const dotted = section ? `${section}.${name}` : name;
    const push = (d: Omit<ConfigDiagnostic, 'range'> & { range?: ConfigRange }) => result.diagnostics.push({ range: keyRange, ...d });

    const first = seen.get(name);
    if (first) {
      // PyYAML would silently keep the last value; we keep it too, but say so, since one of the two is a mistake.
      result.reportedDuplicates.add(start);
      push({
        key: dotted,
        severity: 'error',
        code: 'duplicate-key',
        message: `${dotted} is set twice (first on line ${first.line + 1}); delete one of them. The last value is used.`,
      });
    }
    seen.set(name, keyRange);

    const value = resolve(pair.value as Node | null, ctx.doc);
    if (section === '' && (name === 'gen' || name === 'dis')) {
      walkSection(name, value, keyRange, ctx);
      continue;
    }
    const spec = getKeySpec(dotted);
    if (!spec) {
      push({ key: dotted, severity: 'error', code: 'unknown-key', ...unknownKeyMessage(name, section) });
      continue;
    }
    const valueRange = value?.range ? nodeRange(value, rangeOf) : keyRange;
    result.locations.set(dotted, { keyRange, valueRange });
    if (spec.ignoredReason) {
      push({ key: dotted, severity: 'warning', code: 'ignored', message: spec.ignoredReason });
      continue;
    }
    const checked = checkValue(spec, value);
    if (checked.ok) {
      result.values.set(dotted, checked.value);
      result.invalid.delete(dotted);
    } else {
      result.values.delete(dotted);
      result.invalid.add(dotted);
      const { code, message, suggestion } = checked;
      push({ key: dotted, severity: 'error', code, message, suggestion, range: valueRange });
    }
  }
}

function walkSection(name: 'gen' | 'dis', value: Node | null, keyRange: ConfigRange, ctx: WalkContext): void {
  const what = SECTION_NAMES[name];
  if (isMap(value)) {
    walkMap(value, name, ctx);
  } else if (value === null || (isScalar(value) && value.value === null)) {
    ctx.result.diagnostics.push({
      key: name,
      severity: 'warning',
      code: 'type',
      range: keyRange,
      message: `${name}: has no settings, so the reference's ${what} defaults are used; ` + 'indent its keys under it (e.g. "  dim: 64").',
    });
  } else {
    ctx.result.diagnostics.push({
      key: name,
      severity: 'error',
      code: 'type',
      range: nodeRange(value, ctx.rangeOf),
      message: `${name} must hold the ${what} settings as indented \`key: value\` lines ` + `(${keysIn(name).join(', ')}), not ${describe(value)}.`,
    });
  }
}

function unknownKeyMessage(name: string, section: Section): { message: string; suggestion?: string } {
  const dotted = section ? `${section}.${name}` : name;
  // A known key in the wrong place is a layout mistake, not a typo: say where it belongs.
  const homes = (['', 'gen', 'dis'] as const).filter((s) => s !== section && keysIn(s).includes(name));
  if (homes.length > 0) {
    const where = homes.map((s) => (s ? `under ${s}:` : 'at the top level (not indented)')).join(' or ');
    const here = section ? `${section}: ` : 'top-level ';
    return { message: `${dotted} is not a ${here}key; '${name}' belongs ${where}. Move it there.` };
  }
  // An error rather than a warning: a misspelt key would otherwise leave its default in place without a word.
  const suggestion = suggestName(name, keysIn(section));
  const unknown = `Unknown key '${name}'${section ? ` under ${section}:` : ''}`;
  return {
    message: suggestion
      ? `${unknown}; did you mean '${suggestion}'?`
      : `${unknown}: MUNIT has no such ${section ? `${SECTION_NAMES[section]} ` : ''}setting; check its spelling or delete it.`,
    suggestion,
  };
}

type ValueCheck = { ok: true; value: ConfigScalar } | { ok: false; code: ConfigDiagnosticCode; message: string; suggestion?: string };

const fail = (code: ConfigDiagnosticCode, message: string, suggestion?: string): ValueCheck => ({
  ok: false,
  code,
  message,
  suggestion,
});

function checkValue(spec: ConfigKeySpec, node: Node | null): ValueCheck {
  const { key } = spec;
  if (node === null || (isScalar(node) && node.value === null)) {
    const def = spec.default !== undefined ? ` (the default is ${spec.default})` : '';
    return fail('type', `${key} has no value; write ${expected(spec)}${def}, or delete the line to use the default.`);
  }
  if (!isScalar(node)) return fail('type', `${key} must be ${expected(spec)}, not ${describe(node)}.`);
  switch (spec.type) {
    case 'number':
    case 'integer':
      return checkNumber(spec, node.value, node.source ?? String(node.value), node.type);
    case 'enum':
      return checkEnum(spec, node.value);
    case 'path':
    case 'string':
      if (typeof node.value === 'string' && node.value.trim() !== '') return { ok: true, value: node.value };
      if (typeof node.value === 'string') return fail('type', `${key} is empty; write ${expected(spec)}.`);
      return fail('type', `${key} must be ${expected(spec)}, but it is ${describe(node)}; put it in quotes if it really is a name like that.`);
  }
}

function checkNumber(spec: ConfigKeySpec, value: unknown, source: string, scalarType: string | undefined): ValueCheck {
  const { key } = spec;
  if (typeof value !== 'number') {
    const quoted = scalarType === 'QUOTE_DOUBLE' || scalarType === 'QUOTE_SINGLE';
    if (typeof value === 'string' && quoted && value.trim() !== '' && Number.isFinite(Number(value))) {
      return fail('type', `${key} must be a number, but "${value}" is in quotes, which makes it text; remove the quotes.`);
    }
    return fail('type', `${key} must be ${expected(spec)}, but it is ${describeValue(value)}.`);
  }
  if (!Number.isFinite(value)) return fail('type', `${key} must be a finite number, not ${source}.`);
  // `64.0` is a float in Python too, and breaks layer sizes there: insist on a whole number as written.
  if (spec.type === 'integer' && (!Number.isInteger(value) || source.includes('.'))) {
    const fix = Number.isInteger(value) ? `write ${value}` : `for example ${Math.max(Math.round(value), spec.min ?? -Infinity)}`;
    return fail('type', `${key} must be a whole number, but it is ${source}; ${fix}.`);
  }
  if (spec.values && !spec.values.includes(value)) {
    return fail('enum', `${key} must be ${valueList(spec)}, not ${source}.`);
  }
  const tooLow = spec.min !== undefined && (spec.minExclusive ? value <= spec.min : value < spec.min);
  const tooHigh = spec.max !== undefined && (spec.maxExclusive ? value >= spec.max : value > spec.max);
  if (tooLow || tooHigh) {
    return fail('range', `${key} must be ${rangeText(spec)}, but it is ${source}.${spec.rangeHint ? ` ${spec.rangeHint}` : ''}`);
  }
  return { ok: true, value };
}

/**
 * A number given for one key outside a config file (e.g. changed while training), with the same checks and messages
 * as in a file: the message of the check it fails, or undefined when it is allowed.
 */
export function numberProblem(key: string, value: unknown): string | undefined {
  const spec = getKeySpec(key);
  if (!spec) return `Unknown key '${key}'.`;
  const checked = checkNumber(spec, value, String(value), undefined);
  return checked.ok ? undefined : checked.message;
}

function checkEnum(spec: ConfigKeySpec, value: unknown): ValueCheck {
  const { key } = spec;
  const text = String(value);
  const unsupported = spec.unsupportedValues?.[text];
  if (unsupported) return fail('unsupported', `${key}: ${unsupported}`);
  if (typeof value === 'string' && spec.values?.includes(value)) return { ok: true, value };
  const suggestion = suggestName(text, (spec.values ?? []).map(String));
  const hint = suggestion ? ` Did you mean '${suggestion}'?` : '';
  return fail('enum', `${key} must be ${valueList(spec)}, but it is ${describeValue(value)}.${hint}`, suggestion);
}

function expected(spec: ConfigKeySpec): string {
  switch (spec.type) {
    case 'number':
      return 'a number';
    case 'integer':
      return spec.values ? valueList(spec) : 'a whole number';
    case 'enum':
      return valueList(spec);
    case 'path':
      return 'a path';
    case 'string':
      return 'some text';
  }
}

function valueList(spec: ConfigKeySpec): string {
  // Numbers mean little on their own ("1 or 3"), so integer choices carry their doc ("1 (greyscale)").
  const values = (spec.values ?? []).map((v) => {
    const doc = spec.type === 'integer' ? spec.valueDocs?.[String(v)] : undefined;
    return doc ? `${v} (${doc})` : String(v);
  });
  if (values.length <= 2) return values.join(' or ');
  return `one of ${values.join(', ')}`;
}

function rangeText(spec: ConfigKeySpec): string {
  const low = spec.min === undefined ? undefined : spec.minExclusive ? `greater than ${spec.min}` : `at least ${spec.min}`;
  const high = spec.max === undefined ? undefined : spec.maxExclusive ? `less than ${spec.max}` : `at most ${spec.max}`;
  if (low && high && !spec.minExclusive && !spec.maxExclusive) return `between ${spec.min} and ${spec.max}`;
  return [low, high].filter(Boolean).join(' and ');
}

function describe(node: Node): string {
  if (isSeq(node)) return 'a list';
  if (isMap(node)) return 'a set of nested keys';
  if (isScalar(node)) return describeValue(node.value);
  return 'that';
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (typeof value === 'boolean') return `${value} (a yes/no value)`;
  if (typeof value === 'string') return `the text '${value}'`;
  return String(value);
}

function resolve(node: Node | null, doc: Document): Node | null {
  if (isAlias(node)) return (node.resolve(doc) as Node | undefined) ?? null;
  return node;
}

function nodeRange(node: Node | null | undefined, rangeOf: RangeOf): ConfigRange {
  const r = node?.range;
  return r ? rangeOf(r[0], r[1]) : rangeOf(0, 0);
}

// ---- suggestions --------------------------------------------------------------------------------------------------

/** Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of neighbours each cost 1. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The closest candidate, ignoring case, if it is close enough to be a likely typo (about a third of its length). */
export function suggestName(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const dist = editDistance(name.toLowerCase(), c.toLowerCase());
    if (dist < bestDistance) [best, bestDistance] = [c, dist];
  }
  if (best === undefined) return undefined;
  return bestDistance <= Math.max(1, Math.floor(Math.max(best.length, name.length) / 3)) ? best : undefined;
}

// ---- rules across keys ------------------------------------------------------------------------------------------

/** Where file-level problems point (0-based, like every ConfigRange). */
export const DOCUMENT_START: ConfigRange = { line: 0, column: 0, endLine: 0, endColumn: 0 };

/** Rules that involve several keys. Rules that read a rejected value are skipped: its default would mislead. */
export function checkCombinations(config: MunitConfig, keys: Pick<KeyCheckResult, 'locations' | 'invalid'>): ConfigDiagnostic[] {
  const out: ConfigDiagnostic[] = [];
  const rule: Rule = {
    config,
    written: (k) => keys.locations.has(k),
    usable: (...ks) => ks.every((k) => !keys.invalid.has(k)),
    report: (key, severity, message, at = [key]) => {
      const range = at.map((k) => keys.locations.get(k)?.valueRange).find((r) => r !== undefined) ?? DOCUMENT_START;
      out.push({ key, severity, message, code: 'combination', range });
    },
  };
  checkDataLayout(rule);
  checkImageSizes(rule);
  checkVgg(rule);
  checkSchedule(rule);
  checkCheckpoints(rule);
  checkModelSize(rule);
  return out;
}

interface Rule {
  config: MunitConfig;
  /** The key appears in the file (valid or not). */
  written: (key: string) => boolean;
  /** None of these keys had its value rejected. */
  usable: (...keys: string[]) => boolean;
  /** `at`: keys whose position to point at, first one written wins (default: the key itself). */
  report: (key: string, severity: 'error' | 'warning', message: string, at?: string[]) => void;
}

function checkDataLayout({ written, report }: Rule): void {
  const listKeys = DATA_LIST_KEYS.filter(written);
  if (written('data_root') && listKeys.length > 0) {
    report(
      'data_root',
      'error',
      `Both data_root and the list keys (${listKeys.join(', ')}) are set; use either the folder layout (data_root) or ` +
        'the list layout (the eight data_folder_*/data_list_* keys), and delete the other.',
    );
  } else if (!written('data_root') && listKeys.length === 0) {
    report(
      'data_root',
      'error',
      'No dataset is set: add data_root (a folder holding trainA, trainB, testA and testB), or the eight ' +
        'data_folder_*/data_list_* keys of the list layout.',
    );
  } else if (!written('data_root')) {
    const missing = DATA_LIST_KEYS.filter((k) => !written(k));
    for (const key of missing) {
      const message = `${key} is missing: the list layout needs all eight data_folder_*/data_list_* keys ` + `(missing: ${missing.join(', ')}).`;
      report(key, 'error', message, [key, ...listKeys]);
    }
  }
}

function checkImageSizes({ config, usable, report }: Rule): void {
  const { gen, dis, new_size: newSize } = config;
  const archKeys = ['gen.n_downsample', 'gen.pad_type', 'dis.n_layer', 'dis.num_scales'];
  for (const key of ['crop_image_height', 'crop_image_width'] as const) {
    const size = config[key];
    if (usable(key, 'new_size') && size > newSize) {
      report(
        key,
        'error',
        `${key} is ${size}, larger than new_size (${newSize}): images are resized so their shorter side is ` +
          `${newSize} pixels, so a ${size}-pixel crop does not fit. Lower ${key} or raise new_size.`,
      );
    }
    if (!usable(key, ...archKeys)) continue;
    const problem = sizeProblem(size, gen, dis);
    if (problem) report(key, 'error', `${key} is ${size}, but it ${problem}`);
  }
  // Test images are cropped to new_size x new_size (as in the reference), so the decoder must restore that size too.
  const step = 2 ** gen.n_downsample;
  if (usable('new_size', 'gen.n_downsample') && newSize % step !== 0) {
    report(
      'new_size',
      'warning',
      `new_size is ${newSize}, not a multiple of ${step} (2^gen.n_downsample): test images are cropped to ` +
        `new_size × new_size, and their translations would come out ${Math.floor(newSize / step) * step} pixels wide.`,
    );
  }
}

/** Why a square-ish side of `size` pixels cannot go through the networks, or undefined if it can. */
export function sizeProblem(size: number, gen: MunitConfig['gen'], dis: MunitConfig['dis']): string | undefined {
  const step = 2 ** gen.n_downsample;
  const smallest = smallestWorkingSize(gen, dis);
  if (size % step !== 0) {
    const lower = Math.floor(size / step) * step;
    const options = lower >= smallest ? `${lower} or ${lower + step}` : `${Math.max(smallest, lower + step)}`;
    return `must be a multiple of ${step} (2^gen.n_downsample) so the decoder's upsampling gives back an image of the ` + `input's size; use ${options}.`;
  }
  if (size < 16) {
    const why = 'is too small for the style encoder, which halves the image 4 times and needs at least 16 pixels';
    return `${why}; use at least ${smallest}.`;
  }
  const content = size / step;
  if (content < minContentSize(gen)) {
    return (
      `is too small for gen.n_downsample ${gen.n_downsample}: the content code would be ${content} pixel(s), and its ` +
      `${gen.pad_type}-padded residual blocks need at least ${minContentSize(gen)}; use at least ${smallest} or ` +
      'lower gen.n_downsample.'
    );
  }
  const coarsest = coarsestScale(size, dis.num_scales);
  if (coarsest < 2 ** dis.n_layer) {
    return (
      `is too small for the discriminator: its coarsest scale (dis.num_scales ${dis.num_scales}) sees ${coarsest} pixels, ` +
      `but its ${dis.n_layer} stride-2 layers (dis.n_layer) need at least ${2 ** dis.n_layer}; use at least ${smallest}, ` +
      'or lower dis.num_scales or dis.n_layer.'
    );
  }
  return undefined;
}

/** Reflect padding by 1 needs at least 2 pixels; zero padding works on 1. */
function minContentSize(gen: MunitConfig['gen']): number {
  return gen.pad_type === 'reflect' ? 2 : 1;
}

/**
 * Side of the input at the last scale: 3x3 average pooling with stride 2 and padding 1 between scales gives ceil(s/2),
 * and halving with ceil k times is ceil(s/2^k). In closed form, so huge dis.num_scales cannot make it loop.
 */
function coarsestScale(size: number, numScales: number): number {
  return Math.ceil(size / 2 ** (numScales - 1));
}

/** The smallest multiple of 2^gen.n_downsample that every network accepts (closed form: no search to loop in). */
function smallestWorkingSize(gen: MunitConfig['gen'], dis: MunitConfig['dis']): number {
  const step = 2 ** gen.n_downsample;
  // ceil(size / 2^(k-1)) >= 2^n_layer  <=>  size > (2^n_layer - 1) * 2^(k-1).
  const forDiscriminator = (2 ** dis.n_layer - 1) * 2 ** (dis.num_scales - 1) + 1;
  const size = Math.max(16, step * minContentSize(gen), forDiscriminator);
  return Math.ceil(size / step) * step;
}

function checkVgg({ config, written, usable, report }: Rule): void {
  if (!usable('vgg_w') || config.vgg_w <= 0) return;
  if (!written('vgg_model_path')) {
    // A warning, not an error: the reference's own synthia2cityscape config has vgg_w: 1 and no path (its trainer
    // fills the key in), and the weights may still be given on the command line.
    report(
      'vgg_w',
      'warning',
      `vgg_w is ${config.vgg_w} but vgg_model_path is not set: training will stop at the start unless VGG-16 weights ` +
        'are supplied. Set vgg_model_path to your VGG-16 weights, or set vgg_w: 0.',
    );
  }
  for (const key of ['input_dim_a', 'input_dim_b'] as const) {
    if (usable(key) && config[key] !== 3) {
      const message = `${key} is ${config[key]}, but vgg_w > 0 needs 3-channel (RGB) images in both domains, as VGG-16 does; ` + `set ${key}: 3 or vgg_w: 0.`;
      report(key, 'error', message, [key, 'vgg_w']);
    }
  }
}

function checkSchedule({ config, written, usable, report }: Rule): void {
  if (!usable('lr_policy') || config.lr_policy !== 'step') return;
  if (written('lr_policy') && !written('step_size')) {
    const message =
      `lr_policy is step but step_size is not set; the default ${config.step_size} is used. ` + 'Add step_size to choose when the learning rate decays.';
    report('step_size', 'warning', message, ['lr_policy']);
    return;
  }
  // Only when the user wrote one of them: the defaults (100,000 vs 1,000,000) are fine.
  const mentioned = written('step_size') || written('max_iter');
  if (mentioned && usable('step_size', 'max_iter') && config.step_size >= config.max_iter) {
    report(
      'step_size',
      'warning',
      `step_size is ${config.step_size}, not smaller than max_iter (${config.max_iter}), so the learning rate never ` +
        'decays; lower step_size or use lr_policy: constant.',
      ['step_size', 'max_iter'],
    );
  }
}

function checkCheckpoints({ config, written, usable, report }: Rule): void {
  const mentioned = written('snapshot_save_iter') || written('max_iter');
  if (mentioned && usable('snapshot_save_iter', 'max_iter') && config.snapshot_save_iter > config.max_iter) {
    report(
      'snapshot_save_iter',
      'warning',
      `snapshot_save_iter is ${config.snapshot_save_iter}, larger than max_iter (${config.max_iter}), so no periodic ` +
        'checkpoint is written during training; lower snapshot_save_iter.',
      ['snapshot_save_iter', 'max_iter'],
    );
  }
}

// ---- size of the model --------------------------------------------------------------------------------------------

const conv = (k: number, inDim: number, outDim: number) => k * k * inDim * outDim + outDim;
const linear = (inDim: number, outDim: number) => inDim * outDim + outDim;
const sum = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i)).reduce((a, b) => a + b, 0);

/** Trainable parameters of one generator, counted from the config alone (the networks' layers, without building them). */
export function generatorParameters(inputDim: number, gen: MunitConfig['gen']): number {
  const { dim, n_downsample: nd, n_res: nRes, style_dim: styleDim, mlp_dim: mlpDim } = gen;
  const deep = dim * 2 ** nd;
  const style = conv(7, inputDim, dim) + conv(4, dim, 2 * dim) + conv(4, 2 * dim, 4 * dim) + 2 * conv(4, 4 * dim, 4 * dim) + conv(1, 4 * dim, styleDim);
  const resBlocks = 2 * nRes * conv(3, deep, deep);
  const content = conv(7, inputDim, dim) + sum(nd, (i) => conv(4, dim * 2 ** i, dim * 2 ** (i + 1))) + resBlocks;
  // Upsampling convolutions are followed by LayerNorm with a gain and a bias per channel.
  const decoder = resBlocks + sum(nd, (i) => conv(5, deep / 2 ** i, deep / 2 ** (i + 1)) + 2 * (deep / 2 ** (i + 1))) + conv(7, dim, inputDim);
  const mlp = linear(styleDim, mlpDim) + linear(mlpDim, mlpDim) + linear(mlpDim, 4 * nRes * deep);
  return style + content + decoder + mlp;
}

/** Trainable parameters of one multi-scale discriminator. */
export function discriminatorParameters(inputDim: number, dis: MunitConfig['dis']): number {
  const normed = dis.norm === 'bn' || dis.norm === 'ln';
  const scale =
    conv(4, inputDim, dis.dim) +
    sum(dis.n_layer - 1, (i) => conv(4, dis.dim * 2 ** i, dis.dim * 2 ** (i + 1)) + (normed ? 2 * dis.dim * 2 ** (i + 1) : 0)) +
    conv(1, dis.dim * 2 ** (dis.n_layer - 1), 1);
  return dis.num_scales * scale;
}

export interface TrainingEstimate {
  /** Trainable parameters of all four networks. */
  parameters: number;
  /** Weights, gradients and both Adam moments, float32. */
  stateBytes: number;
  /** Feature maps kept for the backward pass of one generator step, float32 (a rough lower estimate). */
  activationBytes: number;
}

/** What training a config needs in memory, estimated from the config before anything is allocated. */
export function estimateTraining(config: MunitConfig): TrainingEstimate {
  const { gen, dis } = config;
  const parameters =
    generatorParameters(config.input_dim_a, gen) +
    generatorParameters(config.input_dim_b, gen) +
    discriminatorParameters(config.input_dim_a, dis) +
    discriminatorParameters(config.input_dim_b, dis);
  const pixels = config.crop_image_height * config.crop_image_width;
  const nd = gen.n_downsample;
  const deep = gen.dim * 2 ** nd;
  const resMaps = 2 * gen.n_res * (pixels / 4 ** nd) * deep;
  const encoder = pixels * gen.dim + sum(nd, (i) => (pixels / 4 ** (i + 1)) * gen.dim * 2 ** (i + 1)) + resMaps;
  const styleEncoder = pixels * gen.dim * (1 + 1 / 2 + 1 / 4 + 1 / 16 + 1 / 64);
  const decoder = resMaps + sum(nd, (i) => 1.5 * (pixels / 4 ** (nd - i - 1)) * (deep / 2 ** (i + 1))) + pixels * 3;
  const discriminator = sum(Math.min(dis.num_scales, 16), (s) => sum(dis.n_layer, (l) => (pixels / 4 ** (s + l + 1)) * dis.dim * 2 ** l));
  // Per domain: encode, reconstruct, translate, re-encode the translation, judge it; each layer keeps about three
  // maps (convolution, normalisation, activation) for the backward pass.
  const perImage = 2 * 3 * (2 * (encoder + styleEncoder) + 2 * decoder + discriminator);
  return { parameters, stateBytes: 4 * 4 * parameters, activationBytes: 4 * config.batch_size * perImage };
}

/** Keys that set the size of the networks or of their inputs, with the reference's values. */
const SIZE_KEYS = [
  'gen.dim',
  'gen.mlp_dim',
  'gen.style_dim',
  'gen.n_res',
  'dis.dim',
  'dis.num_scales',
  'batch_size',
  'crop_image_height',
  'crop_image_width',
] as const;

export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (bytes >= 1024 && i < units.length - 1) [bytes, i] = [bytes / 1024, i + 1];
  return `${bytes < 10 && i > 0 ? bytes.toFixed(1) : Math.round(bytes)} ${units[i]}`;
}

/**
 * Refuses a config whose training cannot fit in this machine's memory, before the networks are built: building them
 * would take minutes and then fail with an out-of-memory or "memory access out of bounds" error.
 */
function checkModelSize({ config, written, usable, report }: Rule, memory = os.totalmem()): void {
  if (!usable(...SIZE_KEYS, 'gen.n_downsample', 'dis.n_layer', 'input_dim_a', 'input_dim_b')) return;
  const { parameters, stateBytes, activationBytes } = estimateTraining(config);
  if (stateBytes + activationBytes <= memory) return;
  // Blame the written key furthest above its reference value.
  const ratio = (k: (typeof SIZE_KEYS)[number]) => Number(valueAt(config, k)) / Number(getKeySpec(k)?.default ?? 1);
  const key =
    SIZE_KEYS.filter(written).reduce<(typeof SIZE_KEYS)[number] | undefined>((a, b) => (a === undefined || ratio(b) > ratio(a) ? b : a), undefined) ??
    'gen.dim';
  report(
    key,
    'error',
    `${key} is ${valueAt(config, key)}: training this config needs about ${formatBytes(stateBytes + activationBytes)} ` +
      `(${parameters.toExponential(2)} parameters: ${formatBytes(stateBytes)} of weights, gradients and Adam moments, plus ` +
      `about ${formatBytes(activationBytes)} of feature maps at ${config.crop_image_width}x${config.crop_image_height}), ` +
      `more than this machine's ${formatBytes(memory)} of memory. Lower ${key} (the reference uses ${getKeySpec(key)?.default}).`,
  );
}

function valueAt(config: MunitConfig, key: string): unknown {
  const [a, b] = key.split('.');
  const top = (config as unknown as Record<string, unknown>)[a];
  return b === undefined ? top : (top as Record<string, unknown>)[b];
}

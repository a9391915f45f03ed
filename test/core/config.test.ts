// Config loading and validation: the reference configs load unchanged, defaults fill gaps, and every kind of problem
// comes back with the right key, 0-based position and an actionable message.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isMap, parseDocument } from 'yaml';
import {
  checkDataPaths,
  ConfigError,
  defaultConfig,
  formatDiagnostic,
  loadConfig,
  parseConfig,
  type ConfigDiagnostic,
  type MunitConfig,
} from '../../munit-core/config/config.js';
import { CONFIG_SCHEMA, CONFIG_SECTIONS, REFERENCE_CONFIG_NAMES, getKeySpec } from '../../munit-core/config/schema.js';
import { editDistance, sizeProblem, suggestName } from '../../munit-core/config/validate.js';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'reference-configs');
const fixture = (name: string) => path.join(FIXTURES, `${name}.yaml`);

/** Reads a dotted key (`gen.dim`) from a config. */
function valueAt(config: MunitConfig, key: string): unknown {
  return key.split('.').reduce<unknown>((obj, k) => (obj as Record<string, unknown>)[k], config);
}

const errorsOf = (ds: ConfigDiagnostic[]) => ds.filter((d) => d.severity === 'error');

/** Parses `text` (with a dataset line added unless it has one) and returns the diagnostics for `key`. */
function diagnosticsFor(text: string, key: string): ConfigDiagnostic[] {
  const withData = /^(data_root|data_folder_)/m.test(text) ? text : `data_root: ./datasets/x/\n${text}`;
  return parseConfig(withData).diagnostics.filter((d) => d.key === key);
}

function only(text: string, key: string): ConfigDiagnostic {
  const found = diagnosticsFor(text, key);
  assert.equal(found.length, 1, `expected one diagnostic for ${key}, got ${JSON.stringify(found, null, 1)}`);
  return found[0];
}

describe('reference configs', () => {
  for (const name of REFERENCE_CONFIG_NAMES) {
    it(`${name} loads unchanged with no errors and the reference values`, () => {
      const text = fs.readFileSync(fixture(name), 'utf8');
      const { config, diagnostics } = parseConfig(text, fixture(name));
      assert.deepEqual(errorsOf(diagnostics), []);
      // Every value in the file is what the schema says the reference uses for this config.
      for (const spec of CONFIG_SCHEMA) {
        const want = spec.referenceValues?.[name] ?? spec.default;
        if (spec.ignoredReason || spec.key === 'vgg_model_path') continue;
        assert.equal(valueAt(config, spec.key), want, `${name}: ${spec.key}`);
      }
      // And the file holds no key the schema lacks (walk the raw YAML).
      const doc = parseDocument(text);
      assert.ok(isMap(doc.contents));
      for (const [k, v] of Object.entries(doc.toJS() as Record<string, unknown>)) {
        if (k === 'gen' || k === 'dis') for (const sub of Object.keys(v as object)) assert.ok(getKeySpec(`${k}.${sub}`), `${k}.${sub}`);
        else assert.ok(getKeySpec(k), k);
      }
      assert.doesNotThrow(() => loadConfig(fixture(name)));
    });
  }

  it('gets the values that differ between the reference configs right', () => {
    const load = (name: string) => loadConfig(fixture(name));
    const shoes = load('edges2shoes_folder');
    assert.equal(shoes.image_save_iter, 1000);
    assert.equal(shoes.display_size, 8);
    assert.equal(shoes.data_root, './datasets/edges2shoes/');
    assert.deepEqual(shoes.gen, { dim: 64, mlp_dim: 256, style_dim: 8, activ: 'relu', n_downsample: 2, n_res: 4, pad_type: 'reflect' });
    assert.deepEqual(shoes.dis, { dim: 64, norm: 'none', activ: 'lrelu', n_layer: 4, gan_type: 'lsgan', num_scales: 3, pad_type: 'reflect' });
    const winter = load('summer2winter_yosemite256_folder');
    assert.equal(winter.recon_x_cyc_w, 10);
    assert.equal(winter.data_root, './datasets/summer2winter_yosemite256/summer2winter_yosemite');
    const synthia = load('synthia2cityscape_folder');
    assert.equal(synthia.vgg_w, 1);
    assert.equal(synthia.new_size, 512);
    assert.equal(synthia.crop_image_width, 512);
    const list = load('demo_edges2handbags_list');
    assert.equal(list.data_root, undefined);
    assert.equal(list.data_list_test_b, './datasets/demo_edges2handbags/list_testB.txt');
    assert.equal(list.data_folder_train_a, './datasets/demo_edges2handbags/trainA');
  });

  it('warns (does not fail) that synthia2cityscape needs VGG-16 weights', () => {
    const warnings: string[] = [];
    loadConfig(fixture('synthia2cityscape_folder'), { onWarning: (w) => warnings.push(w) });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /synthia2cityscape_folder\.yaml:27:8: warning: vgg_w: .*vgg_model_path/);
  });
});

describe('schema and defaults', () => {
  it('documents every key, with sane enum and range data', () => {
    for (const spec of CONFIG_SCHEMA) {
      assert.ok(spec.doc.length > 80, `${spec.key} doc`);
      assert.ok(spec.summary.length > 0, `${spec.key} summary`);
      if (spec.type === 'enum') assert.ok(spec.values && spec.values.length > 1, `${spec.key} values`);
      if (spec.valueDocs) for (const v of spec.values ?? []) assert.ok(spec.valueDocs[String(v)], `${spec.key}=${v} doc`);
    }
    assert.deepEqual(
      CONFIG_SECTIONS.map((s) => s.key),
      ['gen', 'dis'],
    );
  });

  it('fills every default into a minimal config', () => {
    const { config, diagnostics } = parseConfig('data_root: ./datasets/edges2shoes/\n');
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(config, { ...defaultConfig(), data_root: './datasets/edges2shoes/' });
    assert.equal(config.lr, 0.0001);
    assert.equal(config.lr_policy, 'step');
    assert.equal(config.image_display_iter, 500);
    assert.equal(config.gen.style_dim, 8);
    assert.equal(config.dis.num_scales, 3);
    assert.equal(config.input_dim_b, 3);
    for (const spec of CONFIG_SCHEMA) {
      if (spec.default !== undefined) assert.equal(valueAt(config, spec.key), spec.default, spec.key);
    }
  });

  it('accepts every default when written out explicitly', () => {
    const lines = ['data_root: ./d'];
    for (const section of ['', 'gen', 'dis']) {
      if (section) lines.push(`${section}:`);
      for (const spec of CONFIG_SCHEMA) {
        const [head, tail] = spec.key.split('.');
        const inSection = tail === undefined ? section === '' : head === section;
        if (inSection && spec.default !== undefined) lines.push(`${section ? '  ' : ''}${tail ?? head}: ${spec.default}`);
      }
    }
    assert.deepEqual(parseConfig(lines.join('\n')).diagnostics, []);
  });

  it('suggests names by edit distance', () => {
    assert.equal(editDistance('kaiming', 'kaimng'), 1);
    assert.equal(editDistance('dispaly', 'display'), 1);
    assert.equal(suggestName('learning_rate', ['lr', 'gamma']), undefined);
    assert.equal(suggestName('None', ['none', 'bn']), 'none');
  });
});

describe('per-key errors', () => {
  it('reports an unknown key with a suggestion, at the key', () => {
    const d = only('lr_polcy: step\n', 'lr_polcy');
    assert.equal(d.severity, 'error');
    assert.equal(d.code, 'unknown-key');
    assert.equal(d.suggestion, 'lr_policy');
    assert.match(d.message, /did you mean 'lr_policy'\?/);
    assert.deepEqual(d.range, { line: 1, column: 0, endLine: 1, endColumn: 8 });
  });

  it('reports unknown and misplaced keys inside gen: and dis:', () => {
    const text = 'gen:\n  style_dims: 8\n  norm: in\ndis:\n  n_layers: 3\nn_res: 2\nfoo_bar_baz: 1\n';
    assert.equal(only(text, 'gen.style_dims').suggestion, 'style_dim');
    assert.equal(only(text, 'gen.style_dims').range.line, 2);
    assert.match(only(text, 'gen.norm').message, /belongs under dis:/);
    assert.equal(only(text, 'dis.n_layers').suggestion, 'n_layer');
    assert.match(only(text, 'n_res').message, /belongs under gen:/);
    assert.match(only(text, 'foo_bar_baz').message, /no such setting/);
  });

  it('reports wrong types and keeps the default', () => {
    const d = only('lr: fast\n', 'lr');
    assert.equal(d.code, 'type');
    assert.match(d.message, /lr must be a number, but it is the text 'fast'/);
    assert.deepEqual(d.range, { line: 1, column: 4, endLine: 1, endColumn: 8 });
    assert.equal(parseConfig('data_root: x\nlr: fast\n').config.lr, 0.0001);

    const float = only('gen:\n  dim: 64.5\n', 'gen.dim');
    assert.match(float.message, /gen\.dim must be a whole number, but it is 64\.5/);
    assert.equal(float.range.line, 2);
    assert.equal(float.range.column, 7);
    assert.match(only('gen:\n  n_res: 4.0\n', 'gen.n_res').message, /whole number.*write 4/);
    assert.match(only("max_iter: '1000'\n", 'max_iter').message, /remove the quotes/);
    assert.match(only('data_root: 2024\n', 'data_root').message, /must be a path/);
    assert.match(only('lr:\n', 'lr').message, /has no value.*0\.0001/);
    assert.match(only('batch_size: [1, 2]\n', 'batch_size').message, /not a list/);
    assert.match(only('gen: 64\n', 'gen').message, /indented/);
    assert.equal(only('gen:\n', 'gen').severity, 'warning');
  });

  it('reports values out of range with the limit', () => {
    assert.match(only('lr: 0\n', 'lr').message, /lr must be greater than 0, but it is 0/);
    assert.match(only('display_size: 0\n', 'display_size').message, /between 1 and 256/);
    assert.match(only('image_display_iter: 0\n', 'image_display_iter').message, /at least 1/);
    assert.match(only('gen:\n  n_downsample: 7\n', 'gen.n_downsample').message, /between 0 and 6, but it is 7/);
    assert.match(only('gen:\n  style_dim: 0\n', 'gen.style_dim').message, /between 1 and 1024/);
    assert.match(only('beta1: 1\n', 'beta1').message, /less than 1/);
    assert.match(only('vgg_w: -1\n', 'vgg_w').message, /at least 0.*switch the term off/);
    const d = only('recon_s_w: -0.5\n', 'recon_s_w');
    assert.equal(d.code, 'range');
    assert.equal(d.range.line, 1);
  });

  it('bounds every structural key, so no size can hang validation or exhaust memory', () => {
    const started = performance.now();
    // Each of these made validation (munit info, the language server) loop forever or the trainer run out of memory.
    assert.match(only('dis:\n  n_layer: 65\n', 'dis.n_layer').message, /dis.n_layer must be between 1 and 12, but it is 65/);
    assert.match(only('dis:\n  num_scales: 2147483648\n', 'dis.num_scales').message, /between 1 and 8, but it is 2147483648/);
    assert.match(only('gen:\n  n_res: 100000\n', 'gen.n_res').message, /between 1 and 64, but it is 100000/);
    for (const key of [
      'gen.dim',
      'gen.mlp_dim',
      'gen.style_dim',
      'gen.n_res',
      'gen.n_downsample',
      'dis.dim',
      'dis.n_layer',
      'dis.num_scales',
      'batch_size',
      'display_size',
      'new_size',
      'crop_image_height',
      'crop_image_width',
      'num_workers',
    ]) {
      assert.ok(getKeySpec(key)?.max !== undefined, `${key} has an upper bound`);
    }
    // The size search itself is closed-form: even values past the bounds come back at once.
    const { gen, dis } = defaultConfig();
    assert.match(sizeProblem(256, gen, { ...dis, n_layer: 30 })!, /need at least 1073741824; use at least 4294967296,/);
    assert.match(sizeProblem(256, gen, { ...dis, n_layer: 65, num_scales: 2147483648 })!, /too small for the discriminator/);
    assert.equal(sizeProblem(256, gen, dis), undefined);
    assert.ok(performance.now() - started < 2000);
  });

  it('refuses a config whose training cannot fit in memory, with the key, its line and the estimate', () => {
    const text = 'new_size: 1024\ncrop_image_height: 1024\ncrop_image_width: 1024\ngen:\n  dim: 1024\n  n_res: 64\n';
    const d = only(text, 'gen.dim');
    assert.equal(d.severity, 'error');
    assert.equal(d.range.line, 5);
    assert.match(
      d.message,
      /^gen.dim is 1024: training this config needs about [\d.]+ (TiB|PiB) \([\d.]+e\+\d+ parameters: .* of weights, gradients and Adam moments, plus about .* of feature maps at 1024x1024\), more than this machine's .* of memory. Lower gen.dim \(the reference uses 64\)\.$/,
    );
    // The reference config is nowhere near.
    assert.deepEqual(errorsOf(parseConfig('data_root: ./x\n').diagnostics), []);
  });

  it('reports enum values not in the list, naming the allowed ones', () => {
    const d = only('init: kaimng\n', 'init');
    assert.equal(d.code, 'enum');
    assert.match(d.message, /one of gaussian, kaiming, xavier, orthogonal, default/);
    assert.equal(d.suggestion, 'kaiming');
    assert.match(only('dis:\n  gan_type: wgan\n', 'dis.gan_type').message, /lsgan or nsgan/);
    assert.match(only('dis:\n  norm: batch\n', 'dis.norm').message, /none, bn, in, ln/);
    assert.match(only('input_dim_a: 4\n', 'input_dim_a').message, /1 \(greyscale\) or 3 \(RGB colour\)/);
    const replicate = only('gen:\n  pad_type: replicate\n', 'gen.pad_type');
    assert.equal(replicate.code, 'unsupported');
    assert.match(replicate.message, /does not support; use reflect .* or zero/);
  });

  it('accepts and ignores the UNIT key recon_kl_w with a warning', () => {
    const { config, diagnostics } = parseConfig('data_root: x\nrecon_kl_w: 0.01\n');
    assert.equal(diagnostics.length, 1);
    assert.equal(diagnostics[0].severity, 'warning');
    assert.equal(diagnostics[0].key, 'recon_kl_w');
    assert.ok(!('recon_kl_w' in config));
  });

  it('reports a key set twice and uses the last value', () => {
    const { config, diagnostics } = parseConfig('data_root: x\nlr: 0.1\nlr: 0.2\n');
    assert.equal(diagnostics.length, 1);
    assert.equal(diagnostics[0].code, 'duplicate-key');
    assert.equal(diagnostics[0].range.line, 2);
    assert.match(diagnostics[0].message, /first on line 2/);
    assert.equal(config.lr, 0.2);
  });
});

describe('combinations', () => {
  it('rejects a crop larger than new_size', () => {
    const d = only('new_size: 128\ncrop_image_height: 256\ncrop_image_width: 128\n', 'crop_image_height');
    assert.equal(d.code, 'combination');
    assert.equal(d.range.line, 2);
    assert.match(d.message, /larger than new_size \(128\).*Lower crop_image_height or raise new_size/);
  });

  it('rejects crops the networks cannot process', () => {
    assert.match(only('crop_image_width: 250\n', 'crop_image_width').message, /multiple of 4 .*use 248 or 252/);
    assert.match(
      only('new_size: 32\ncrop_image_width: 32\ncrop_image_height: 32\n', 'crop_image_width').message,
      /too small for the discriminator.*at least 64/,
    );
    assert.match(only('new_size: 8\ncrop_image_width: 8\ncrop_image_height: 8\n', 'crop_image_width').message, /style encoder/);
  });

  it('needs exactly one data layout, complete', () => {
    const neither = parseConfig('lr: 0.0001\n').diagnostics;
    assert.equal(neither.length, 1);
    assert.equal(neither[0].key, 'data_root');
    assert.match(neither[0].message, /No dataset is set/);
    assert.deepEqual(neither[0].range, { line: 0, column: 0, endLine: 0, endColumn: 0 });

    const both = only('data_root: ./d\ndata_folder_train_a: ./a\n', 'data_root');
    assert.match(both.message, /use either the folder layout .* or the list layout/);

    const partial = parseConfig('data_folder_train_a: ./a\ndata_list_train_a: ./a.txt\n').diagnostics;
    assert.deepEqual(partial.map((d) => d.key).sort(), [
      'data_folder_test_a',
      'data_folder_test_b',
      'data_folder_train_b',
      'data_list_test_a',
      'data_list_test_b',
      'data_list_train_b',
    ]);
  });

  it('checks the perceptual-loss settings', () => {
    const noPath = only('vgg_w: 1\n', 'vgg_w');
    assert.equal(noPath.severity, 'warning');
    assert.match(noPath.message, /vgg_model_path is not set/);
    assert.deepEqual(diagnosticsFor('vgg_w: 1\nvgg_model_path: ./vgg16\n', 'vgg_w'), []);
    const grey = only('vgg_w: 1\nvgg_model_path: ./v\ninput_dim_b: 1\n', 'input_dim_b');
    assert.equal(grey.severity, 'error');
    assert.match(grey.message, /3-channel/);
    assert.deepEqual(diagnosticsFor('input_dim_b: 1\n', 'input_dim_b'), []);
  });

  it('checks the learning-rate schedule', () => {
    assert.match(only('lr_policy: step\n', 'step_size').message, /step_size is not set; the default 100000/);
    assert.deepEqual(diagnosticsFor('lr_policy: constant\n', 'step_size'), []);
    assert.match(only('max_iter: 5000\nsnapshot_save_iter: 1000\n', 'step_size').message, /never decays/);
    assert.match(only('max_iter: 5000\nstep_size: 1000\n', 'snapshot_save_iter').message, /no periodic checkpoint/);
  });

  it('skips rules that would read a rejected value', () => {
    // new_size is invalid, so its default must not be compared with the crop.
    assert.deepEqual(diagnosticsFor('new_size: big\ncrop_image_height: 300\ncrop_image_width: 300\n', 'crop_image_height'), []);
  });
});

describe('YAML syntax errors', () => {
  it('become diagnostics with a position, and parsing still returns a config', () => {
    const { config, diagnostics } = parseConfig('data_root: ./d\nlr: [0.1\ngamma: 0.5\n');
    const syntax = diagnostics.filter((d) => d.code === 'syntax');
    assert.ok(syntax.length >= 1);
    assert.equal(syntax[0].severity, 'error');
    assert.equal(syntax[0].key, '');
    assert.match(syntax[0].message, /^YAML syntax error: /);
    assert.ok(syntax[0].range.line >= 1);
    assert.equal(config.gamma, 0.5);
  });

  it('reports tabs used for indentation', () => {
    const { diagnostics } = parseConfig('data_root: ./d\ngen:\n\tdim: 64\n');
    assert.ok(
      diagnostics.some((d) => d.code === 'syntax' && d.range.line === 2),
      JSON.stringify(diagnostics),
    );
  });

  it('rejects a document that is not a mapping', () => {
    const { diagnostics } = parseConfig('- lr: 1\n');
    assert.equal(diagnostics.length, 1);
    assert.match(diagnostics[0].message, /key: value/);
  });

  it('never throws on odd input', () => {
    for (const text of ['', '#', ':', '- - -', '{', '"', 'a: &x 1\nb: *x\n', 'lr: *nope\n', '\u0000', 'gen: {dim: }', '? [a]\n: 1\n']) {
      assert.doesNotThrow(() => parseConfig(text), JSON.stringify(text));
    }
  });
});

describe('loadConfig', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'munit-config-'));

  it('names the path of a missing file', () => {
    const missing = path.join(tmp, 'no-such-config.yaml');
    assert.throws(
      () => loadConfig(missing),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /no-such-config\.yaml.*does not exist/);
        assert.ok(err.message.includes(missing));
        return true;
      },
    );
  });

  it('lists every error as file:line:col: key: message and lets warnings through', () => {
    const file = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(file, 'data_root: ./d\nlr: 0\ninit: kaimng\nrecon_kl_w: 1\n');
    assert.throws(
      () => loadConfig(file),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.diagnostics.length, 2);
        const lines = err.message.split('\n');
        assert.ok(lines.includes(`${file}:2:5: lr: must be greater than 0, but it is 0. The reference uses 0.0001.`), err.message);
        assert.ok(
          lines.some((l) => l.startsWith(`${file}:3:7: init: must be one of`)),
          err.message,
        );
        assert.ok(!err.message.includes('recon_kl_w'));
        return true;
      },
    );
    const warned = path.join(tmp, 'warned.yaml');
    fs.writeFileSync(warned, '\uFEFFdata_root: ./d\nrecon_kl_w: 1\n');
    const seen: string[] = [];
    const config = loadConfig(warned, { onWarning: (w) => seen.push(w) });
    assert.equal(config.data_root, './d');
    assert.equal(seen.length, 1);
    assert.match(seen[0], /^.*warned\.yaml:2:1: warning: recon_kl_w: is a UNIT setting .* so it is ignored\./);
  });

  it('formats diagnostics 1-based', () => {
    const range = { line: 0, column: 0, endLine: 0, endColumn: 1 };
    const d: ConfigDiagnostic = { key: 'gen.dim', message: 'Unknown thing.', severity: 'error', range };
    assert.equal(formatDiagnostic(d, 'c.yaml'), 'c.yaml:1:1: gen.dim: Unknown thing.');
  });
});

describe('checkDataPaths', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'munit-data-'));
  const touch = (p: string, text = 'x') => {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, text);
  };

  it('reports a missing data_root with its key, path and line', () => {
    const { config } = parseConfig('lr: 0.0001\ndata_root: ./missing-dataset/\n', path.join(root, 'c.yaml'));
    const ds = checkDataPaths(config, root, root);
    assert.equal(ds.length, 1);
    assert.equal(ds[0].key, 'data_root');
    assert.equal(ds[0].range.line, 1);
    assert.ok(ds[0].message.includes(path.join(root, 'missing-dataset')), ds[0].message);
  });

  it('reports missing and empty domain folders', () => {
    const data = path.join(root, 'folder-layout');
    touch(path.join(data, 'trainA', 'sub', 'a.JPG'));
    touch(path.join(data, 'testA', 'a.png'));
    fs.mkdirSync(path.join(data, 'trainB'), { recursive: true });
    touch(path.join(data, 'trainB', 'notes.txt'));
    const ds = checkDataPaths(parseConfig(`data_root: ${data}\n`).config, root, root);
    assert.deepEqual(
      ds.map((d) => d.key),
      ['data_root', 'data_root'],
    );
    assert.match(ds[0].message, /trainB holds no images/);
    assert.match(ds[1].message, /testB is missing/);
    touch(path.join(data, 'trainB', 'b.jpeg'));
    touch(path.join(data, 'testB', 'b.bmp'));
    assert.deepEqual(checkDataPaths(parseConfig(`data_root: ${data}\n`).config, root, root), []);
  });

  it('resolves relative paths from the config folder, then from the working directory', () => {
    const configDir = path.join(root, 'configs');
    for (const sub of ['trainA', 'trainB', 'testA', 'testB']) touch(path.join(configDir, 'ds', sub, 'i.png'));
    const { config } = parseConfig('data_root: ./ds\n', path.join(configDir, 'c.yaml'));
    assert.deepEqual(checkDataPaths(config, configDir, root), []);
    // configDir defaults to the folder of the file given to parseConfig.
    assert.deepEqual(checkDataPaths(config, undefined, root), []);
    assert.equal(checkDataPaths(config, path.join(root, 'elsewhere'), root).length, 1);
    // Both exist: the config's folder wins over the working directory's incomplete ./ds.
    fs.mkdirSync(path.join(root, 'ds'), { recursive: true });
    assert.deepEqual(checkDataPaths(config, configDir, root), []);
  });

  it('checks the list layout key by key', () => {
    const data = path.join(root, 'list-layout');
    touch(path.join(data, 'trainA', 'a.png'));
    touch(path.join(data, 'listA.txt'), '\na.png\n');
    touch(path.join(data, 'testA', 'a.png'));
    touch(path.join(data, 'listTestA.txt'), 'missing.png\n');
    touch(path.join(data, 'trainB', 'b.png'));
    touch(path.join(data, 'empty.txt'), '\n\n');
    const lines = [
      `data_folder_train_a: ${data}/trainA`,
      `data_list_train_a: ${data}/listA.txt`,
      `data_folder_test_a: ${data}/testA`,
      `data_list_test_a: ${data}/listTestA.txt`,
      `data_folder_train_b: ${data}/trainB`,
      `data_list_train_b: ${data}/empty.txt`,
      `data_folder_test_b: ${data}/nope`,
      `data_list_test_b: ${data}/nope.txt`,
    ];
    const { config, diagnostics } = parseConfig(lines.join('\n'));
    assert.deepEqual(diagnostics, []);
    const ds = checkDataPaths(config, root, root);
    assert.deepEqual(
      ds.map((d) => [d.key, d.range.line]),
      [
        ['data_list_test_a', 3],
        ['data_list_train_b', 5],
        ['data_folder_test_b', 6],
        ['data_list_test_b', 7],
      ],
    );
    assert.match(ds[0].message, /\(line 1\) names no file in data_folder_test_a/);
    assert.ok(!ds[0].message.includes('missing.png'), "the list file's content is not quoted");
    assert.match(ds[1].message, /is empty/);
    assert.ok(ds[2].message.includes(path.join(data, 'nope')));
  });

  it('checks the VGG weights only when the perceptual loss is on', () => {
    const text = (w: number) => `data_root: ${root}\nvgg_w: ${w}\nvgg_model_path: ./no-vgg.bin\n`;
    const keys = (w: number) => checkDataPaths(parseConfig(text(w)).config, root, root).map((d) => d.key);
    assert.ok(keys(1).includes('vgg_model_path'));
    assert.ok(!keys(0).includes('vgg_model_path'));
  });
});

// Training runs end to end on real image files: run folder, checkpoints, resume equality, translation, the CLI.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { completeCheckpoints, checkpointFile, loadGenerators } from '../../munit-core/checkpoint.js';
import { toStateDict } from '../../munit-core/state-dict.js';
import { generateDemoDataset } from '../../munit-core/data/demo-dataset.js';
import { readSafetensors } from '../../munit-core/safetensors.js';
import { runTraining } from '../../munit-core/training-run.js';
import { translateFiles } from '../../munit-core/translate-files.js';
import { loadConfig } from '../../munit-core/config/config.js';
import { AdaINGen } from '../../munit-core/networks/generator.js';
import { expectNoLeakedTensors, expectTensorsClose, useBackend, writeTinyConfig } from './helpers.js';

const SIZE = 16;
let root: string;
let dataRoot: string;

function writeConfig(name: string, overrides: Record<string, string | number>): string {
  return writeTinyConfig(root, dataRoot, SIZE, name, overrides);
}

function genWeights(runDir: string, iteration: number): Map<string, Float32Array> {
  const { tensors } = readSafetensors(checkpointFile(path.join(runDir, 'checkpoints'), 'gen', iteration));
  return new Map([...tensors].map(([k, v]) => [k, v.data]));
}

describe('training runs', () => {
  before(async () => {
    await useBackend('wasm');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'munit-run-'));
    dataRoot = path.join(root, 'data');
    await generateDemoDataset(dataRoot, { size: SIZE, count: 6, testCount: 2, seed: 1 });
  });

  it('writes the run folder: config copy, metrics.jsonl, labelled grids with a gallery, checkpoints', async () => {
    const config = writeConfig('layout', { max_iter: 4, image_display_iter: 2, image_save_iter: 4, snapshot_save_iter: 2 });
    const metrics: number[] = [];
    const result = await expectNoLeakedTensors(() =>
      runTraining({ configPath: config, outputPath: path.join(root, 'out'), onMetrics: (m) => metrics.push(m.iteration) }),
    );
    assert.deepEqual(result, { runDir: path.join(root, 'out', 'layout'), iteration: 4, stoppedBy: 'max_iter' });
    assert.equal(fs.readFileSync(path.join(result.runDir, 'config.yaml'), 'utf8'), fs.readFileSync(config, 'utf8'));
    const lines = fs
      .readFileSync(path.join(result.runDir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => l.iteration),
      [1, 2, 3, 4],
    );
    assert.deepEqual(metrics, [1, 2, 3, 4]);
    for (const key of ['lr', 'seconds_per_iter', 'loss_dis_total', 'loss_gen_total', 'loss_gen_recon_x_a', 'loss_gen_adv_b'])
      assert.equal(typeof lines[0][key], 'number', key);
    const images = fs.readdirSync(path.join(result.runDir, 'images')).sort();
    for (const name of ['gen_a2b_train_current.png', 'gen_b2a_test_current.png', 'gen_a2b_train_00000004.png', 'gen_b2a_test_00000004.png', 'index.html'])
      assert.ok(images.includes(name), name);
    assert.match(fs.readFileSync(path.join(result.runDir, 'images', 'index.html'), 'utf8'), /gen_a2b_test_00000004\.png/);
    assert.deepEqual(completeCheckpoints(path.join(result.runDir, 'checkpoints')), [2, 4]);
    // Generator checkpoint: the reference's names under a./b., PyTorch layout.
    const { tensors, metadata } = readSafetensors(checkpointFile(path.join(result.runDir, 'checkpoints'), 'gen', 4));
    assert.equal(metadata.iteration, '4');
    assert.deepEqual(tensors.get('a.enc_style.model.0.conv.weight')!.shape, [4, 1, 7, 7]);
    assert.deepEqual(tensors.get('b.dec.model.5.conv.weight')!.shape, [3, 4, 7, 7]);
    assert.deepEqual(tensors.get('b.mlp.model.2.fc.weight')!.shape, [4 * 4 * 2 * 2, 8]);
  });

  it('training N+M iterations equals training N, saving, resuming and training M', async () => {
    const out = path.join(root, 'resume');
    const full = await runTraining({ configPath: writeConfig('full', { max_iter: 6 }), outputPath: out, seed: 7 });
    const partConfig = writeConfig('part', { max_iter: 3 });
    await runTraining({ configPath: partConfig, outputPath: out, seed: 7 });
    writeConfig('part', { max_iter: 6 });
    const resumed = await runTraining({ configPath: partConfig, outputPath: out, seed: 7, resume: true });
    assert.equal(resumed.iteration, 6);
    const a = genWeights(full.runDir, 6);
    const b = genWeights(resumed.runDir, 6);
    assert.deepEqual([...a.keys()], [...b.keys()]);
    for (const [name, values] of a) expectTensorsClose(b.get(name)!, values, 1e-5, name);
    // And the runs really trained: weights moved from iteration 3.
    const mid = genWeights(resumed.runDir, 3);
    assert.ok([...mid].some(([name, v]) => v.some((x, i) => x !== a.get(name)![i])));
  });

  it('a checkpoint interrupted mid-write is not taken as the newest', async () => {
    const config = writeConfig('crash', { max_iter: 2, snapshot_save_iter: 1 });
    const result = await runTraining({ configPath: config, outputPath: path.join(root, 'crash') });
    const dir = path.join(result.runDir, 'checkpoints');
    // Simulate a crash while saving iteration 3: its gen file is written, the others are not.
    fs.copyFileSync(checkpointFile(dir, 'gen', 2), checkpointFile(dir, 'gen', 3));
    fs.writeFileSync(checkpointFile(dir, 'dis', 3) + '.tmp-123', 'partial');
    assert.deepEqual(completeCheckpoints(dir), [1, 2]);
    writeConfig('crash', { max_iter: 3, snapshot_save_iter: 1 });
    const resumed = await runTraining({ configPath: config, outputPath: path.join(root, 'crash'), resume: true });
    assert.equal(resumed.iteration, 3);
    assert.deepEqual(completeCheckpoints(dir), [1, 2, 3]);
  });

  it('translation: N styles per input, deterministic for a seed, example-guided and synchronized', async () => {
    const configPath = writeConfig('layout', { max_iter: 4, image_display_iter: 2, image_save_iter: 4, snapshot_save_iter: 2 });
    const config = loadConfig(configPath);
    const runDir = path.join(root, 'out', 'layout');
    const input = path.join(dataRoot, 'testA');
    const run = (name: string, extra: Partial<Parameters<typeof translateFiles>[0]>) =>
      translateFiles({
        config,
        checkpoint: runDir,
        input,
        direction: 'a2b',
        numStyles: 3,
        seed: 5,
        synchronized: false,
        outputFolder: path.join(root, name),
        ...extra,
      });
    const [first, again] = await expectNoLeakedTensors(async () => [await run('t1', {}), await run('t2', {})]);
    assert.equal(first.length, 2 * (1 + 3));
    const outputs = first.filter((f) => /_style_\d\d\.png$/.test(f));
    for (const [i, file] of outputs.entries()) assert.deepEqual(fs.readFileSync(file), fs.readFileSync(again.filter((f) => /_style_/.test(f))[i]));
    assert.notDeepEqual(fs.readFileSync(outputs[0]), fs.readFileSync(outputs[1]), 'different styles give different images');
    const guided = await run('t3', { styleImage: path.join(dataRoot, 'testB', fs.readdirSync(path.join(dataRoot, 'testB'))[0]), numStyles: 1 });
    assert.equal(guided.length, 2 * 2);
    const synced = await run('t4', { synchronized: true, direction: 'b2a', input: path.join(dataRoot, 'testB') });
    assert.equal(synced.length, 2 * 4);
    await assert.rejects(run('t5', { checkpoint: path.join(root, 'nowhere') }), /checkpoint .*nowhere does not exist/);
  });

  it('the munit command line trains, translates and reports errors in one line', () => {
    const cli = path.join(__dirname, '../../munit-core/cli.ts');
    const node = (args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], {
        encoding: 'utf8',
        cwd: path.join(__dirname, '..', '..'),
        env: { ...process.env, MUNIT_BACKEND: 'wasm' },
      });
    const config = writeConfig('cli', { max_iter: 2 });
    const trained = node(['train', '--config', config, '--output-path', path.join(root, 'cli-out')]);
    assert.equal(trained.status, 0, trained.stderr);
    assert.match(trained.stdout, /reached max_iter at iteration 2/);
    const translated = node([
      'translate',
      '--config',
      config,
      '--checkpoint',
      path.join(root, 'cli-out', 'cli'),
      '--input',
      path.join(dataRoot, 'testA'),
      '--num-style',
      '2',
      '--output-folder',
      path.join(root, 'cli-t'),
    ]);
    assert.equal(translated.status, 0, translated.stderr);
    assert.equal(fs.readdirSync(path.join(root, 'cli-t')).length, 2 * 3);
    const info = node(['info', '--config', config]);
    assert.match(info.stdout, /^backend: wasm/m);
    assert.match(info.stdout, /^gen_a \d+$/m);
    const missing = node(['train', '--config', path.join(root, 'missing.yaml')]);
    assert.equal(missing.status, 1);
    assert.equal(missing.stderr.trim().split('\n').length, 1);
    assert.match(missing.stderr, /^munit: .*missing\.yaml/);
  });

  it('a generator checkpoint loads into fresh networks with the same config', async () => {
    const config = loadConfig(path.join(root, 'layout.yaml'));
    const file = checkpointFile(path.join(root, 'out', 'layout', 'checkpoints'), 'gen', 4);
    const saved = readSafetensors(file).tensors;
    const fresh = { genA: new AdaINGen(config.input_dim_a, config.gen), genB: new AdaINGen(config.input_dim_b, config.gen) };
    const initial = await toStateDict(fresh.genA.params, 'a.');
    loadGenerators(fresh, file);
    for (const [prefix, gen] of [
      ['a.', fresh.genA],
      ['b.', fresh.genB],
    ] as const) {
      const loaded = await toStateDict(gen.params, prefix);
      // Every saved weight of the domain, and nothing else, read back with its values (the layout round trip is exact).
      assert.deepEqual([...loaded.keys()].sort(), [...saved.keys()].filter((k) => k.startsWith(prefix)).sort());
      for (const [name, t] of loaded) {
        assert.deepEqual(t.shape, saved.get(name)!.shape, `${name}: shape`);
        expectTensorsClose(t.data, saved.get(name)!.data, 0, name);
      }
    }
    // Loading changed the weights: the trained ones are not the fresh initialisation.
    assert.ok(
      [...initial].some(([name, t]) => t.data.some((v, i) => v !== saved.get(name)!.data[i])),
      'the checkpoint differs from a fresh network',
    );
    fresh.genA.dispose();
    fresh.genB.dispose();
  });
});

// Runs of the reference PyTorch code: torch.save files in both formats (test/fixtures/torch/make_fixtures.py), their
// networks and optimizer states, `munit import`, and files a loader must refuse.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { checkpointFile, completeCheckpoints, loadGenerators, resumeCheckpoint } from '../../munit-core/checkpoint.js';
import { loadConfig, MunitConfig } from '../../munit-core/config/config.js';
import { demoConfigYaml, generateDemoDataset } from '../../munit-core/data/demo-dataset.js';
import { referenceShape } from '../../munit-core/layers/params.js';
import { AdaINGen } from '../../munit-core/networks/generator.js';
import { readSafetensors } from '../../munit-core/safetensors.js';
import { runTraining } from '../../munit-core/training-run.js';
import { MunitTrainer } from '../../munit-core/trainer.js';
import { translateWithStyles } from '../../munit-core/translate.js';
import { translateFiles } from '../../munit-core/translate-files.js';
import { findReferenceCheckpoint, importTorchRun, loadTorchGenerators } from '../../munit-core/torch/import-run.js';
import { networkPair, optimizerPair, readNetworkPair, readOptimizerPair } from '../../munit-core/torch/reference-checkpoint.js';
import { decodeTorchFile, readTorchFile, tensorValues, TorchFileError, TorchTensor } from '../../munit-core/torch/torch-file.js';
import { PickleCallable, unpickle } from '../../munit-core/torch/pickle.js';
import { readZipDirectory } from '../../munit-core/torch/zip-reader.js';
import { expectNoLeakedTensors, expectTensorsClose, maxAbsDiff, seeded, useBackend } from './helpers.js';

const FIXTURES = path.join(__dirname, '../fixtures/torch');
const RUN = path.join(FIXTURES, 'run/outputs/tiny');
const ZIP = path.join(RUN, 'checkpoints');
const LEGACY = path.join(FIXTURES, 'legacy');
const CONFIG = path.join(RUN, 'config.yaml');
let root: string;
let config: MunitConfig;

function tensor(map: unknown, key: string): TorchTensor {
  const t = (map as Map<string, unknown>).get(key);
  assert.ok(t instanceof TorchTensor, `${key} is a tensor`);
  return t;
}

function generators(): { genA: AdaINGen; genB: AdaINGen; dispose(): void } {
  const genA = new AdaINGen(config.input_dim_a, config.gen);
  const genB = new AdaINGen(config.input_dim_b, config.gen);
  return { genA, genB, dispose: () => (genA.dispose(), genB.dispose()) };
}

/** NCHW (PyTorch) data to NHWC. */
function nhwc(t: TorchTensor): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(tensorValues(t), t.shape as [number, number, number, number]), [0, 2, 3, 1]));
}

function importQuietly(options: Parameters<typeof importTorchRun>[0]): Promise<{ result: Awaited<ReturnType<typeof importTorchRun>>; warnings: string[] }> {
  const warnings: string[] = [];
  return importTorchRun({ ...options, onWarning: (w) => warnings.push(w) }).then((result) => ({ result, warnings }));
}

describe('PyTorch files', () => {
  before(async () => {
    await useBackend('wasm');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'munit-torch-'));
    config = loadConfig(CONFIG);
  });

  it('reads both formats with exact values: views of one storage, other dtypes, 0-d tensors, parameters, Python values', () => {
    for (const format of ['zip', 'legacy']) {
      const values = readTorchFile(path.join(FIXTURES, 'values', `${format}.pt`));
      assert.ok(values instanceof Map);
      const base = Array.from({ length: 24 }, (_, i) => i / 8 - 1);
      assert.deepEqual(Array.from(tensorValues(tensor(values, 'base'))), base);
      assert.deepEqual(tensor(values, 'base').shape, [2, 3, 4]);
      // base.transpose(0, 2): element [i, j, k] is base[k, j, i].
      const transposed = tensor(values, 'transposed');
      assert.deepEqual(
        [transposed.shape, transposed.strides],
        [
          [4, 3, 2],
          [1, 4, 12],
        ],
      );
      assert.equal(transposed.data, tensor(values, 'base').data, 'views share their storage');
      const expected = [];
      for (let i = 0; i < 4; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 2; k++) expected.push(base[k * 12 + j * 4 + i]);
      assert.deepEqual(Array.from(tensorValues(transposed)), expected);
      assert.deepEqual(
        Array.from(tensorValues(tensor(values, 'narrow'))),
        [18, 19, 22, 23].map((i) => base[i]),
      );
      assert.equal(tensor(values, 'narrow').offset, 18);
      assert.deepEqual(Array.from(tensorValues(tensor(values, 'float64'))), [1 / 3, -2.5e-10, 1e30].map(Math.fround));
      for (const dtype of ['float16', 'bfloat16']) {
        assert.equal(tensor(values, dtype).dtype, dtype);
        assert.deepEqual(Array.from(tensorValues(tensor(values, dtype))), Array.from(tensorValues(tensor(values, `${dtype}_values`))));
      }
      assert.deepEqual(Array.from(tensorValues(tensor(values, 'int64'))), [-3, 0, 2 ** 40]);
      assert.deepEqual(Array.from(tensorValues(tensor(values, 'int32'))), [-7, 7]);
      assert.deepEqual([tensor(values, 'scalar').shape, Array.from(tensorValues(tensor(values, 'scalar')))], [[], [2.5]]);
      assert.deepEqual(Array.from(tensorValues(tensor(values, 'parameter'))), [0.75, 0.75]);
      assert.deepEqual(values.get('python'), [1, -2.5, 'text', null, true, [3, 4], 2n ** 70n, -(2 ** 31)]);
      assert.deepEqual(
        [tensor(values, 'rebuild_v1').offset, Array.from(tensorValues(tensor(values, 'rebuild_v1')))],
        [1, [3, 2, 1]],
        "PyTorch 0.3's _rebuild_tensor",
      );
    }
  });

  it('a legacy and a zip file of the same weights give identical networks, with the reference names and shapes', () => {
    const zip = readNetworkPair(path.join(ZIP, 'gen_00000002.pt'));
    const legacy = readNetworkPair(path.join(LEGACY, 'gen_00000002.pt'));
    assert.deepEqual([...zip.keys()], [...legacy.keys()]);
    for (const [name, t] of zip) {
      assert.deepEqual(t.shape, legacy.get(name)!.shape, name);
      assert.deepEqual(
        Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
        Buffer.from(legacy.get(name)!.data.buffer, legacy.get(name)!.data.byteOffset, legacy.get(name)!.data.byteLength),
        name,
      );
    }
    assert.deepEqual(zip.get('a.enc_style.model.0.conv.weight')!.shape, [1, 3, 7, 7]);
    assert.deepEqual(zip.get('b.dec.model.0.model.0.model.0.norm.running_var')!.shape, [2]);
    expectNoLeakedTensors(() => {
      const [fromZip, fromLegacy] = [generators(), generators()];
      loadTorchGenerators(fromZip, path.join(ZIP, 'gen_00000002.pt'));
      loadTorchGenerators(fromLegacy, path.join(LEGACY, 'gen_00000002.pt'));
      for (const [name, entry] of fromZip.genB.params.entries) {
        assert.deepEqual(entry.variable.dataSync(), fromLegacy.genB.params.get(name).dataSync(), name);
      }
      fromZip.dispose();
      fromLegacy.dispose();
    });
  });

  it("translation with imported weights equals PyTorch's, and equals translation from the converted checkpoint", async () => {
    const expected = readTorchFile(path.join(FIXTURES, 'expected/translation.pt'));
    const { result } = await importQuietly({ source: RUN, outputPath: path.join(root, 'translate') });
    expectNoLeakedTensors(() => {
      const [pt, ours] = [generators(), generators()];
      loadTorchGenerators(pt, path.join(ZIP, 'gen_00000002.pt'));
      loadGenerators(ours, checkpointFile(path.join(result.runDir, 'checkpoints'), 'gen', 2));
      const x = nhwc(tensor(expected, 'x'));
      const styles = tf.tensor2d(tensorValues(tensor(expected, 'styles')), [2, config.gen.style_dim]);
      const fromPt = translateWithStyles(pt.genA, pt.genB, x, styles);
      const fromOurs = translateWithStyles(ours.genA, ours.genB, x, styles);
      const torchOut = nhwc(tensor(expected, 'a2b'));
      expectTensorsClose(fromPt, torchOut, 1e-5, 'translation from the .pt against PyTorch');
      assert.deepEqual(fromOurs.dataSync(), fromPt.dataSync());
      tf.dispose([x, styles, fromPt, fromOurs, torchOut]);
      pt.dispose();
      ours.dispose();
    });
  });

  it('munit translate takes a reference gen_*.pt as its checkpoint, with the same output as the converted one', async () => {
    const { result } = await importQuietly({ source: RUN, outputPath: path.join(root, 'translate-files') });
    const input = path.join(root, 'input.png');
    const size = config.new_size;
    const rng = seeded(5);
    await sharp(Buffer.from(Uint8Array.from({ length: size * size * 3 }, () => Math.floor(rng() * 256))), { raw: { width: size, height: size, channels: 3 } })
      .png()
      .toFile(input);
    const options = { config, input, direction: 'a2b' as const, numStyles: 2, seed: 1, synchronized: true };
    const fromPt = await translateFiles({ ...options, checkpoint: path.join(ZIP, 'gen_00000002.pt'), outputFolder: path.join(root, 'from-pt') });
    const fromOurs = await translateFiles({ ...options, checkpoint: result.runDir, outputFolder: path.join(root, 'from-ours') });
    assert.equal(fromPt.length, 3);
    for (const [i, file] of fromPt.entries()) assert.ok(fs.readFileSync(file).equals(fs.readFileSync(fromOurs[i])), path.basename(file));
  });

  it('finds the newest checkpoint by the reference rule: the last gen_/dis_ file by name, iteration from the name', () => {
    const dir = path.join(root, 'rule/outputs/tiny/checkpoints');
    fs.mkdirSync(dir, { recursive: true });
    for (const name of ['gen_00000002.pt', 'dis_00000002.pt', 'optimizer.pt']) fs.copyFileSync(path.join(ZIP, name), path.join(dir, name));
    fs.copyFileSync(path.join(ZIP, 'gen_00000002.pt'), path.join(dir, 'gen_00010000.pt'));
    fs.copyFileSync(path.join(ZIP, 'dis_00000002.pt'), path.join(dir, 'dis_00010000.pt'));
    fs.writeFileSync(path.join(dir, 'gen_notes.txt'), 'not a checkpoint');
    const found = findReferenceCheckpoint(path.dirname(dir));
    assert.deepEqual(found, {
      gen: path.join(dir, 'gen_00010000.pt'),
      dis: path.join(dir, 'dis_00010000.pt'),
      optimizer: path.join(dir, 'optimizer.pt'),
      iteration: 10000,
      runDir: path.resolve(path.dirname(dir)),
    });
    assert.deepEqual(findReferenceCheckpoint(dir), found, 'the checkpoints folder itself');
    assert.equal(findReferenceCheckpoint(path.join(dir, 'gen_00000002.pt')).dis, path.join(dir, 'dis_00000002.pt'), 'a gen file pairs with its dis file');
    const pretrained = path.join(root, 'edges2shoes.pt');
    fs.copyFileSync(path.join(ZIP, 'gen_00000002.pt'), pretrained);
    assert.deepEqual(findReferenceCheckpoint(pretrained), { gen: pretrained, dis: undefined, optimizer: undefined, iteration: undefined, runDir: undefined });
  });

  it('imports a run: checkpoints with Adam moments, steps and iteration; metrics.jsonl from the TensorBoard logs', async () => {
    const { result, warnings } = await expectNoLeakedTensors(() => importQuietly({ source: RUN, outputPath: path.join(root, 'imported') }));
    const runDir = path.join(root, 'imported', 'tiny');
    assert.equal(result.runDir, runDir);
    assert.equal(result.iteration, 2);
    assert.deepEqual(completeCheckpoints(path.join(runDir, 'checkpoints')), [2]);
    assert.equal(fs.readFileSync(path.join(runDir, 'config.yaml'), 'utf8'), fs.readFileSync(CONFIG, 'utf8'));
    // The optimizer file: PyTorch's moments by parameter index, under our names.
    const { tensors, metadata } = readSafetensors(checkpointFile(path.join(runDir, 'checkpoints'), 'optimizer', 2));
    assert.deepEqual([metadata.gen_step, metadata.dis_step, metadata.iteration], ['2', '2', '2']);
    const torchOpt = readOptimizerPair(path.join(ZIP, 'optimizer.pt'));
    const gen = readNetworkPair(path.join(ZIP, 'gen_00000002.pt'));
    const trainable = [...gen.keys()].filter((k) => !/running_(mean|var)$/.test(k));
    assert.equal(torchOpt.gen.parameterCount, trainable.length);
    trainable.forEach((name, i) => {
      assert.deepEqual(tensors.get(`gen.${name}.exp_avg`)!.data, torchOpt.gen.moments.get(i)!.exp_avg.data, name);
      assert.deepEqual(tensors.get(`gen.${name}.exp_avg_sq`)!.data, torchOpt.gen.moments.get(i)!.exp_avg_sq.data, name);
    });
    // The history: iterations 1..8 were logged, the checkpoint is at 2; what resuming repeats is left out.
    const lines = fs
      .readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => l.iteration),
      [1, 2],
    );
    assert.deepEqual(Object.keys(lines[0]).slice(0, 4), ['iteration', 'lr', 'seconds_per_iter', 'time']);
    assert.equal(lines[1].lr, 1e-4);
    assert.equal(lines[1].loss_gen_total, Math.fround(1 / (2 + 15)));
    assert.ok(
      warnings.some((w) => /6 logged iterations after the checkpoint \(2\) are left out/.test(w)),
      warnings.join('\n'),
    );
  });

  it('the legacy files (integer Adam steps, PyTorch < 1.12) import to the same checkpoint as the zip files', async () => {
    const zip = await importQuietly({ source: RUN, outputPath: path.join(root, 'same'), name: 'zip' });
    const legacy = await importQuietly({ source: path.join(LEGACY, 'gen_00000002.pt'), config: CONFIG, outputPath: path.join(root, 'same'), name: 'legacy' });
    assert.equal(legacy.result.iteration, 2);
    assert.equal(legacy.result.logs, undefined);
    for (const kind of ['gen', 'dis', 'optimizer'] as const) {
      const [a, b] = [zip, legacy].map((r) => readSafetensors(checkpointFile(path.join(r.result.runDir, 'checkpoints'), kind, 2)));
      assert.deepEqual([...a.tensors.keys()], [...b.tensors.keys()]);
      for (const [name, t] of a.tensors) assert.deepEqual(t.data, b.tensors.get(name)!.data, name);
    }
  });

  it('resuming the import continues Adam exactly where PyTorch left off (third step equals PyTorch’s)', async () => {
    const { result } = await importQuietly({ source: RUN, outputPath: path.join(root, 'resume') });
    const step3 = readTorchFile(path.join(FIXTURES, 'expected/adam_step3.pt'));
    const after = step3 instanceof Map ? (step3.get('after') as Map<string, TorchTensor>) : assert.fail('adam_step3.pt');
    expectNoLeakedTensors(() => {
      const trainer = new MunitTrainer(config);
      const resumed = resumeCheckpoint(trainer, path.join(result.runDir, 'checkpoints'));
      assert.equal(resumed.iteration, 2);
      assert.deepEqual([trainer.iteration, trainer.genOpt.step, trainer.disOpt.step], [2, 2, 2]);
      // The fixture's gradients: parameter k (optimizer order), flat element i (PyTorch layout): sin(0.37 i + k).
      const entries = [trainer.genA.params, trainer.genB.params].flatMap((p) => [...p.entries.values()].filter((e) => e.trainable));
      const grads = entries.map((e, k) =>
        tf.tidy(() => {
          const torchLayout = tf.tensor(
            Float32Array.from({ length: e.variable.size }, (_, i) => Math.sin(0.37 * i + k)),
            referenceShape(e, e.variable.shape),
          );
          return e.kind === 'vector' ? torchLayout : tf.transpose(torchLayout, e.kind === 'conv' ? [2, 3, 1, 0] : [1, 0]);
        }),
      );
      trainer.genOpt.apply(grads, 1e-4);
      tf.dispose(grads);
      let worst = 0;
      for (const [net, params] of [
        ['a', trainer.genA.params],
        ['b', trainer.genB.params],
      ] as const) {
        for (const e of params.entries.values()) {
          if (!e.trainable) continue;
          const ours = tf.tidy(() =>
            (e.kind === 'vector' ? e.variable.clone() : tf.transpose(e.variable, e.kind === 'conv' ? [3, 2, 0, 1] : [1, 0])).dataSync(),
          );
          worst = Math.max(worst, maxAbsDiff(ours, tensorValues(tensor(after, `${net}.${e.name}`))));
        }
      }
      // A wrong moment or step count would be off by about lr (1e-4) per weight.
      assert.ok(worst < 1e-6, `weights after the third step differ from PyTorch's by ${worst}`);
      trainer.dispose();
    });
  });

  it('munit train --resume continues an imported run, and its metrics follow the imported history', async () => {
    const dataRoot = path.join(root, 'data');
    await generateDemoDataset(dataRoot, { size: 16, count: 2, testCount: 1, seed: 3 });
    const configPath = path.join(root, 'tiny.yaml');
    const dataRootLine = demoConfigYaml(dataRoot, 16).match(/^data_root:.*$/m)![0];
    fs.writeFileSync(
      configPath,
      fs
        .readFileSync(CONFIG, 'utf8')
        .replace(/^data_root:.*$/m, dataRootLine)
        .replace(/^max_iter:.*$/m, 'max_iter: 3'),
    );
    const outputPath = path.join(root, 'train');
    await importQuietly({ source: RUN, outputPath });
    const run = await runTraining({ configPath, outputPath, resume: true, onWarning: () => {} });
    assert.deepEqual([run.iteration, run.stoppedBy], [3, 'max_iter']);
    const lines = fs
      .readFileSync(path.join(outputPath, 'tiny', 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => l.iteration),
      [1, 2, 3],
    );
    assert.deepEqual(completeCheckpoints(path.join(outputPath, 'tiny', 'checkpoints')), [2, 3]);
  });

  it('a pretrained generator alone imports with fresh discriminators and optimizer, and says so', async () => {
    const pretrained = path.join(root, 'pretrained', 'edges2shoes.pt');
    fs.mkdirSync(path.dirname(pretrained), { recursive: true });
    fs.copyFileSync(path.join(LEGACY, 'gen_00000002.pt'), pretrained);
    const { result, warnings } = await importQuietly({ source: pretrained, config: CONFIG, outputPath: path.join(root, 'pretrained-out') });
    assert.equal(result.runDir, path.join(root, 'pretrained-out', 'tiny'));
    assert.deepEqual(completeCheckpoints(path.join(result.runDir, 'checkpoints')), [0]);
    assert.equal(warnings.length, 3, warnings.join('\n'));
    assert.match(warnings.join('\n'), /no iteration in the file name[\s\S]*discriminators start fresh[\s\S]*zero moments/);
  });

  it('a config that does not match the checkpoint is an error naming the file and the tensors', async () => {
    const wrong = path.join(root, 'wrong.yaml');
    fs.writeFileSync(wrong, fs.readFileSync(CONFIG, 'utf8').replace(/^  dim: 1$/m, '  dim: 2'));
    await assert.rejects(
      importQuietly({ source: RUN, config: wrong, outputPath: path.join(root, 'wrong') }),
      /gen_00000002\.pt: does not match this network \(check the config\): 'a\.enc_style\.model\.0\.conv\.weight' is \[1,3,7,7\], expected \[2,3,7,7\]/,
    );
  });
});

describe('files a loader must refuse', () => {
  const hostile = (name: string) => path.join(FIXTURES, 'hostile', name);

  it('a pickle that calls os.system, in either format, is refused naming the global; nothing runs', () => {
    for (const file of [hostile('os_system.pt'), hostile('os_system_legacy.pt')]) {
      assert.throws(
        () => readTorchFile(file),
        (err: Error) => err instanceof TorchFileError && /os_system(_legacy)?\.pt.*the global posix\.system/.test(err.message),
        file,
      );
    }
  });

  it('declared sizes larger than the file are refused before anything is allocated', () => {
    assert.throws(() => readTorchFile(hostile('huge_storage.pt')), /storage '0' holds 16 bytes, but its tensors declared 4398046511104/);
    assert.throws(() => readTorchFile(hostile('huge_view.pt')), /the view \[1048576,1048576\] .* reaches beyond the storage/);
    // The legacy format's element count before a storage's bytes.
    const legacy = fs.readFileSync(path.join(LEGACY, 'dis_00000002.pt'));
    const bytes = Buffer.from(legacy);
    const at = storageCountOffset(bytes);
    bytes.writeBigInt64LE(1n << 60n, at);
    assert.throws(() => decodeTorchFile(bytes, 'big.pt'), /big\.pt: storage '\d+' at byte \d+ holds 1152921504606846976 elements/);
    // A string length of 4 GB in a pickle.
    const pickle = Buffer.from([0x80, 0x02, 0x58, 0xff, 0xff, 0xff, 0xff, 0x2e]);
    assert.throws(() => decodeTorchFile(Buffer.concat([legacyHeader(legacy), pickle]), 'str.pt'), /str\.pt: pickle at byte \d+: needs 4294967295 more bytes/);
  });

  it('a pickle of millions of operations stops at the operation limit', () => {
    const legacy = fs.readFileSync(path.join(LEGACY, 'dis_00000002.pt'));
    const ops = Buffer.alloc(2 * 2_100_000, Buffer.from([0x5d, 0x30])); // EMPTY_LIST, POP, ...
    const started = performance.now();
    assert.throws(() => decodeTorchFile(Buffer.concat([legacyHeader(legacy), Buffer.from([0x80, 0x02]), ops]), 'ops.pt'), /more than 2000000 operations/);
    assert.ok(performance.now() - started < 5000);
  });

  it('truncated files are refused with the file name, in both formats, wherever they are cut', () => {
    for (const file of [path.join(ZIP, 'dis_00000002.pt'), path.join(LEGACY, 'dis_00000002.pt')]) {
      const bytes = fs.readFileSync(file);
      for (const length of [0, 1, 10, 100, 1000, bytes.length >> 1, bytes.length - 100, bytes.length - 1]) {
        assert.throws(
          () => decodeTorchFile(bytes.subarray(0, length), 'cut.pt'),
          (err: Error) => err instanceof TorchFileError && err.message.startsWith('cut.pt: '),
          `${file} cut at ${length}`,
        );
      }
    }
    assert.throws(
      () => decodeTorchFile(fs.readFileSync(path.join(ZIP, 'gen_00000002.pt')).subarray(0, 5000), 'cut.pt'),
      /cut\.pt: zip archive: no end-of-central-directory record/,
    );
  });

  it('a damaged tensor in a zip file fails its CRC check', () => {
    const bytes = Buffer.from(fs.readFileSync(path.join(ZIP, 'dis_00000002.pt')));
    const entry = readZipDirectory(bytes, 'x').get('dis_00000002/data/0')!;
    bytes[entry.dataOffset + 1] ^= 0x10;
    assert.throws(() => decodeTorchFile(bytes, 'flip.pt'), /flip\.pt: zip entry 'dis_00000002\/data\/0' fails its CRC-32 check/);
  });

  it('fuzz: thousands of mutated files each load or fail with a TorchFileError, quickly', () => {
    const rng = seeded(2024);
    const int = (n: number) => Math.floor(rng() * n);
    const legacy = fs.readFileSync(path.join(LEGACY, 'dis_00000002.pt'));
    const zip = fs.readFileSync(path.join(ZIP, 'dis_00000002.pt'));
    const optimizer = fs.readFileSync(path.join(LEGACY, 'optimizer.pt'));
    // Mutations go where the parsers work: the pickles of the legacy files (their tensor bytes are data), anywhere in
    // the zip file (whose CRCs are then recomputed, so that damaged pickles get past the CRC check).
    const pickleEnds = new Map([legacy, optimizer].map((b) => [b, storageCountOffset(b)]));
    let loaded = 0;
    let refused = 0;
    let slowest = 0;
    for (let n = 0; n < 3000; n++) {
      const kind = n % 3;
      const source = kind === 0 ? legacy : kind === 1 ? optimizer : zip;
      let bytes = Buffer.from(source);
      const hot = pickleEnds.get(source) ?? bytes.length;
      const mutation = int(4);
      if (mutation === 0) for (let k = 1 + int(4); k > 0; k--) bytes[int(hot)] ^= 1 << int(8);
      else if (mutation === 1) bytes = bytes.subarray(0, int(bytes.length));
      else if (mutation === 2) {
        const at = int(hot);
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(Array.from({ length: 1 + int(8) }, () => int(256))), bytes.subarray(at)]);
      } else for (let at = int(hot), k = 1 + int(16); k > 0; k--) bytes[at + k] = [0xff, 0x00, 0x7f, 0x80][int(4)];
      if (kind === 2) fixZipCrcs(bytes);
      const started = performance.now();
      try {
        const value = decodeTorchFile(bytes, `mutant-${n}.pt`);
        try {
          if (kind === 1) optimizerPair(value, 'm');
          else networkPair(value, 'm');
        } catch (err) {
          if (!(err instanceof TorchFileError)) throw err;
        }
        loaded++;
      } catch (err) {
        if (!(err instanceof TorchFileError))
          assert.fail(`mutant ${n} (mutation ${mutation} of ${['legacy dis', 'legacy optimizer', 'zip dis'][kind]}): ${(err as Error).stack}`);
        refused++;
      }
      slowest = Math.max(slowest, performance.now() - started);
    }
    assert.ok(slowest < 1000, `slowest mutant took ${slowest} ms`);
    assert.ok(refused > 1000 && loaded > 100, `${loaded} loaded, ${refused} refused`);
  });

  it('munit import reports a refused file as one line and a non-zero exit code', () => {
    const cli = path.join(__dirname, '../../munit-core/cli.ts');
    const out = path.join(root, 'cli');
    const run = spawnSync(process.execPath, ['--import', 'tsx', cli, 'import', hostile('os_system.pt'), '--config', CONFIG, '--output-path', out], {
      encoding: 'utf8',
      env: { ...process.env, MUNIT_BACKEND: 'cpu' },
    });
    assert.equal(run.status, 1);
    const errors = run.stderr.split('\n').filter((l) => l.startsWith('munit: '));
    assert.equal(errors.length, 1, run.stderr);
    assert.match(errors[0], /^munit: .*os_system\.pt: the pickle names the global posix\.system/);
    assert.equal(fs.existsSync(path.join(out, 'tiny', 'checkpoints')), false);
  });
});

/** Where the first `count` pickles of a legacy file end (read by a host that accepts everything and builds nothing). */
function afterPickles(legacy: Buffer, count: number): number {
  const host = { findClass: () => new PickleCallable('any', () => new Map()), persistentLoad: () => null };
  let end = 0;
  for (let i = 0; i < count; i++) end = unpickle(legacy, end, host, 'fixture').end;
  return end;
}

/** The header pickles (magic number, protocol, sys info) of a legacy file: everything before the object. */
function legacyHeader(legacy: Buffer): Buffer {
  return legacy.subarray(0, afterPickles(legacy, 3));
}

/** Offset of the first storage's element count in a legacy file: after the object and the storage key list. */
function storageCountOffset(legacy: Buffer): number {
  return afterPickles(legacy, 5);
}

/** Recomputes every central-directory CRC so that mutations reach the pickle instead of stopping at the CRC check. */
function fixZipCrcs(bytes: Buffer): void {
  let entries;
  try {
    entries = readZipDirectory(bytes, 'fuzz');
  } catch {
    return;
  }
  let at = bytes.readUInt32LE(bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06])) + 16);
  for (const entry of entries.values()) {
    bytes.writeUInt32LE(zlib.crc32(bytes.subarray(entry.dataOffset, entry.dataOffset + entry.compressedSize)) >>> 0, at + 16);
    at += 46 + bytes.readUInt16LE(at + 28) + bytes.readUInt16LE(at + 30) + bytes.readUInt16LE(at + 32);
  }
}

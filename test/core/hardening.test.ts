// The trainer at the edges: short writes and full disks, damaged checkpoints, crashes mid-save, diverging runs.
// Full disks are simulated by injecting a failing write function (see WriteIo); everything else uses real files.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  checkpointFile,
  completeCheckpoints,
  DivergenceError,
  loadGenerators,
  resumeCheckpoint,
  saveCheckpoint,
  writeFileAtomic,
  WriteIo,
} from '../../munit-core/checkpoint.js';
import { formatDuration } from '../../munit-core/cli.js';
import { defaultConfig } from '../../munit-core/config/config.js';
import { discriminatorParameters, generatorParameters } from '../../munit-core/config/validate.js';
import { generateDemoDataset } from '../../munit-core/data/demo-dataset.js';
import { describeModel } from '../../munit-core/model-summary.js';
import { decodeSafetensors, encodeSafetensors, readSafetensors } from '../../munit-core/safetensors.js';
import { MunitTrainer } from '../../munit-core/trainer.js';
import { runTraining } from '../../munit-core/training-run.js';
import { tinyDemoConfig, tinySettings, useBackend, writeTinyConfig } from './helpers.js';

const SIZE = 16;
let root: string;
let dataRoot: string;

function writeConfig(name: string, overrides: Record<string, string | number>): string {
  return writeTinyConfig(root, dataRoot, SIZE, name, overrides);
}

/** A write function that writes at most `chunk` bytes per call, and fails with ENOSPC once `limit` bytes are down. */
function limitedIo(chunk: number, limit = Infinity): WriteIo & { total: number } {
  const io = {
    total: 0,
    writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number {
      if (io.total >= limit) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      const n = fs.writeSync(fd, buffer, offset, Math.min(length, chunk, limit - io.total));
      io.total += n;
      return n;
    },
  };
  return io;
}

function tinyTrainer(): MunitTrainer {
  return new MunitTrainer(
    tinySettings({ gen: { ...tinySettings().gen, dim: 4, mlp_dim: 8, n_res: 1 }, dis: { ...tinySettings().dis, dim: 4, num_scales: 1 } }),
    { seed: 1 },
  );
}

describe('checkpoints under failure', () => {
  before(async () => {
    await useBackend('wasm');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'munit-hard-'));
    dataRoot = path.join(root, 'data');
    await generateDemoDataset(dataRoot, { size: SIZE, count: 6, testCount: 2, seed: 1 });
  });

  it('writeFileAtomic writes everything when the file system takes a few bytes per call', () => {
    const file = path.join(root, 'short.bin');
    const data = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));
    writeFileAtomic(file, data, limitedIo(999));
    assert.deepEqual(fs.readFileSync(file), data);
  });

  it('writeFileAtomic on a full disk: names the file and the bytes written, keeps the old file, leaves no temporary', () => {
    const file = path.join(root, 'full.bin');
    fs.writeFileSync(file, 'old content');
    assert.throws(
      () => writeFileAtomic(file, Buffer.alloc(1_915_304, 7), limitedIo(65_536, 602_112)),
      (err: Error) => {
        assert.match(err.message, /full\.bin: the disk is full \(ENOSPC\) after 602112 of 1915304 bytes; the previous full\.bin is kept/);
        return true;
      },
    );
    assert.equal(fs.readFileSync(file, 'utf8'), 'old content');
    assert.deepEqual(
      fs.readdirSync(root).filter((f) => f.startsWith('full.bin')),
      ['full.bin'],
    );
  });

  it('a checkpoint that hits a full disk is not left half-written, and the error says which checkpoint is kept', async () => {
    const dir = path.join(root, 'enospc');
    const trainer = tinyTrainer();
    try {
      trainer.iteration = 2;
      await saveCheckpoint(trainer, dir, { configText: '' });
      trainer.iteration = 4;
      // Enough room for the gen_ and dis_ files, not for the optimizer_ file.
      const sizes = ['gen', 'dis'].map((k) => fs.statSync(checkpointFile(dir, k as 'gen', 2)).size);
      await assert.rejects(saveCheckpoint(trainer, dir, { configText: '', io: limitedIo(1 << 20, sizes[0] + sizes[1] + 100) }), (err: Error) => {
        assert.match(err.message, /^checkpoint 4 was not saved: cannot write .*optimizer_00000004\.safetensors: the disk is full \(ENOSPC\)/);
        assert.match(err.message, /The newest checkpoint kept is 2 in /);
        return true;
      });
      assert.deepEqual(
        fs.readdirSync(dir).filter((f) => f.includes('00000004')),
        [],
      );
      assert.equal(resumeCheckpoint(trainer, dir).iteration, 2);
    } finally {
      trainer.dispose();
    }
  });

  it('a damaged newest checkpoint is reported, and the run resumes from the newest intact one', async () => {
    const config = writeConfig('damaged', { max_iter: 3, snapshot_save_iter: 1 });
    const out = path.join(root, 'damaged-out');
    const { runDir } = await runTraining({ configPath: config, outputPath: out, onWarning: () => {} });
    const dir = path.join(runDir, 'checkpoints');
    // Flip one byte in the weights of the newest set: same size, so only the checksum can tell.
    const gen3 = checkpointFile(dir, 'gen', 3);
    const bytes = fs.readFileSync(gen3);
    bytes[bytes.length - 5] ^= 0x40;
    fs.writeFileSync(gen3, bytes);
    assert.throws(() => readSafetensors(gen3), /gen_00000003\.safetensors: damaged: the data does not match its checksum/);
    writeConfig('damaged', { max_iter: 4, snapshot_save_iter: 1 });
    const warnings: string[] = [];
    const resumed: number[] = [];
    await runTraining({ configPath: config, outputPath: out, resume: true, onWarning: (w) => warnings.push(w), onStart: (e) => resumed.push(e.iteration) });
    assert.deepEqual(resumed, [2]);
    assert.ok(
      warnings.some((w) => /^checkpoint 3 is damaged \(.*gen_00000003\.safetensors: damaged.*\); resuming from checkpoint 2, the newest intact one$/.test(w)),
      warnings.join('\n'),
    );
  });

  it('a checkpoint whose header has another format is refused, naming the file and the format', async () => {
    const dir = path.join(root, 'format');
    const trainer = tinyTrainer();
    try {
      for (const it of [1, 2]) {
        trainer.iteration = it;
        await saveCheckpoint(trainer, dir, { configText: '' });
      }
      const gen2 = checkpointFile(dir, 'gen', 2);
      const { tensors, metadata } = readSafetensors(gen2);
      fs.writeFileSync(gen2, encodeSafetensors(tensors, { ...metadata, format: 'something-else/7' }));
      assert.throws(
        () => loadGenerators(trainer, gen2),
        /gen_00000002\.safetensors: not a MUNIT Studio checkpoint: its header has format 'something-else\/7', expected 'munit-studio\/2'/,
      );
      const result = resumeCheckpoint(trainer, dir);
      assert.equal(result.iteration, 1);
      assert.equal(result.damaged[0].iteration, 2);
      assert.match(result.damaged[0].reason, /format 'something-else\/7'/);
      // A header stripped of its checksum is damaged too, not silently trusted.
      fs.writeFileSync(gen2, encodeSafetensors(tensors, { format: metadata.format, iteration: '2' }));
      assert.throws(() => loadGenerators(trainer, gen2), /damaged: the header has lost its checksum/);
    } finally {
      trainer.dispose();
    }
  });

  it('at the start of a run, stale temporary files and incomplete sets of a crashed run are removed', async () => {
    const config = writeConfig('stale', { max_iter: 1, snapshot_save_iter: 1 });
    const out = path.join(root, 'stale-out');
    const { runDir } = await runTraining({ configPath: config, outputPath: out, onWarning: () => {} });
    const dir = path.join(runDir, 'checkpoints');
    // What kill -9 during the save of iteration 2 leaves: a finished gen_ file, a partial dis_ temporary, and
    // temporaries elsewhere in the run folder. The pid is one no process can have.
    fs.copyFileSync(checkpointFile(dir, 'gen', 1), checkpointFile(dir, 'gen', 2));
    const stale = [
      `${checkpointFile(dir, 'dis', 2)}.tmp-99999999`,
      path.join(runDir, 'images', 'gen_a2b_train_current.png.tmp-99999999'),
      path.join(runDir, 'config.yaml.tmp-99999999'),
    ];
    for (const f of stale) fs.writeFileSync(f, 'partial');
    const mine = path.join(runDir, `other.tmp-${process.pid}`);
    fs.writeFileSync(mine, 'still being written');
    const warnings: string[] = [];
    await runTraining({ configPath: config, outputPath: out, resume: true, onWarning: (w) => warnings.push(w) });
    for (const f of [...stale, checkpointFile(dir, 'gen', 2)]) assert.equal(fs.existsSync(f), false, f);
    assert.ok(fs.existsSync(mine), 'a temporary file of a live process is left alone');
    assert.deepEqual(completeCheckpoints(dir), [1]);
    assert.ok(
      warnings.some((w) => /^removed 4 leftover file\(s\) of an interrupted save from .*gen_00000002\.safetensors/.test(w)),
      warnings.join('\n'),
    );
  });

  it('non-finite weights are never written: the run stops naming the iteration and the setting to lower (lr 1000, gan_w 1e38)', async () => {
    for (const [name, overrides, advice] of [
      ['lr-1000', { lr: 1000 }, /Lower lr \(now 1000; the reference uses 0\.0001\)/],
      ['gan-1e38', { gan_w: '1.0e+38' }, /Lower gan_w \(now 1e\+38\)/],
    ] as const) {
      const config = writeConfig(name, { max_iter: 6, snapshot_save_iter: 1, ...overrides });
      const out = path.join(root, `${name}-out`);
      await assert.rejects(runTraining({ configPath: config, outputPath: out, onWarning: () => {} }), (err: Error) => {
        assert.ok(err instanceof DivergenceError, `${name}: ${err.message}`);
        assert.match(
          err.message,
          new RegExp(
            `^training diverged by iteration ${err.iteration}: [\\d,]+ of the [\\d,]+ (generator|discriminator) (weights|Adam moments).* are not finite`,
          ),
        );
        assert.match(err.message, new RegExp(`checkpoint ${err.iteration} was not written`));
        assert.match(err.message, advice);
        return true;
      });
      const dir = path.join(out, name, 'checkpoints');
      for (const it of completeCheckpoints(dir)) {
        for (const kind of ['gen', 'dis', 'optimizer'] as const) {
          const { tensors } = decodeSafetensors(fs.readFileSync(checkpointFile(dir, kind, it)), kind);
          for (const [key, t] of tensors) assert.ok(t.data.every(Number.isFinite), `${name}: ${kind} ${it} ${key}`);
        }
      }
    }
  });

  it('a NaN in one weight or an infinite Adam moment refuses the checkpoint', async () => {
    const dir = path.join(root, 'nan');
    const trainer = tinyTrainer();
    try {
      trainer.iteration = 7;
      const weight = [...trainer.genA.params.entries.values()][0].variable;
      const saved = tf.clone(weight);
      tf.tidy(() => weight.assign(tf.mul(weight, Number.NaN)));
      await assert.rejects(
        saveCheckpoint(trainer, dir, { configText: '' }),
        /training diverged by iteration 7: [\d,]+ of the [\d,]+ generator weights are not finite/,
      );
      weight.assign(saved);
      saved.dispose();
      const moment = trainer.disOpt.slots[0].expAvgSq;
      tf.tidy(() => moment.assign(tf.add(moment, Number.POSITIVE_INFINITY)));
      await assert.rejects(saveCheckpoint(trainer, dir, { configText: '' }), /: [\d,]+ of the [\d,]+ discriminator Adam moments are not finite/);
      assert.deepEqual(fs.existsSync(dir) ? fs.readdirSync(dir) : [], []);
    } finally {
      trainer.dispose();
    }
  });

  it('a run stopped early writes a sample grid of the iteration it saved', async () => {
    const config = writeConfig('stop-grid', { max_iter: 50, image_display_iter: 1000, image_save_iter: 1000 });
    const abort = new AbortController();
    const samples: number[] = [];
    const result = await runTraining({
      configPath: config,
      outputPath: path.join(root, 'stop-out'),
      signal: abort.signal,
      onWarning: () => {},
      onMetrics: (m) => m.iteration === 2 && abort.abort(),
      onSamples: (e) => samples.push(e.iteration),
    });
    assert.deepEqual([result.iteration, result.stoppedBy], [2, 'signal']);
    assert.deepEqual(samples, [2]);
    assert.deepEqual(completeCheckpoints(path.join(result.runDir, 'checkpoints')), [2]);
    assert.ok(fs.existsSync(path.join(result.runDir, 'images', 'gen_a2b_train_current.png')));
  });

  it('the parameter estimate that guards configs matches the networks', () => {
    const config = defaultConfig();
    const [genA, , disA] = describeModel(config).networks;
    assert.equal(generatorParameters(config.input_dim_a, config.gen), genA.parameters);
    assert.equal(discriminatorParameters(config.input_dim_a, config.dis), disA.parameters);
  });
});

describe('command-line messages', () => {
  const repo = path.join(__dirname, '..', '..');
  const cli = path.join(repo, 'munit-core', 'cli.ts');
  const node = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8', cwd: repo, env: { ...process.env, MUNIT_BACKEND: 'wasm' } });

  it('ETAs never show 60 minutes', () => {
    assert.equal(formatDuration(4 * 3600 + 59 * 60 + 59.7), '5h00m');
    assert.equal(formatDuration(3599.6), '1h00m');
    assert.equal(formatDuration(59.6), '1m00s');
    assert.equal(formatDuration(907), '15m07s');
    assert.equal(formatDuration(-3), '0s');
  });

  it('broken YAML: the first syntax error and a count of the rest; warnings say "warning:" once', () => {
    const broken = path.join(root, 'broken.yaml');
    // One missing colon, after a section name: the parser then reports every line under it.
    fs.writeFileSync(broken, tinyDemoConfig(dataRoot, SIZE).replace(/^gen:/m, 'gen'));
    const info = node(['info', '--config', broken]);
    assert.equal(info.status, 1);
    const lines = info.stderr.trim().split('\n');
    assert.equal(lines.length, 1, info.stderr);
    assert.match(lines[0], /^munit: .*broken\.yaml:\d+:\d+: YAML syntax error: .* \(and (\d+) more errors after it, most likely caused by this one\)$/);
    const warned = path.join(root, 'warned.yaml');
    fs.writeFileSync(warned, tinyDemoConfig(dataRoot, SIZE) + 'recon_kl_w: 1\n');
    const ok = node(['info', '--config', warned]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stderr, /^.*warned\.yaml:\d+:\d+: warning: recon_kl_w: /m);
    assert.equal(ok.stderr.match(/warning:/g)?.length, 1, ok.stderr);
  });

  it('munit translate prints plain progress lines when stderr is not a terminal', async () => {
    const config = writeConfig('translate-cli', { max_iter: 1 });
    await runTraining({ configPath: config, outputPath: path.join(root, 'translate-out'), onWarning: () => {} });
    const run = node([
      'translate',
      '--config',
      config,
      '--checkpoint',
      path.join(root, 'translate-out', 'translate-cli'),
      '--input',
      path.join(dataRoot, 'testA'),
      '--num-style',
      '1',
      '--output-folder',
      path.join(root, 'translated'),
    ]);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(
      run.stderr.split('\n').filter((l) => l.startsWith('translated')),
      ['translated 2/2'],
    );
    assert.doesNotMatch(run.stderr, /\r/);
  });

  it('a read-only output folder is reported as read-only, naming it', (t) => {
    const locked = path.join(root, 'locked');
    fs.mkdirSync(locked, { mode: 0o555 });
    fs.chmodSync(locked, 0o555);
    const script =
      `const c = require('./munit-core/checkpoint.ts'); for (const f of [() => c.makeOutputFolder(${JSON.stringify(path.join(locked, 'run', 'images'))}), () => c.writeFileAtomic(${JSON.stringify(path.join(locked, 'x.png'))}, 'x')]) ` +
      `try { f(); console.log('written'); } catch (e) { console.log(e.message); }`;
    // Root writes anywhere: then check as an unprivileged user where runuser exists (Linux).
    const asUser = process.getuid?.() === 0 ? ['runuser', '-u', 'nobody', '--', process.execPath] : [process.execPath];
    fs.chmodSync(root, 0o755);
    const run = spawnSync(asUser[0], [...asUser.slice(1), '--import', 'tsx', '-e', script], { cwd: repo, encoding: 'utf8' });
    fs.chmodSync(root, 0o700);
    // The unprivileged user may not reach the checkout itself (a clone in a 0700 temporary folder): say so.
    if (run.error || (run.status !== 0 && !run.stdout.trim())) {
      t.skip(`cannot run as an unprivileged user here: ${(run.error?.message ?? run.stderr).trim().split('\n')[0]}`);
      return;
    }
    const [mkdir, write] = run.stdout.trim().split('\n');
    assert.equal(
      mkdir,
      `cannot create the output folder ${path.join(locked, 'run', 'images')}: ${locked} is read-only (EACCES); choose a writable output folder`,
    );
    assert.match(write, new RegExp(`^cannot write ${locked}/x\\.png: the folder ${locked} is read-only \\(EACCES\\); no x\\.png was written`));
  });
});

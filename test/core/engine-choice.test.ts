// The engine chain: which engine runs the model, in the order, with the reason each earlier one was passed
// over. The order and the forcing variables are checked against given link checks; the checks themselves for real
// (onnxruntime's providers, Dawn's adapter, the tfjs backend) on this machine.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chooseEngine, ENGINE_CHAIN, EngineChoice, EngineLink, LinkCheck, probeLink, startEngine } from '../../munit-core/onnx/engine-choice.js';
import { MunitTrainer } from '../../munit-core/trainer.js';
import { ENGINE_ENV, PROVIDER_ENV } from '../../munit-core/onnx/engine-names.js';
import { providerFails } from '../../munit-core/onnx/session.js';
import { findHardwareAdapter, noGpuDevice } from '../../munit-core/webgpu.js';
import { expectNoLeakedTensors, randomImage, seeded, tinySettings, useBackend, webGpuSkipReason } from './helpers.js';

/** A probe under which exactly the links in `runs` can run. */
const only =
  (...runs: EngineLink[]) =>
  async (link: EngineLink): Promise<LinkCheck> =>
    runs.includes(link) ? { on: `${link} device` } : { why: `no ${link} here` };

describe('the engine chain', () => {
  const saved = { engine: process.env[ENGINE_ENV], provider: process.env[PROVIDER_ENV] };
  const restore = () => {
    for (const [key, value] of [
      [ENGINE_ENV, saved.engine],
      [PROVIDER_ENV, saved.provider],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  before(async () => {
    delete process.env[ENGINE_ENV];
    delete process.env[PROVIDER_ENV];
    await useBackend('wasm');
  });
  after(restore);

  it("takes the first link that runs, in the issue's order, naming every link passed over and why", async () => {
    const names = ENGINE_CHAIN.map((l) => l.name);
    assert.deepEqual(names, ['onnxruntime cuda', 'onnxruntime webgpu', 'tfjs tensorflow-gpu', 'onnxruntime cpu', 'tfjs']);
    const expected = [
      { engine: 'onnx', provider: 'cuda' },
      { engine: 'onnx', provider: 'webgpu' },
      { engine: 'tfjs', provider: undefined },
      { engine: 'onnx', provider: 'cpu' },
      { engine: 'tfjs', provider: undefined },
    ];
    for (let k = 0; k < names.length; k++) {
      const choice = await chooseEngine({}, only(...names.slice(k)));
      assert.deepEqual({ engine: choice.engine, provider: choice.provider }, expected[k], `with ${names.slice(0, k).join(', ') || 'nothing'} unavailable`);
      assert.ok(choice.description.includes(`${names[k]} device`), choice.description);
      for (const skipped of names.slice(0, k)) assert.ok(choice.description.includes(`${skipped}: no ${skipped} here`), choice.description);
      if (k === 0) assert.ok(!choice.description.includes('skipped'), choice.description);
    }
    // A GPU provider is checked on a one-node graph only, so the next link that runs is kept as its fallback.
    const fallbacks: string[] = [];
    for (let c: EngineChoice | undefined = await chooseEngine({}, only(...names)); c; c = c.fallback) fallbacks.push(`${c.engine} ${c.provider}`);
    assert.deepEqual(fallbacks, ['onnx cuda', 'onnx webgpu', 'tfjs undefined']);
    assert.equal((await chooseEngine({}, only('onnxruntime cpu', 'tfjs'))).fallback, undefined);
  });

  it('a forced engine passes over the other; onnx forced where none of its providers runs is an error that lists them', async () => {
    const onnx = await chooseEngine({ prefer: 'onnx' }, only('tfjs tensorflow-gpu', 'onnxruntime cpu', 'tfjs'));
    assert.equal(onnx.provider, 'cpu');
    assert.ok(!onnx.description.includes('tfjs tensorflow-gpu:'), onnx.description);
    const tfjs = await chooseEngine({ prefer: 'tfjs' }, only(...ENGINE_CHAIN.map((l) => l.name)));
    assert.equal(tfjs.engine, 'tfjs');
    assert.match(tfjs.description, /^tfjs on tfjs device \(tfjs asked for\)$/);
    await assert.rejects(
      chooseEngine({ prefer: 'onnx' }, only('tfjs')),
      /^Error: onnx asked for, but onnxruntime cannot run here \(onnxruntime cuda: no onnxruntime cuda here; onnxruntime webgpu: .*; onnxruntime cpu: .*\)$/,
    );
    try {
      process.env[ENGINE_ENV] = 'tfjs';
      assert.match((await chooseEngine({}, only('onnxruntime cpu', 'tfjs'))).description, /\(MUNIT_ENGINE=tfjs\)$/);
      process.env[ENGINE_ENV] = 'torch';
      await assert.rejects(chooseEngine({}, only('tfjs')), /MUNIT_ENGINE: unknown engine 'torch'; expected one of onnx, tfjs/);
    } finally {
      restore();
      delete process.env[ENGINE_ENV];
    }
  });

  it('MUNIT_ONNX_PROVIDER forces a provider, checked on a graph: one that cannot run here is an error saying why', async () => {
    try {
      process.env[PROVIDER_ENV] = 'cpu';
      const cpu = await chooseEngine({}, only());
      assert.deepEqual([cpu.engine, cpu.provider], ['onnx', 'cpu']);
      assert.match(cpu.description, /\(MUNIT_ONNX_PROVIDER=cpu\)$/);
      process.env[PROVIDER_ENV] = 'cuda';
      await assert.rejects(chooseEngine({}, only()), (err: Error) => err.message === 'MUNIT_ONNX_PROVIDER=cuda, but no onnxruntime cuda here');
      await assert.rejects(chooseEngine(), (err: Error) => err.message === 'MUNIT_ONNX_PROVIDER=cuda, but provider not installed (README, "Engines")');
      process.env[PROVIDER_ENV] = 'webgpu';
      const webgpu = await chooseEngine({}, only());
      assert.deepEqual([webgpu.engine, webgpu.provider], ['onnx', 'webgpu'], 'forced, WebGPU needs no hardware adapter');
      process.env[PROVIDER_ENV] = 'tpu';
      await assert.rejects(chooseEngine({}, only()), /MUNIT_ONNX_PROVIDER: unknown provider 'tpu'; expected one of cuda, webgpu, cpu/);
    } finally {
      restore();
      delete process.env[PROVIDER_ENV];
    }
  });

  it('the real checks: CUDA needs its download, WebGPU a hardware adapter, tfjs-node-gpu its backend', async () => {
    assert.match((await providerFails('cuda')) ?? 'ran', /Failed to load shared library/, 'CUDA on a machine without its provider');
    assert.deepEqual(await probeLink('onnxruntime cpu'), {});
    assert.deepEqual(await probeLink('tfjs'), { on: 'wasm' });
    // The tests start tfjs on wasm by name, so tfjs-node-gpu was not tried.
    assert.deepEqual(await probeLink('tfjs tensorflow-gpu'), { why: 'tfjs runs on wasm' });
    assert.deepEqual(await probeLink('onnxruntime cuda'), { why: 'provider not installed (README, "Engines")' });
    const noDevice = noGpuDevice();
    if (noDevice) {
      assert.deepEqual(await probeLink('onnxruntime webgpu'), { why: noDevice });
      const choice = await chooseEngine();
      assert.equal(choice.provider, 'cpu');
      assert.match(
        choice.description,
        /^onnxruntime cpu, one compiled graph per update \(skipped onnxruntime cuda: provider not installed .*; onnxruntime webgpu: no GPU device .*; tfjs tensorflow-gpu: tfjs runs on wasm\)$/,
      );
    }
  });

  it('a GPU provider that cannot start the training graphs hands the run to its fallback, leaving nothing behind', async () => {
    const trainer = new MunitTrainer(tinySettings(), { seed: 1 });
    const shapes = { a: [1, 16, 16, 3], b: [1, 16, 16, 3] };
    const cpu: EngineChoice = { engine: 'onnx', provider: 'cpu', description: 'onnxruntime cpu (fallback)' };
    // CUDA cannot start here: its provider is not installed.
    const cuda: EngineChoice = { engine: 'onnx', provider: 'cuda', description: 'onnxruntime cuda', fallback: cpu };
    await assert.rejects(startEngine(trainer, shapes, { ...cuda, fallback: undefined }), /Failed to load shared library/);
    const running = await expectNoLeakedTensors(() => startEngine(trainer, shapes, cuda), 0, 'tensors after a failed start and a fallback');
    assert.deepEqual([running.choice.engine, running.choice.provider], ['onnx', 'cpu']);
    assert.match(
      running.description,
      /^onnxruntime cpu \(fallback\); onnxruntime cuda did not start the graphs: .*Failed to load shared library.*; \d+ nodes, built in/,
    );
    const x = randomImage(seeded(3), 1, 16, 16, 3);
    const m = await trainer.step(x, x);
    assert.ok(Number.isFinite(m.losses.loss_gen_total), 'a step on the fallback');
    x.dispose();
    trainer.dispose();
  });

  it("Dawn's software renderer is not a hardware adapter, though onnxruntime's WebGPU provider runs on it", async (t) => {
    const skip = await webGpuSkipReason();
    if (skip) return t.skip(skip);
    const found = await findHardwareAdapter({ checkDevice: false });
    assert.ok('none' in found, `a hardware adapter on a machine without a GPU: ${JSON.stringify(found)}`);
    assert.match(found.none, /(llvmpipe|lavapipe).* is a software renderer$/);
  });
});

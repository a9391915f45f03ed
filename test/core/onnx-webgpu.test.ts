// The compiled engine on onnxruntime's WebGPU provider: the same iterations as its CPU provider, with the weights and
// Adam moments kept on the GPU between them, flat memory over many of them, and the same translations. Without a
// GPU, the provider runs on Mesa's software Vulkan (lavapipe, Mesa 25 and later; .ci/run installs it), which is slow but computes the same numbers.
// Skipped where no WebGPU adapter is found, unless MUNIT_TEST_REQUIRE_WEBGPU=1 (as in CI) makes that a failure.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { CompiledFunction } from '../../munit-core/onnx/compile.js';
import { CompiledStep } from '../../munit-core/onnx/compiled-step.js';
import { CompiledTranslator } from '../../munit-core/onnx/compiled-translator.js';
import { OnnxGraph } from '../../munit-core/onnx/graph.js';
import { instanceNorm } from '../../munit-core/layers/norms.js';
import { modelFor } from '../../munit-core/onnx/session.js';
import { Vgg16, VGG16_LAYERS } from '../../munit-core/networks/vgg16.js';
import type { TensorMap } from '../../munit-core/safetensors.js';
import { MunitTrainer, NonFiniteLossError } from '../../munit-core/trainer.js';
import { eagerTranslator } from '../../munit-core/translate.js';
import { compareGradients, expectNoLeakedTensors, randomImage, relErr, seeded, tinySettings, useBackend, webGpuSkipReason } from './helpers.js';

const WEBGPU = { provider: 'webgpu' as const };
const CPU = { provider: 'cpu' as const, threads: 2 };
const SIZE = 16;

let skipReason: string | undefined;

before(async () => {
  await useBackend('wasm');
  skipReason = await webGpuSkipReason();
});

/** With the CPU fallback off, onnxruntime refuses a graph with a node that its WebGPU provider cannot run. */
async function assertAllOnWebGpu(graph: OnnxGraph, what: string): Promise<void> {
  const options = { executionProviders: ['webgpu'], extra: { session: { disable_cpu_ep_fallback: '1' } } };
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelFor(graph, 'webgpu'), options);
  } catch (err) {
    assert.fail(`${what}: ${(err as Error).message}`);
  }
  await session.release();
}

/** The op types of an ONNX model. */
function onnxOps(bytes: Uint8Array): Set<string> {
  return new Set(onnx.ModelProto.decode(bytes).graph!.node!.map((n) => n.opType!));
}

/** Every trainable weight of a trainer, in its optimisers' order. */
function weights(t: MunitTrainer): Float32Array[] {
  return [...t.genOpt.variables, ...t.disOpt.variables].map((v) => v.dataSync() as Float32Array);
}

describe('the compiled engine on WebGPU', () => {
  it('trains as the CPU provider does, with the weights and moments on the GPU between iterations', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const settings = tinySettings({ recon_x_cyc_w: 1 });
    const shapes = { a: [1, SIZE, SIZE, 3], b: [1, SIZE, SIZE, 3] };
    const rng = seeded(7);
    const [xA, xB] = [randomImage(rng, 1, SIZE, SIZE, 3), randomImage(rng, 1, SIZE, SIZE, 3)];
    const nan = tf.fill([1, SIZE, SIZE, 3], NaN) as tf.Tensor4D;
    const cpu = new MunitTrainer(settings, { seed: 5 });
    const gpu = new MunitTrainer(settings, { seed: 5 });
    await cpu.useEngine(await CompiledStep.create(cpu, shapes, CPU));
    const engine = await CompiledStep.create(gpu, shapes, WEBGPU);
    await gpu.useEngine(engine);
    assert.equal(engine.keepsStateOnDevice, true);
    assert.equal(engine.stateLocation, 'host', 'before the first step the state comes from the trainer');
    // On a GPU each network group's weights, and each of its moments, is one buffer (so Adam is a few kernel calls).
    const stateInputs = engine.graphs.map((g) =>
      g.inputs
        .map((port) => port.name)
        .filter((name) => name.includes(':'))
        .sort(),
    );
    assert.deepEqual(stateInputs, [
      ['expAvg:dis', 'expAvgSq:dis', 'param:dis', 'param:gen'],
      ['expAvg:gen', 'expAvgSq:gen', 'param:dis', 'param:gen'],
    ]);

    const sameLosses = async (what: string, tolerance = 1e-4) => {
      const [c, g] = [await cpu.step(xA, xB), await gpu.step(xA, xB)];
      for (const [term, value] of Object.entries(c.losses)) {
        const got = g.losses[term as keyof typeof g.losses];
        assert.ok(Math.abs(got - value) <= tolerance * Math.max(Math.abs(value), 1e-3), `${what} ${term}: ${got} on WebGPU, ${value} on the CPU`);
      }
    };
    await sameLosses('iteration 1');
    assert.equal(engine.stateLocation, 'device', 'after a step every weight and moment is a GPU buffer');

    // Reading the state back; after one step exp_avg is (1 - beta1) g, so this compares every gradient.
    await compareGradients(gpu, cpu);
    assert.equal(engine.stateLocation, 'device', 'reading the state back leaves it on the GPU');

    await sameLosses('iteration 2, after a read-back');
    // A NaN loss drops the step's new values; the next good step continues from the state before it. (Both engines
    // take the NaN step, so that both draw its style codes from the random stream.)
    await gpu.settle();
    const beforeNan = weights(gpu);
    for (const trainer of [cpu, gpu]) {
      await assert.rejects(trainer.step(nan, xB), (err: NonFiniteLossError) => err instanceof NonFiniteLossError && /is NaN at iteration 3/.test(err.message));
    }
    await gpu.settle();
    assert.deepEqual(weights(gpu), beforeNan, 'the NaN step left the weights as they were');
    // Each Adam step moves the elements whose gradient is float noise (dead relu units, conv biases before a norm) by
    // up to lr either way on each engine, so the losses drift apart: measured 4e-6 after two steps, 1.4e-4 after three
    // (eager tfjs and the CPU graph drift as far: 8e-5).
    await sameLosses('iteration 3, after a NaN step', 1e-3);

    await Promise.all([cpu.settle(), gpu.settle()]);
    const [c3, g3] = [weights(cpu), weights(gpu)];
    let worst = 0;
    c3.forEach((c, k) => c.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - g3[k][j])))));
    // Three Adam steps of about lr each: only elements whose gradient is noise may step the other way.
    assert.ok(worst <= 6 * settings.lr, `weights differ by up to ${worst}`); // NaN fails too
    assert.equal(gpu.iteration, 3);

    tf.dispose([xA, xB, nan]);
    cpu.dispose();
    gpu.dispose();
  });

  it('instance-normalises a channel whose mean is large against its spread as exactly as float64, on both providers', async (t) => {
    if (skipReason) return t.skip(skipReason);
    // WebGPU's LayerNormalization takes the variance as mean(x^2) - mean^2: uncentred, channel 3 came out 0.15 off.
    const [h, w, offsets, spreads] = [64, 64, [0, 1, 10, 100], [1, 1e-2, 1e-2, 1]];
    const values = Float32Array.from({ length: h * w * 4 }, (_, i) => offsets[i % 4] + spreads[i % 4] * Math.sin(i * 0.37));
    const expected = new Float64Array(values.length);
    for (let c = 0; c < 4; c++) {
      const idx = Array.from({ length: h * w }, (_, p) => p * 4 + c);
      const mean = idx.reduce((a, i) => a + values[i], 0) / idx.length;
      const variance = idx.reduce((a, i) => a + (values[i] - mean) ** 2, 0) / idx.length;
      for (const i of idx) expected[i] = (values[i] - mean) / Math.sqrt(variance + 1e-5);
    }
    const x = tf.tensor4d(values, [1, h, w, 4]);
    for (const options of [CPU, WEBGPU]) {
      const compiled = await CompiledFunction.create([{ name: 'x', shape: [1, h, w, 4] }], (inputs) => ({ y: instanceNorm(inputs.x as tf.Tensor4D) }), options);
      assert.ok(onnxOps(modelFor(compiled.graph, options.provider)).has('LayerNormalization'), 'one LayerNormalization node normalises');
      const { y } = await compiled.run({ x });
      const got = y.dataSync() as Float32Array;
      const worst = got.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i])), 0);
      assert.ok(worst < 1e-5, `${options.provider}: ${worst} off float64`);
      y.dispose();
      compiled.dispose();
    }
    x.dispose();
  });

  it('writes the ops WebGPU lacks (Selu, the gradient sums) with ones it has: tfjs values, every node on the GPU', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const f = (x: tf.Tensor) => tf.sum(tf.addN([tf.mul(tf.selu(x), x), tf.mul(tf.selu(x), 3), x]));
    const x = tf.tensor2d([-2, -0.5, 0, 0.25, 1, 3], [2, 3]);
    const compiled = await CompiledFunction.create(
      [{ name: 'x', shape: [2, 3] }],
      (inputs) => {
        const { value, grads } = tf.valueAndGrads((v: tf.Tensor) => f(v))([inputs.x]);
        return { value, dx: grads[0] };
      },
      WEBGPU,
    );
    assert.ok(compiled.graph.nodeCount > 0);
    const ops = onnxOps(modelFor(compiled.graph, 'cpu'));
    assert.ok(ops.has('Sum') && ops.has('Selu'), `the traced graph has Sum and Selu: ${[...ops]}`);
    await assertAllOnWebGpu(compiled.graph, 'selu and a Sum');
    const out = await compiled.run({ x });
    const { value, grads } = tf.valueAndGrads((v: tf.Tensor) => f(v))([x]);
    assert.ok(relErr(out.value.dataSync(), value.dataSync()) < 1e-5, `value ${out.value.dataSync()} against ${value.dataSync()}`);
    assert.ok(relErr(out.dx.dataSync(), grads[0].dataSync()) < 1e-5, `gradient ${out.dx.dataSync()} against ${grads[0].dataSync()}`);
    tf.dispose([x, value, ...grads, ...Object.values(out)]);
  });

  it('runs every node of the step on the GPU, with either padding, GAN loss, prelu and the perceptual loss', async (t) => {
    if (skipReason) return t.skip(skipReason);
    // (A selu generator leaves 4 small Transposes, which onnxruntime's layout optimiser adds after ReduceMeans, on
    // the CPU: not covered here.) Random VGG-16 weights: only the graph's ops matter here.
    const rng = seeded(3);
    const tensors: TensorMap = new Map();
    for (const [name, i, o] of VGG16_LAYERS) {
      tensors.set(`${name}.weight`, { dtype: 'F32', shape: [o, i, 3, 3], data: Float32Array.from({ length: o * i * 9 }, () => rng() - 0.5) });
      tensors.set(`${name}.bias`, { dtype: 'F32', shape: [o], data: new Float32Array(o) });
    }
    const vgg = Vgg16.fromTensors(tensors, 'random VGG-16');
    const base = tinySettings();
    const configs: [string, ReturnType<typeof tinySettings>][] = [
      ['the reference defaults', base],
      [
        'prelu, zero padding, nsgan, cycle and perceptual losses',
        tinySettings({
          recon_x_cyc_w: 1,
          vgg_w: 1,
          gen: { ...base.gen, pad_type: 'zero' },
          dis: { ...base.dis, activ: 'prelu', gan_type: 'nsgan', pad_type: 'zero' },
        }),
      ],
    ];
    for (const [what, settings] of configs) {
      const trainer = new MunitTrainer(settings, { seed: 1, perceptual: settings.vgg_w > 0 ? vgg : undefined });
      const step = await CompiledStep.create(trainer, { a: [1, SIZE, SIZE, 3], b: [1, SIZE, SIZE, 3] }, WEBGPU);
      for (const [i, graph] of step.graphs.entries()) await assertAllOnWebGpu(graph, `${what}, ${['dis', 'gen'][i]}_update`);
      step.dispose();
      trainer.dispose();
    }
    vgg.dispose();
  });

  it('resident memory and the tensor count stay flat over 40 iterations with the state on the GPU, read back every 10', async (t) => {
    if (skipReason) return t.skip(skipReason);
    // On software Vulkan GPU buffers are host memory, so a leaked state buffer (3.6 MB of weights per copy here, three
    // copies an iteration) would show in the resident size.
    const trainer = new MunitTrainer(tinySettings(), { seed: 1 });
    const engine = await CompiledStep.create(trainer, { a: [1, SIZE, SIZE, 3], b: [1, SIZE, SIZE, 3] }, WEBGPU);
    await trainer.useEngine(engine);
    const x = randomImage(seeded(4), 1, SIZE, SIZE, 3);
    for (let i = 0; i < 10; i++) await trainer.step(x, x);
    await trainer.settle();
    const grown = await expectNoLeakedTensors(
      async () => {
        const rss = process.memoryUsage().rss;
        for (let i = 1; i <= 40; i++) {
          await trainer.step(x, x);
          if (i % 10 === 0) await trainer.settle();
        }
        return (process.memoryUsage().rss - rss) / 2 ** 20;
      },
      0,
      'tensors alive after 40 iterations',
    );
    assert.equal(engine.stateLocation, 'device');
    assert.ok(grown < 64, `resident memory grew by ${grown.toFixed(1)} MiB over 40 iterations`);
    x.dispose();
    trainer.dispose();
  });

  it('translates as eager tfjs does', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const trainer = new MunitTrainer(tinySettings(), { seed: 3 });
    const rng = seeded(5);
    const x = randomImage(rng, 1, 20, 28, 3);
    const styles = tf.tensor2d(
      Array.from({ length: 8 }, () => rng() * 2 - 1),
      [2, 4],
    );
    const translator = new CompiledTranslator(WEBGPU);
    const [got, expected] = await Promise.all([
      translator.translate(trainer.genA, trainer.genB, x, styles),
      eagerTranslator.translate(trainer.genA, trainer.genB, x, styles),
    ]);
    assert.deepEqual(got.shape, [2, 20, 28, 3]);
    assert.ok(relErr(got.dataSync(), expected.dataSync()) < 1e-4, `translation: ${relErr(got.dataSync(), expected.dataSync())} off`);
    tf.dispose([got, expected, x, styles]);
    translator.dispose();
    trainer.dispose();
  });
});

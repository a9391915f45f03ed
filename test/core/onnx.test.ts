// The compiled engine: each op's gradient against tfjs and finite differences, the PyTorch fixtures, a whole
// iteration against tfjs, NaN handling, a change of engine at a resume, and memory over many iterations.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { instanceNorm, adaptiveInstanceNorm, layerNorm } from '../../munit-core/layers/norms.js';
import { avgPool3x3s2ExcludePad, pad2d } from '../../munit-core/layers/padding.js';
import { upsampleConv2d } from '../../munit-core/layers/upsample-conv.js';
import { disLoss, genAdvLoss, l1 } from '../../munit-core/losses.js';
import { bindParams, CompiledFunction } from '../../munit-core/onnx/compile.js';
import { winogradApplies } from '../../munit-core/onnx/winograd.js';
import { CompiledStep } from '../../munit-core/onnx/compiled-step.js';
import { OIHW, traceBackend, traceGraph } from '../../munit-core/onnx/trace-backend.js';
import { registerTraceKernels } from '../../munit-core/onnx/trace-kernels.js';
import { createSession } from '../../munit-core/onnx/session.js';
import { inversePerm, permute } from '../../munit-core/onnx/layout.js';
import { onnx } from 'onnx-proto';
import { AdaINGen } from '../../munit-core/networks/generator.js';
import { MsImageDis } from '../../munit-core/networks/discriminator.js';
import { Vgg16, VGG16_LAYERS } from '../../munit-core/networks/vgg16.js';
import { loadStateDict } from '../../munit-core/state-dict.js';
import { MunitTrainer, NonFiniteLossError } from '../../munit-core/trainer.js';
import { runTraining } from '../../munit-core/training-run.js';
import { generateDemoDataset } from '../../munit-core/data/demo-dataset.js';
import { checkpointFile } from '../../munit-core/checkpoint.js';
import { readSafetensors, TensorMap } from '../../munit-core/safetensors.js';
import { compareGradients, expectNoLeakedTensors, randomImage, relErr, seeded, tinySettings, useBackend, writeTinyConfig } from './helpers.js';

/** Every weight of the generator and discriminator checkpoints of one iteration, by name. */
function loadCheckpointTensors(dir: string, iteration: number): Map<string, Float32Array> {
  const all = new Map<string, Float32Array>();
  for (const kind of ['gen', 'dis'] as const) {
    for (const [name, t] of readSafetensors(checkpointFile(dir, kind, iteration)).tensors) all.set(`${kind}.${name}`, t.data as Float32Array);
  }
  return all;
}

const CPU = { provider: 'cpu' as const, threads: 2 };

type Loss = (t: Record<string, tf.Tensor>) => tf.Scalar;

/** A scalar loss of some inputs, its value and gradients compiled into one graph. */
async function compileLoss(shapes: Record<string, number[]>, f: Loss): Promise<CompiledFunction> {
  const names = Object.keys(shapes);
  return CompiledFunction.create(
    names.map((name) => ({ name, shape: shapes[name] })),
    (inputs) => {
      const { value, grads } = tf.valueAndGrads((...xs: tf.Tensor[]) => f(Object.fromEntries(names.map((n, i) => [n, xs[i]]))))(names.map((n) => inputs[n]));
      return { value, ...Object.fromEntries(grads.map((g, i) => [`d_${names[i]}`, g])) };
    },
    CPU,
  );
}

/** sum(y^3 + y^2): not constant under normalisation, so the gradients of the norms are not float noise. */
const cubic = (y: tf.Tensor): tf.Scalar => tf.sum(tf.add(tf.mul(tf.square(y), y), tf.square(y)));
const op = (shape4: number[], f: (x: tf.Tensor4D) => tf.Tensor): [Record<string, number[]>, Loss] => [{ x: shape4 }, (t) => cubic(f(t.x as tf.Tensor4D))];
const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

const X = [2, 6, 7, 3];
const OPS: Record<string, [Record<string, number[]>, Loss]> = {
  'conv, zero padding, stride 1': [
    { x: X, w: [3, 3, 3, 4] },
    (t) => tf.sum(tf.square(tf.conv2d(pad2d(t.x as tf.Tensor4D, 1, 'zero'), t.w as tf.Tensor4D, 1, 'valid'))),
  ],
  'conv, reflect padding, stride 2': [
    { x: X, w: [4, 4, 3, 2] },
    (t) => tf.sum(tf.square(tf.conv2d(pad2d(t.x as tf.Tensor4D, 1, 'reflect'), t.w as tf.Tensor4D, 2, 'valid'))),
  ],
  // Sides that a stride of 2 divides exactly (the encoders' and discriminators' layers): ConvTranspose without output_padding.
  'conv 4x4, stride 2, sides divided exactly': [
    { x: [2, 6, 8, 3], w: [4, 4, 3, 5] },
    (t) => cubic(tf.conv2d(pad2d(t.x as tf.Tensor4D, 1, 'reflect'), t.w as tf.Tensor4D, 2, 'valid')),
  ],
  'conv 7x7, reflect padding 3': [
    { x: [1, 8, 8, 2], w: [7, 7, 2, 3] },
    (t) => tf.sum(tf.square(tf.conv2d(pad2d(t.x as tf.Tensor4D, 3, 'reflect'), t.w as tf.Tensor4D, 1, 'valid'))),
  ],
  'nearest 2x upsampling': op(X, (x) => tf.image.resizeNearestNeighbor(x, [12, 14])),
  // The decoder's upsampling convolution by phases: edge padding, DepthToSpace and its gradient, the border lines.
  'upsampling 5x5 conv by phases, reflect padding': [
    { x: [2, 3, 4, 3], w: [5, 5, 3, 4] },
    (t) => cubic(upsampleConv2d(t.x as tf.Tensor4D, t.w as tf.Tensor4D, 'reflect')),
  ],
  'upsampling 5x5 conv by phases, zero padding': [
    { x: [1, 4, 3, 2], w: [5, 5, 2, 3] },
    (t) => cubic(upsampleConv2d(t.x as tf.Tensor4D, t.w as tf.Tensor4D, 'zero')),
  ],
  'instance norm': op(X, (x) => instanceNorm(x)),
  AdaIN: [{ x: X, g: [2, 3], b: [2, 3] }, (t) => cubic(adaptiveInstanceNorm(t.x as tf.Tensor4D, t.g as tf.Tensor2D, t.b as tf.Tensor2D))],
  'LayerNorm (unbiased std, eps on the std)': [{ x: X, g: [3], b: [3] }, (t) => cubic(layerNorm(t.x as tf.Tensor4D, t.g as tf.Tensor1D, t.b as tf.Tensor1D))],
  relu: op(X, (x) => tf.relu(x)),
  lrelu: op(X, (x) => tf.leakyRelu(x, 0.2)),
  prelu: [{ x: X, a: [1] }, (t) => cubic(tf.prelu(t.x, t.a))],
  selu: op(X, (x) => tf.selu(x)),
  tanh: op(X, (x) => tf.tanh(x)),
  'average pool 3x3/2, padding not counted': op(X, (x) => avgPool3x3s2ExcludePad(x)),
  'linear layer': [{ x: [2, 5], w: [5, 3], b: [3] }, (t) => cubic(tf.add(tf.matMul(t.x as tf.Tensor2D, t.w as tf.Tensor2D), t.b))],
  'L1 loss': [{ x: X, y: X }, (t) => l1(t.x, t.y)],
  'LSGAN losses': [{ x: X, y: X }, (t) => tf.add(disLoss([t.x], [t.y], 'lsgan'), genAdvLoss([t.y], 'lsgan')) as tf.Scalar],
  'nsgan losses': [{ x: X, y: X }, (t) => tf.add(disLoss([t.x], [t.y], 'nsgan'), genAdvLoss([t.y], 'nsgan')) as tf.Scalar],
  // The filter gradient's three forms (trace-kernels.ts Conv2DBackpropFilter): the ones above use one dilated
  // convolution (few channels) or an im2col GEMM (strided); these an im2col GEMM for one image and per-tap GEMMs.
  'conv, filter gradient by im2col': [{ x: [1, 10, 10, 6], w: [3, 3, 6, 5] }, (t) => cubic(tf.conv2d(t.x as tf.Tensor4D, t.w as tf.Tensor4D, 1, 'valid'))],
  'conv, filter gradient by taps (over 32x32 outputs)': [
    { x: [1, 35, 35, 5], w: [3, 3, 5, 6] },
    (t) => tf.sum(tf.square(tf.conv2d(t.x as tf.Tensor4D, t.w as tf.Tensor4D, 1, 'valid'))),
  ],
  // A residual block's convolution from 128x128 images, batch 2: Winograd's forward, filter and input gradients. The
  // loss reads a corner, so its float32 sum stays small enough for finite differences; the rest of dy is zero.
  'conv 3x3, 64 channels, as Winograd with its gradients': [
    { x: [2, 34, 34, 64], w: [3, 3, 64, 64] },
    (t) => cubic(tf.slice(tf.conv2d(t.x as tf.Tensor4D, tf.mul(t.w, 0.05) as tf.Tensor4D, 1, 'valid'), [0, 0, 0, 0], [2, 12, 12, 64])),
  ],
  // VGG-16 (the perceptual loss): 'same' convolutions, 2x2 max pools after a ReLU, the RGB -> BGR split.
  'conv 3x3, same padding': [{ x: X, w: [3, 3, 3, 4] }, (t) => cubic(tf.conv2d(t.x as tf.Tensor4D, t.w as tf.Tensor4D, 1, 'same'))],
  'max pool 2x2 after a ReLU': op([2, 6, 8, 3], (x) => tf.maxPool(tf.relu(x), 2, 2, 'valid')),
  'channels split and concatenated': op(X, (x) => {
    const [r, g, b] = tf.split(x, 3, 3);
    return tf.mul(tf.concat([b, g, r], 3), tf.tensor1d([1, 2, 3]));
  }),
};

/** Weights whose gradient is zero in exact arithmetic (a conv bias before a norm): float noise on both engines. */
/** The eager trainer's weights whose gradient is float noise (compareGradients), for the update comparison. */
const noiseOnly = new Set<tf.Variable>();

describe('the compiled engine', () => {
  before(() => useBackend('wasm'));

  describe('each op: value and gradient against tfjs, and the gradient against finite differences', () => {
    for (const [name, [shapes, f]] of Object.entries(OPS)) {
      it(name, async () => {
        const rng = seeded(name.length);
        const inputs = Object.fromEntries(
          Object.entries(shapes).map(([k, s]) => [
            k,
            tf.tensor(
              Array.from({ length: sizeOf(s) }, () => rng() * 2 - 1),
              s,
            ),
          ]),
        );
        const names = Object.keys(shapes);
        const eager = tf.valueAndGrads((...xs: tf.Tensor[]) => f(Object.fromEntries(names.map((n, i) => [n, xs[i]]))))(names.map((n) => inputs[n]));
        const compiled = await compileLoss(shapes, f);
        const out = await compiled.run(inputs);
        assert.ok(relErr(out.value.dataSync(), eager.value.dataSync()) < 1e-5, `value ${out.value.dataSync()} vs ${eager.value.dataSync()}`);
        names.forEach((n, i) => assert.ok(relErr(out[`d_${n}`].dataSync(), eager.grads[i].dataSync()) < 1e-4, `d_${n}`));
        // Central differences on the compiled graph itself, at a few coordinates of each input.
        for (const n of names) {
          const base = inputs[n].dataSync() as Float32Array;
          const grad = out[`d_${n}`].dataSync();
          for (const k of [0, Math.floor(base.length / 2), base.length - 1]) {
            const h = 1e-2;
            const at = async (delta: number) => {
              const moved = Float32Array.from(base);
              moved[k] += delta;
              const r = await compiled.run({ ...inputs, [n]: tf.tensor(moved, inputs[n].shape) });
              return r.value.dataSync()[0];
            };
            const fd = ((await at(h)) - (await at(-h))) / (2 * h);
            assert.ok(Math.abs(fd - grad[k]) <= 2e-2 * Math.max(1, Math.abs(grad[k])), `d_${n}[${k}]: finite difference ${fd}, graph ${grad[k]}`);
          }
        }
        compiled.dispose();
      });
    }
  });

  it('the input gradient of a wide 3x3 convolution runs as Winograd (34x34, rounded up to blocks of 4) and gives tfjs values', async () => {
    // A residual block's: dx of the reflect-padded 34x34 input from a 32x32 dy.
    const [xShape, wShape] = [
      [1, 34, 34, 64],
      [3, 3, 64, 64],
    ] as [number, number, number, number][];
    assert.ok(winogradApplies(backend_util.computeConv2DInfo([1, 36 + 2, 36 + 2, 64], wShape, 1, 1, 'valid')), 'its transposed form takes Winograd');
    const rng = seeded(12);
    const [x, w, dy] = [xShape, wShape, [1, 32, 32, 64]].map((s, i) =>
      tf.tensor(
        Float32Array.from({ length: sizeOf(s) }, () => (rng() * 2 - 1) * (i === 1 ? 0.05 : 1)),
        s,
      ),
    );
    const inputs = [
      { name: 'x', shape: xShape },
      { name: 'w', shape: wShape, perm: [0, 1, 2, 3] },
      { name: 'dy', shape: [1, 32, 32, 64] },
    ];
    const dx = (t: Record<string, tf.Tensor>) =>
      tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(v as tf.Tensor4D, t.w as tf.Tensor4D, 1, 'valid'), t.dy)))(t.x);
    const compiled = await CompiledFunction.create(inputs, (t) => ({ dx: dx(t) }), CPU);
    const out = await compiled.run({ x, w: w.dataSync() as Float32Array, dy });
    const expected = dx({ x, w, dy });
    assert.deepEqual(out.dx.shape, expected.shape);
    const err = relErr(out.dx.dataSync(), expected.dataSync());
    assert.ok(err < 1e-4, `relative error ${err}`);
    tf.dispose([x, w, dy, expected, ...Object.values(out)]);
    compiled.dispose();
  });

  it('the wide 3x3 convolutions run as Winograd F(4x4, 3x3) and give tfjs values for every output', async () => {
    const [xShape, wShape] = [
      [2, 66, 66, 64],
      [3, 3, 64, 64],
    ] as [number, number, number, number][];
    assert.ok(winogradApplies(backend_util.computeConv2DInfo(xShape, wShape, 1, 1, 'valid')), 'this shape takes the Winograd form');
    const rng = seeded(11);
    const x = tf.tensor4d(
      Float32Array.from({ length: sizeOf(xShape) }, () => rng() * 2 - 1),
      xShape,
    );
    const w = tf.tensor4d(
      Float32Array.from({ length: sizeOf(wShape) }, () => (rng() * 2 - 1) * 0.05),
      wShape,
    );
    const compiled = await CompiledFunction.create(
      [
        { name: 'x', shape: xShape },
        { name: 'w', shape: wShape, perm: [0, 1, 2, 3] },
      ],
      (t) => ({ y: tf.conv2d(t.x as tf.Tensor4D, t.w as tf.Tensor4D, 1, 'valid') }),
      CPU,
    );
    const { y } = await compiled.run({ x, w: w.dataSync() as Float32Array });
    const expected = tf.conv2d(x, w, 1, 'valid');
    assert.deepEqual(y.shape, expected.shape);
    const err = relErr(y.dataSync(), expected.dataSync());
    assert.ok(err < 1e-4, `relative error ${err}`);
    compiled.dispose();
    tf.dispose([x, w, y, expected]);
  });

  it('a flat state buffer splits into weights in their layouts and gathers back; on a GPU no Split has over 7 outputs', async () => {
    // 20 pieces: conv filters stored as [out, in, kH, kW], biases and matrices as tfjs lays them out.
    const parts = Array.from({ length: 20 }, (_, i) => (i % 3 === 0 ? { shape: [3, 3, 2, i + 1], perm: OIHW } : { shape: [i + 1, 2], perm: [0, 1] }));
    const sizes = parts.map((p) => sizeOf(p.shape));
    const total = sizes.reduce((a, b) => a + b, 0);
    const flat = Float32Array.from({ length: total }, (_, k) => k);
    const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
    for (const target of ['cpu', 'gpu'] as const) {
      registerTraceKernels();
      const { graph } = traceGraph(
        (b) =>
          tf.tidy(() => {
            const pieces = b.splitFlat(b.input('flat', [total], [0]), parts);
            // Each piece scaled by its index + 1, then gathered back: a piece put at the wrong place shows.
            b.output('back', b.concatFlat(pieces.map((t, i) => ({ t: tf.mul(t, i + 1), perm: parts[i].perm }))), [0]);
            b.output('filter', pieces[3], [0, 1, 2, 3]);
          }),
        target,
      );
      const splits = onnx.ModelProto.decode(graph.toBytes()).graph!.node!.filter((n) => n.opType === 'Split');
      if (target === 'gpu') assert.ok(Math.max(...splits.map((n) => n.output!.length)) <= 7 && splits.length > 1, `${splits.length} Splits`);
      else assert.equal(splits.length, 1);
      const session = await createSession(graph, CPU);
      const out = await session.run(() => flat);
      session.release();
      const expected = flat.map((v, k) => v * offsets.filter((o) => o <= k).length);
      assert.deepEqual(out.back, expected, target);
      // Piece 3 as tfjs sees it, [kH, kW, in, out], from its stored [out, in, kH, kW] values.
      const stored = flat.subarray(offsets[3], offsets[3] + sizes[3]);
      assert.deepEqual(out.filter, permute(stored, [4, 2, 3, 3], inversePerm(OIHW)), target);
    }
  });

  it('the PyTorch fixtures: forward values and every weight gradient', async () => {
    const cases = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/pytorch/networks.json'), 'utf8'));
    for (const c of cases) {
      const n = 2;
      const map = (prefix: string) =>
        new Map(
          Object.entries(c.weights as Record<string, { shape: number[]; data: number[] }>)
            .filter(([k]) => k.startsWith(prefix))
            .map(([k, t]) => [k.slice(prefix.length), { dtype: 'F32' as const, shape: t.shape, data: Float32Array.from(t.data) }]),
        );
      const gen = new AdaINGen(c.input_dim, c.gen);
      const dis = new MsImageDis(c.input_dim, c.dis);
      loadStateDict(gen.params, map('gen.'), 'fixture');
      loadStateDict(dis.params, map('dis.'), 'fixture');
      const shapes = { x: [n, c.size, c.size, c.input_dim], s: [n, c.gen.style_dim] };
      const compiled = await CompiledFunction.create(
        [
          { name: 'x', ...{ shape: shapes.x } },
          { name: 's', shape: shapes.s },
        ],
        (inp) => {
          const g = new AdaINGen(c.input_dim, c.gen);
          const d = new MsImageDis(c.input_dim, c.dis);
          bindParams(traceBackend(), g.params, 'gen.');
          bindParams(traceBackend(), d.params, 'dis.');
          const vars = [...g.params.entries.values(), ...d.params.entries.values()].filter((e) => e.trainable);
          const outputs: Record<string, tf.Tensor> = {};
          const { grads } = tf.variableGrads(
            () => {
              const { content, style } = g.encode(inp.x as tf.Tensor4D);
              const decoded = g.decode(content, inp.s as tf.Tensor2D);
              const outs = d.apply(inp.x as tf.Tensor4D);
              Object.assign(outputs, {
                style: tf.keep(style),
                content: tf.keep(content),
                decoded: tf.keep(decoded),
                ...Object.fromEntries(outs.map((o, i) => [`dis${i}`, tf.keep(o)])),
              });
              const terms = [tf.sum(tf.mul(decoded, tf.tensor4d(c.r_decoded_nhwc, decoded.shape))), tf.sum(tf.mul(style, tf.tensor2d(c.r_style, style.shape)))];
              outs.forEach((o, i) => terms.push(tf.sum(tf.mul(o, tf.tensor(c.r_dis_nhwc[i], o.shape)))));
              return tf.addN(terms) as tf.Scalar;
            },
            vars.map((e) => e.variable),
          );
          for (const e of vars) outputs[`d:${g.params.entries.get(e.name) === e ? 'gen.' : 'dis.'}${e.name}`] = grads[e.variable.name];
          return outputs;
        },
        CPU,
      );
      const feeds: Record<string, tf.Tensor> = {
        x: tf.tensor4d(c.x_nhwc, shapes.x as [number, number, number, number]),
        s: tf.tensor2d(c.style, shapes.s as [number, number]),
      };
      for (const [prefix, params] of [
        ['gen.', gen.params],
        ['dis.', dis.params],
      ] as const)
        for (const e of params.entries.values()) if (e.trainable) feeds[prefix + e.name] = e.variable;
      const out = await compiled.run(feeds);
      assert.ok(relErr(out.style.dataSync(), c.style_code) < 1e-4, `${c.name}: style code`);
      assert.ok(relErr(out.content.dataSync(), c.content_nhwc) < 1e-4, `${c.name}: content code`);
      assert.ok(relErr(out.decoded.dataSync(), c.decoded_nhwc) < 1e-4, `${c.name}: decoded image`);
      c.dis_nhwc.forEach((expected: number[], i: number) => assert.ok(relErr(out[`dis${i}`].dataSync(), expected) < 1e-4, `${c.name}: dis scale ${i}`));
      const floor = 1e-3 * Math.max(...Object.values(c.grads as Record<string, number[]>).map((g) => Math.max(...g.map(Math.abs))));
      let checked = 0;
      for (const [prefix, params] of [
        ['gen.', gen.params],
        ['dis.', dis.params],
      ] as const) {
        for (const e of params.entries.values()) {
          if (!e.trainable) continue;
          const g = out[`d:${prefix}${e.name}`];
          const torch = e.kind === 'vector' ? g : tf.transpose(g, e.kind === 'conv' ? [3, 2, 0, 1] : [1, 0]);
          const err = relErr(torch.dataSync(), c.grads[prefix + e.name], floor);
          assert.ok(err < 2e-3, `${c.name}: ${prefix}${e.name}: relative error ${err}`);
          checked++;
        }
      }
      assert.equal(checked, Object.keys(c.grads).length);
      compiled.dispose();
      gen.dispose();
      dis.dispose();
    }
  });

  it('one iteration on onnxruntime equals the same iteration on tfjs: every loss term, gradient and update', async () => {
    const settings = tinySettings({ recon_x_cyc_w: 2, dis: { ...tinySettings().dis, gan_type: 'nsgan' } });
    const rng = seeded(7);
    const batches = [0, 1].map(() => [randomImage(rng, 1, 16, 16, 3), randomImage(rng, 1, 16, 16, 3)]);
    const eager = new MunitTrainer(settings, { seed: 5 });
    const compiled = new MunitTrainer(settings, { seed: 5 });
    await compiled.useEngine(await CompiledStep.create(compiled, { a: [1, 16, 16, 3], b: [1, 16, 16, 3] }, CPU));
    const before = new Map(compiled.genOpt.variables.concat(compiled.disOpt.variables).map((v) => [v, v.dataSync().slice()]));
    for (const [i, [xA, xB]] of batches.entries()) {
      const [e, c] = [await eager.step(xA, xB), await compiled.step(xA, xB)];
      for (const [term, value] of Object.entries(e.losses)) {
        const got = c.losses[term as keyof typeof c.losses];
        assert.ok(Math.abs(got - value) <= 1e-4 * Math.max(Math.abs(value), 1e-3), `iteration ${i + 1} ${term}: ${got} vs ${value}`);
      }
      if (i === 0) for (const v of await compareGradients(compiled, eager)) noiseOnly.add(v);
    }
    await compiled.settle();
    // Adam's first steps are about lr * sign(g): each update is within 1e-3 of its tensor's largest update, except
    // a few elements whose gradient is close to zero (they may step the other way, never by more than two steps).
    const lr = settings.lr;
    let differing = 0;
    let total = 0;
    for (const [copt, eopt] of [
      [compiled.genOpt, eager.genOpt],
      [compiled.disOpt, eager.disOpt],
    ] as const) {
      copt.variables.forEach((v, k) => {
        if (noiseOnly.has(eopt.variables[k])) return;
        const [c, e, w0] = [v.dataSync(), eopt.variables[k].dataSync(), before.get(v)!];
        let largest = 0;
        for (let j = 0; j < e.length; j++) largest = Math.max(largest, Math.abs(e[j] - w0[j]));
        for (let j = 0; j < c.length; j++) {
          const d = Math.abs(c[j] - e[j]);
          assert.ok(d <= 4.5 * lr, `weight ${k}[${j}] differs by ${d}, more than the two updates`);
          if (d > 1e-3 * largest) differing++;
        }
        total += c.length;
      });
    }
    assert.ok(differing / total < 5e-3, `${differing} of ${total} updated weights differ by more than 1e-3 of the largest update`);
    assert.equal(compiled.iteration, 2);
    assert.equal(compiled.genOpt.step, 2);
    tf.dispose(batches.flat());
    eager.dispose();
    compiled.dispose();
  });

  it('with the VGG-16 perceptual loss: one iteration on onnxruntime equals tfjs, every loss term and gradient', async () => {
    // Random VGG-16 weights (He-scaled, so relu5_3 is neither zero nor huge).
    const rng = seeded(11);
    const tensors: TensorMap = new Map();
    for (const [name, i, o] of VGG16_LAYERS) {
      const scale = Math.sqrt(6 / (9 * i));
      tensors.set(`${name}.weight`, { dtype: 'F32', shape: [o, i, 3, 3], data: Float32Array.from({ length: o * i * 9 }, () => (rng() * 2 - 1) * scale) });
      tensors.set(`${name}.bias`, { dtype: 'F32', shape: [o], data: Float32Array.from({ length: o }, () => (rng() * 2 - 1) * 0.1) });
    }
    const vgg = Vgg16.fromTensors(tensors, 'random VGG-16');
    const settings = tinySettings({ vgg_w: 1 });
    const [xA, xB] = [randomImage(rng, 1, 128, 128, 3), randomImage(rng, 1, 128, 128, 3)];
    const eager = new MunitTrainer(settings, { seed: 5, perceptual: vgg });
    const compiled = new MunitTrainer(settings, { seed: 5, perceptual: vgg });
    await compiled.useEngine(await CompiledStep.create(compiled, { a: [1, 128, 128, 3], b: [1, 128, 128, 3] }, CPU));
    const [e, c] = [await eager.step(xA, xB), await compiled.step(xA, xB)];
    assert.ok(e.losses.loss_gen_vgg_a! > 0 && e.losses.loss_gen_vgg_b! > 0, `the perceptual terms are on: ${JSON.stringify(e.losses)}`);
    for (const [term, value] of Object.entries(e.losses)) {
      const got = c.losses[term as keyof typeof c.losses];
      assert.ok(Math.abs(got - value) <= 1e-4 * Math.max(Math.abs(value), 1e-3), `${term}: ${got} vs ${value}`);
    }
    // The perceptual loss instance-normalises relu5_3 maps of 8x8 here; channels with one or two live pixels have a
    // tiny variance that multiplies float32 rounding in the gradient: on tfjs alone, the decoder's upsampling
    // convolution computed by phases or in the plain form (the same sums in another order) moves some gradients by
    // 4%. Each VGG rule is checked alone above at 1e-4, against tfjs and finite differences; a wrong rule is O(1).
    await compareGradients(compiled, eager, 5e-2);
    tf.dispose([xA, xB]);
    eager.dispose();
    compiled.dispose();
    vgg.dispose();
  });

  it('a NaN loss stops the step before any weight is updated, with the term and iteration named', async () => {
    const trainer = new MunitTrainer(tinySettings(), { seed: 1 });
    await trainer.useEngine(await CompiledStep.create(trainer, { a: [1, 16, 16, 3], b: [1, 16, 16, 3] }, CPU));
    const good = randomImage(seeded(3), 1, 16, 16, 3);
    const bad = tf.fill([1, 16, 16, 3], NaN) as tf.Tensor4D;
    await trainer.step(good, good);
    await trainer.settle();
    const weights = trainer.disOpt.variables.map((v) => v.dataSync().slice());
    await assert.rejects(
      trainer.step(bad, good),
      (err: NonFiniteLossError) => err instanceof NonFiniteLossError && /loss_dis_a is NaN at iteration 2/.test(err.message),
    );
    await trainer.settle();
    trainer.disOpt.variables.forEach((v, i) => assert.deepEqual(v.dataSync(), weights[i]));
    assert.equal(trainer.iteration, 1);
    tf.dispose([good, bad]);
    trainer.dispose();
  });

  it("CUDA's path, the state kept on the device by IO binding (host memory here), trains as the in-place binding does", async () => {
    const settings = tinySettings({ recon_x_cyc_w: 1 });
    const shapes = { a: [1, 16, 16, 3], b: [1, 16, 16, 3] };
    const rng = seeded(8);
    const [xA, xB] = [randomImage(rng, 1, 16, 16, 3), randomImage(rng, 1, 16, 16, 3)];
    const nan = tf.fill([1, 16, 16, 3], NaN) as tf.Tensor4D;
    const [inPlace, bound] = [new MunitTrainer(settings, { seed: 5 }), new MunitTrainer(settings, { seed: 5 })];
    await inPlace.useEngine(await CompiledStep.create(inPlace, shapes, CPU));
    const engine = await CompiledStep.create(bound, shapes, { ...CPU, stateOnDevice: true });
    await bound.useEngine(engine);
    assert.equal(engine.keepsStateOnDevice, true);
    assert.equal(engine.binding, 'onnxruntime C API, state kept on the device by IO binding');
    const weights = (t: MunitTrainer) => [...t.genOpt.variables, ...t.disOpt.variables].map((v) => v.dataSync() as Float32Array);
    // The same graphs on the same kernels: the two bindings agree exactly.
    const sameStep = async (what: string) => {
      const [a, b] = [await inPlace.step(xA, xB), await bound.step(xA, xB)];
      assert.deepEqual(b.losses, a.losses, what);
    };
    await sameStep('iteration 1');
    assert.equal(engine.stateLocation, 'device', 'after a step every weight and moment is a device value');
    await Promise.all([inPlace.settle(), bound.settle()]);
    assert.deepEqual(weights(bound), weights(inPlace), 'the state read back after iteration 1');
    assert.equal(engine.stateLocation, 'device', 'reading the state back leaves it on the device');
    await sameStep('iteration 2, after a read-back');
    for (const t of [inPlace, bound]) await assert.rejects(t.step(nan, xB), NonFiniteLossError);
    await sameStep('iteration 3, after a NaN step');
    await Promise.all([inPlace.settle(), bound.settle()]);
    assert.deepEqual(weights(bound), weights(inPlace), 'the state after iteration 3');
    tf.dispose([xA, xB, nan]);
    inPlace.dispose();
    bound.dispose();
  });

  it('a run can change engine at a resume: 3 iterations on onnxruntime then 3 on tfjs match 6 on onnxruntime', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'munit-onnx-'));
    await generateDemoDataset(path.join(root, 'data'), { size: 16, count: 4, testCount: 2, seed: 2 });
    const write = (name: string, maxIter: number) => writeTinyConfig(root, path.join(root, 'data'), 16, name, { max_iter: maxIter, snapshot_save_iter: 3 });
    await runTraining({ configPath: write('whole', 6), outputPath: root, engine: 'onnx', onWarning: () => {} });
    await runTraining({ configPath: write('split', 3), outputPath: root, engine: 'onnx', onWarning: () => {} });
    await runTraining({ configPath: write('split', 6), outputPath: root, engine: 'tfjs', resume: true, onWarning: () => {} });
    const whole = loadCheckpointTensors(path.join(root, 'whole', 'checkpoints'), 6);
    const split = loadCheckpointTensors(path.join(root, 'split', 'checkpoints'), 6);
    assert.deepEqual([...split.keys()].sort(), [...whole.keys()].sort());
    for (const [name, data] of whole) {
      const other = split.get(name)!;
      let m = 0;
      for (let i = 0; i < data.length; i++) m = Math.max(m, Math.abs(data[i] - other[i]));
      // Six Adam steps of at most lr (1e-4) each: the engines may differ in the elements whose gradient is noise.
      assert.ok(m <= 1.3e-3, `${name}: max difference ${m}`);
    }
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('resident memory and the tensor count stay flat over 500 iterations', async () => {
    const trainer = new MunitTrainer(tinySettings(), { seed: 1 });
    await trainer.useEngine(await CompiledStep.create(trainer, { a: [1, 16, 16, 3], b: [1, 16, 16, 3] }, CPU));
    const x = randomImage(seeded(4), 1, 16, 16, 3);
    for (let i = 0; i < 30; i++) await trainer.step(x, x);
    const grown = await expectNoLeakedTensors(
      async () => {
        global.gc?.();
        const rss = process.memoryUsage().rss;
        for (let i = 0; i < 500; i++) await trainer.step(x, x);
        global.gc?.();
        return (process.memoryUsage().rss - rss) / 2 ** 20;
      },
      0,
      'tensors alive after 500 iterations',
    );
    assert.ok(grown < 64, `resident memory grew by ${grown.toFixed(1)} MiB over 500 iterations`);
    x.dispose();
    trainer.dispose();
  });
});

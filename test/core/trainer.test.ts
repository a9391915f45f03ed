// The trainer: gradients reach every weight, losses fall, nothing leaks, live tuning, schedule, Adam, faults.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Adam } from '../../munit-core/adam.js';
import { learningRateAt } from '../../munit-core/lr-schedule.js';
import { MunitTrainer, NonFiniteLossError, GEN_LOSS_TERMS, DIS_LOSS_TERMS } from '../../munit-core/trainer.js';
import { expectNoLeakedTensors, expectTensorsClose, randomImage, seeded, tinySettings, useBackend } from './helpers.js';

const SIZE = 16;

function batch(seed: number): [tf.Tensor4D, tf.Tensor4D] {
  const r = seeded(seed);
  return [randomImage(r, 1, SIZE, SIZE, 3), randomImage(r, 1, SIZE, SIZE, 3)];
}

describe('trainer', () => {
  before(() => useBackend('wasm'));

  it('initialises as the reference: kaiming generators, N(0, 0.02) discriminators, zero biases, LayerNorm gamma in [0, 1)', () => {
    const t = new MunitTrainer(tinySettings(), { seed: 3 });
    const std = (v: tf.Variable) => tf.tidy(() => Math.sqrt(tf.moments(v).variance.dataSync()[0]));
    const convW = t.genA.params.get('enc_content.model.1.conv.weight'); // [4, 4, 8, 16]: fan_in 128
    assert.ok(Math.abs(std(convW) - Math.sqrt(2 / 128)) < 0.02, `kaiming std ${std(convW)}`);
    const disW = t.disA.params.get('cnns.0.1.conv.weight');
    assert.ok(Math.abs(std(disW) - 0.02) < 0.003, `discriminator std ${std(disW)}`);
    for (const e of [...t.genA.params.entries.values(), ...t.disB.params.entries.values()]) {
      if (e.role === 'bias')
        assert.equal(
          tf.tidy(() => tf.max(tf.abs(e.variable)).dataSync()[0]),
          0,
          e.name,
        );
    }
    const gamma = t.genA.params.get('dec.model.2.norm.gamma').dataSync();
    assert.ok(gamma.every((g) => g >= 0 && g < 1) && new Set(gamma).size > 1);
    t.dispose();
  });

  it('one iteration reports every loss term, the lr and the time, and leaks no tensor', async () => {
    const t = new MunitTrainer(tinySettings({ recon_x_cyc_w: 1 }), { seed: 1 });
    const [xA, xB] = batch(1);
    const m = await expectNoLeakedTensors(() => t.step(xA, xB));
    assert.equal(m.iteration, 1);
    assert.equal(m.lr, 0.0001);
    assert.ok(m.seconds_per_iter > 0);
    for (const name of [...DIS_LOSS_TERMS, ...GEN_LOSS_TERMS]) assert.ok(Number.isFinite(m.losses[name]), name);
    assert.ok(m.losses.loss_gen_cycrecon_x_a > 0, 'cycle term on when recon_x_cyc_w > 0');
    assert.equal(m.losses.loss_gen_vgg_a, 0, 'vgg term off when vgg_w = 0');
    const s = t.settings;
    const l = m.losses;
    const total =
      s.gan_w * (l.loss_gen_adv_a + l.loss_gen_adv_b) +
      s.recon_x_w * (l.loss_gen_recon_x_a + l.loss_gen_recon_x_b) +
      s.recon_s_w * (l.loss_gen_recon_s_a + l.loss_gen_recon_s_b) +
      s.recon_c_w * (l.loss_gen_recon_c_a + l.loss_gen_recon_c_b) +
      1 * (l.loss_gen_cycrecon_x_a + l.loss_gen_cycrecon_x_b);
    assert.ok(Math.abs(total - l.loss_gen_total) < 1e-4 * total, 'total is the weighted sum');
    assert.ok(Math.abs(l.loss_dis_total - (l.loss_dis_a + l.loss_dis_b)) < 1e-5);
    tf.dispose([xA, xB]);
    t.dispose();
  });

  it('gradients reach every trainable weight of both generators and both discriminators', async () => {
    const [xA, xB] = batch(2);
    // Without weight decay only a gradient can move a weight. A conv bias followed by instance norm or AdaIN has an
    // exactly-zero gradient (the norm removes any per-channel constant), so those are the only exceptions.
    const t2 = new MunitTrainer(tinySettings({ weight_decay: 0, recon_x_cyc_w: 1 }), { seed: 2 });
    const normed = (name: string) => /^(enc_content|dec\.model\.0)\..*conv\.bias$/.test(name.slice(2));
    const b2 = new Map(
      [t2.genA, t2.genB, t2.disA, t2.disB].flatMap((net, i) =>
        [...net.params.entries.values()].filter((e) => e.trainable).map((e) => [`${i}:${e.name}`, e] as const),
      ),
    );
    const values = new Map([...b2].map(([k, e]) => [k, e.variable.dataSync().slice()]));
    await t2.step(xA, xB);
    for (const [name, e] of b2) {
      if (normed(name)) continue;
      assert.ok(
        e.variable.dataSync().some((v, i) => v !== values.get(name)![i]),
        `no gradient reached ${name}`,
      );
    }
    tf.dispose([xA, xB]);
    t2.dispose();
  });

  it('a few iterations on a tiny data set lower the image reconstruction loss', async () => {
    const t = new MunitTrainer(tinySettings({ lr: 0.001 }), { seed: 4 });
    const [xA, xB] = batch(4);
    const recon: number[] = [];
    for (let i = 0; i < 25; i++) {
      const m = await t.step(xA, xB);
      recon.push(m.losses.loss_gen_recon_x_a + m.losses.loss_gen_recon_x_b);
    }
    const first = (recon[0] + recon[1] + recon[2]) / 3;
    const last = (recon[22] + recon[23] + recon[24]) / 3;
    assert.ok(last < 0.8 * first, `reconstruction loss ${first.toFixed(3)} -> ${last.toFixed(3)}`);
    tf.dispose([xA, xB]);
    t.dispose();
  });

  it('loss weights and the learning rate change between iterations without rebuilding', async () => {
    const t = new MunitTrainer(tinySettings(), { seed: 5 });
    const [xA, xB] = batch(5);
    assert.equal((await t.step(xA, xB)).losses.loss_gen_cycrecon_x_a, 0);
    const genVars = t.genOpt.variables;
    t.setHyperparameters({ recon_x_cyc_w: 2, lr: 0.0005, gan_w: 0 });
    const m = await t.step(xA, xB);
    assert.ok(m.losses.loss_gen_cycrecon_x_a > 0);
    assert.equal(m.lr, 0.0005);
    assert.equal(t.genOpt.variables, genVars, 'same optimiser, same variables');
    assert.throws(() => t.setHyperparameters({ lr: -1 }), /lr must be a finite number >= 0/);
    assert.throws(() => t.setHyperparameters({ vgg_w: 1 }), /VGG-16 weights/);
    tf.dispose([xA, xB]);
    t.dispose();
  });

  it('creating and disposing a trainer leaves no tensor behind', () => {
    expectNoLeakedTensors(() => new MunitTrainer(tinySettings(), { seed: 9 }).dispose());
  });

  it('vgg_w > 0 without VGG-16 weights is an error before training starts', () => {
    assert.throws(() => new MunitTrainer(tinySettings({ vgg_w: 1 })), /vgg_w is 1 but no VGG-16 weights/);
  });

  it('a NaN loss stops with the term and the iteration, and leaves the weights as they were', async () => {
    const t = new MunitTrainer(tinySettings(), { seed: 6 });
    const [xA, xB] = batch(6);
    const bad = tf.fill([1, SIZE, SIZE, 3], NaN) as tf.Tensor4D;
    const before = t.genA.params.get('dec.model.5.conv.weight').dataSync().slice();
    const dBefore = t.disA.params.get('cnns.0.0.conv.weight').dataSync().slice();
    await expectNoLeakedTensors(() =>
      assert.rejects(t.step(bad, xB), (err: unknown) => {
        assert.ok(err instanceof NonFiniteLossError);
        assert.equal(err.iteration, 1);
        assert.match(err.message, /loss_dis_a is NaN at iteration 1/);
        return true;
      }),
    );
    assert.deepEqual(t.disA.params.get('cnns.0.0.conv.weight').dataSync(), dBefore);
    assert.deepEqual(t.genA.params.get('dec.model.5.conv.weight').dataSync(), before);
    tf.dispose([xA, xB, bad]);
    t.dispose();
  });

  it('step learning-rate schedule as the reference (scheduler stepped before each iteration)', () => {
    const s = { lr: 1e-4, lr_policy: 'step' as const, step_size: 10, gamma: 0.5 };
    assert.equal(learningRateAt(0, s), 1e-4);
    assert.equal(learningRateAt(8, s), 1e-4);
    assert.equal(learningRateAt(9, s), 0.5e-4);
    assert.equal(learningRateAt(19, s), 0.25e-4);
    assert.equal(learningRateAt(1000, { ...s, lr_policy: 'constant' }), 1e-4);
  });

  it('Adam with coupled weight decay matches torch.optim.Adam step by step', () => {
    const p = tf.variable(tf.tensor1d([1, -2, 0.5]));
    const adam = new Adam([p], { beta1: 0.5, beta2: 0.999, weightDecay: 0.1, eps: 1e-8 });
    // (No gradient cancels the decay term exactly: Adam would amplify the float32 rounding left over.)
    const grads = [
      [0.1, 0.35, -0.3],
      [-0.5, 0.1, 0.07],
      [1, 1, 1],
    ];
    // Reference computed in float64 from torch's formulas.
    const value = [1, -2, 0.5];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    grads.forEach((g, step) => {
      const t = step + 1;
      for (let i = 0; i < 3; i++) {
        const gi = g[i] + 0.1 * value[i];
        m[i] = 0.5 * m[i] + 0.5 * gi;
        v[i] = 0.999 * v[i] + 0.001 * gi * gi;
        const denom = Math.sqrt(v[i]) / Math.sqrt(1 - 0.999 ** t) + 1e-8;
        value[i] -= (0.01 / (1 - 0.5 ** t)) * (m[i] / denom);
      }
      const gt = tf.tensor1d(g);
      adam.apply([gt], 0.01);
      gt.dispose();
    });
    expectTensorsClose(p, value, 1e-6, 'Adam update');
    adam.dispose();
    p.dispose();
  });
});

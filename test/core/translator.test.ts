// Translation on the compiled engine: the same images as eager tfjs, the weights read at each call, graphs reused by
// shape and bounded in number, only the weights a direction reads fed, nothing left allocated.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { bindParams, CompiledFunction } from '../../munit-core/onnx/compile.js';
import { CompiledTranslator } from '../../munit-core/onnx/compiled-translator.js';
import { eagerNodeRunner, inspectableOutputs } from '../../munit-core/inspect/activations.js';
import { traceBackend } from '../../munit-core/onnx/trace-backend.js';
import { AdaINGen } from '../../munit-core/networks/generator.js';
import { MunitTrainer } from '../../munit-core/trainer.js';
import { eagerTranslator, SAMPLE_OUTPUTS, SampleInputs, translateWithStyles } from '../../munit-core/translate.js';
import { expectNoLeakedTensors, randomImage, relErr, seeded, tinySettings, useBackend } from './helpers.js';

const CPU = { provider: 'cpu' as const, threads: 2 };

async function values(t: Promise<tf.Tensor>): Promise<Float32Array> {
  const tensor = await t;
  const data = (await tensor.data()) as Float32Array;
  tensor.dispose();
  return data;
}

describe('translation on the compiled engine', () => {
  before(() => useBackend('wasm'));

  it('gives eager tfjs images and style codes, reads new weights at once, and leaves nothing allocated', async () => {
    const trainer = new MunitTrainer(tinySettings(), { seed: 3 });
    const rng = seeded(5);
    // Not square, so a mixed-up height and width would show.
    const x = randomImage(rng, 1, 20, 28, 3);
    const styles = tf.tensor2d(
      Array.from({ length: 12 }, () => rng() * 2 - 1),
      [3, 4],
    );
    const translator = new CompiledTranslator(CPU);
    await expectNoLeakedTensors(
      async () => {
        const [source, target] = [trainer.genA, trainer.genB];

        const expected = await values(eagerTranslator.translate(source, target, x, styles));
        const got = await values(translator.translate(source, target, x, styles));
        assert.equal(got.length, 3 * 20 * 28 * 3);
        assert.ok(relErr(got, expected) < 1e-4, `translation: ${relErr(got, expected)}`);
        const style = await values(translator.encodeStyle(target, x));
        assert.ok(relErr(style, await values(eagerTranslator.encodeStyle(target, x))) < 1e-4, 'style code');

        // A training update replaces a weight's data: the next call must use it, not the feed cached for the old data.
        const w = target.params.entries.get('mlp.model.2.fc.weight')!.variable;
        tf.tidy(() => w.assign(tf.mul(w, 1.5)));
        const moved = await values(translator.translate(source, target, x, styles));
        assert.ok(relErr(moved, expected) > 1e-3, 'the new weight changes the translation');
        assert.ok(relErr(moved, await values(eagerTranslator.translate(source, target, x, styles))) < 1e-4, 'with the new weight');
      },
      0,
      'tensors left after the translations',
    );
    translator.dispose();
    tf.dispose([x, styles]);
    trainer.dispose();
  });

  it('gives the sample grids of eager tfjs, for domains with different channels', async () => {
    // Edges (one channel) to photos (three), as edges2shoes can be set up: each direction's output has its own shape.
    const trainer = new MunitTrainer({ ...tinySettings(), input_dim_a: 1 }, { seed: 6 });
    const rng = seeded(7);
    const inputs: SampleInputs = {
      x_a: randomImage(rng, 2, 16, 20, 1),
      x_b: randomImage(rng, 2, 16, 20, 3),
      s_a_fixed: tf.randomNormal([2, 4], 0, 1, 'float32', 1) as tf.Tensor2D,
      s_b_fixed: tf.randomNormal([2, 4], 0, 1, 'float32', 2) as tf.Tensor2D,
      s_a_random: tf.randomNormal([2, 4], 0, 1, 'float32', 3) as tf.Tensor2D,
      s_b_random: tf.randomNormal([2, 4], 0, 1, 'float32', 4) as tf.Tensor2D,
    };
    const translator = new CompiledTranslator(CPU);
    await expectNoLeakedTensors(
      async () => {
        const expected = await eagerTranslator.samples(trainer.genA, trainer.genB, inputs);
        const got = await translator.samples(trainer.genA, trainer.genB, inputs);
        for (const name of SAMPLE_OUTPUTS) {
          assert.deepEqual(got[name].shape, expected[name].shape, name);
          assert.equal(got[name].shape[3], name === 'x_a_recon' || name.startsWith('x_ba') ? 1 : 3, `${name} channels`);
          assert.ok(
            relErr(await got[name].data(), await expected[name].data()) < 1e-4,
            `${name}: ${relErr(await got[name].data(), await expected[name].data())}`,
          );
        }
        // The fixed and random styles give different translations (the graph does not mix up its inputs).
        assert.ok(relErr(await got.x_ab1.data(), await got.x_ab2.data()) > 1e-3);
        tf.dispose([...Object.values(expected), ...Object.values(got)]);
      },
      0,
      'tensors left after the samples',
    );
    translator.dispose();
    tf.dispose(Object.values(inputs));
    trainer.dispose();
  });

  it('gives eager activations for generator, AdaIN and discriminator nodes, one graph per image shape and network', async () => {
    const trainer = new MunitTrainer(tinySettings(), { seed: 8 });
    const x = randomImage(seeded(9), 1, 16, 20, 3);
    const style = tf.randomNormal([1, 4], 0, 1, 'float32', 5) as tf.Tensor2D;
    const translator = new CompiledTranslator(CPU);
    const keys = [...inspectableOutputs(trainer.genA, trainer.disA, 'a').keys()];
    const adain = keys.find((k) => k.endsWith(':adain'))!;
    const dis = keys.filter((k) => k.startsWith('dis'));
    assert.ok(adain && dis.length > 0, keys.join(', '));
    await expectNoLeakedTensors(
      async () => {
        for (const s of [undefined, style]) {
          for (const ask of [[keys[1], adain], dis, keys.slice(0, 4)]) {
            const expected = await eagerNodeRunner(trainer.genA, trainer.disA, 'a', ask, x, s);
            const got = await translator.nodeOutputs(trainer.genA, trainer.disA, 'a', ask, x, s);
            for (const [i, key] of ask.entries()) {
              assert.deepEqual(got[i].shape, expected[i].shape, key);
              const err = relErr(await got[i].data(), await expected[i].data());
              assert.ok(err < 1e-4, `${key} (${s ? 'given style' : 'own style'}): ${err}`);
            }
            tf.dispose([...expected, ...got]);
          }
        }
      },
      0,
      'tensors left after the activations',
    );
    // Graphs by network and style source, whichever of their nodes were asked for.
    const nodes = await translator.nodeCount();
    (await translator.nodeOutputs(trainer.genA, trainer.disA, 'a', [keys[3]], x)).forEach((t) => t.dispose());
    assert.equal(await translator.nodeCount(), nodes, 'another node of the same image shape traces nothing');
    translator.dispose();
    tf.dispose([x, style]);
    trainer.dispose();
  });

  it('keeps one graph per shape, at most four, and reuses it', async () => {
    const trainer = new MunitTrainer(tinySettings(), { seed: 4 });
    const translator = new CompiledTranslator(CPU);
    const styles = tf.zeros([1, 4]) as tf.Tensor2D;
    const run = async (w: number) => {
      const x = tf.zeros([1, 16, w, 3]) as tf.Tensor4D;
      (await translator.translate(trainer.genA, trainer.genB, x, styles)).dispose();
      x.dispose();
    };
    await run(16);
    const one = await translator.nodeCount();
    await run(16);
    assert.equal(await translator.nodeCount(), one, 'the same shape traces nothing new');
    for (const w of [20, 24, 28, 32]) await run(w);
    const four = await translator.nodeCount();
    assert.ok(four >= 3.9 * one && four <= 4.1 * one, `four graphs kept: ${four} nodes, one has ${one}`);
    translator.dispose();
    styles.dispose();
    trainer.dispose();
  });

  it('a translation graph reads only the source encoder and the target decoder and MLP', async () => {
    const s = tinySettings();
    const compiled = await CompiledFunction.create(
      [
        { name: 'x', shape: [1, 16, 16, 3] },
        { name: 'styles', shape: [1, 4] },
      ],
      (inputs) => {
        const [a, b] = [new AdaINGen(3, s.gen), new AdaINGen(3, s.gen)];
        bindParams(traceBackend(), a.params, 'source.');
        bindParams(traceBackend(), b.params, 'target.');
        const y = translateWithStyles(a, b, inputs.x as tf.Tensor4D, inputs.styles as tf.Tensor2D);
        a.dispose();
        b.dispose();
        return { y };
      },
      CPU,
    );
    const names = compiled.graph.inputs.map((p) => p.name);
    const read = (prefix: string) => names.filter((n) => n.startsWith(prefix)).length;
    assert.ok(read('source.enc_content.') > 0 && read('target.dec.') > 0 && read('target.mlp.') > 0, names.join(', '));
    assert.equal(read('source.enc_style.') + read('source.dec.') + read('source.mlp.') + read('target.enc_'), 0, names.join(', '));
    compiled.dispose();
  });
});

// Architecture: parameter counts, reference names and shapes, output shapes for several configs.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdaINGen } from '../../munit-core/networks/generator.js';
import { MsImageDis } from '../../munit-core/networks/discriminator.js';
import { referenceShape } from '../../munit-core/layers/params.js';
import { expectNoLeakedTensors, referenceSettings, useBackend } from './helpers.js';

/** Parses shared/docs/reference-state-dict.txt (copied to test/fixtures): name -> shape, per network. */
function referenceStateDict(): { gen: Map<string, number[]>; dis: Map<string, number[]> } {
  const text = fs.readFileSync(path.join(__dirname, '../fixtures/reference-state-dict.txt'), 'utf8');
  const gen = new Map<string, number[]>();
  const dis = new Map<string, number[]>();
  let current = gen;
  for (const line of text.split('\n')) {
    if (line.startsWith('# dis_a')) current = dis;
    const m = /^(\S+) \(([\d, ]*)\)$/.exec(line.trim());
    if (m)
      current.set(
        m[1],
        m[2]
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
          .map(Number),
      );
  }
  return { gen, dis };
}

function stateShapes(params: AdaINGen['params']): Map<string, number[]> {
  return new Map([...params.entries.values()].map((e) => [e.name, referenceShape(e, e.variable.shape)]));
}

describe('architecture', () => {
  before(() => useBackend('wasm'));

  it('reference config: 15,026,187 parameters per generator, 8,271,171 per discriminator, with the paper parts', () => {
    const s = referenceSettings();
    const gen = new AdaINGen(3, s.gen);
    const dis = new MsImageDis(3, s.dis);
    assert.equal(gen.params.countParameters(), 15_026_187);
    assert.equal(gen.params.countParameters('enc_style.'), 2_764_936);
    assert.equal(gen.params.countParameters('enc_content.'), 5_385_856);
    assert.equal(gen.params.countParameters('dec.'), 5_754_627);
    assert.equal(gen.params.countParameters('mlp.'), 1_120_768);
    assert.equal(dis.params.countParameters(), 8_271_171);
    assert.equal(dis.params.countParameters('cnns.0.'), 2_757_057);
    assert.equal(
      gen.decoder.adainChannels().reduce((a, c) => a + 2 * c, 0),
      4096,
    );
    gen.dispose();
    dis.dispose();
  });

  it('every weight and buffer has the reference state-dict name and shape, one to one', () => {
    const s = referenceSettings();
    const ref = referenceStateDict();
    assert.equal(ref.gen.size, 82);
    assert.equal(ref.dis.size, 30);
    const gen = new AdaINGen(3, s.gen);
    const dis = new MsImageDis(3, s.dis);
    assert.deepEqual(stateShapes(gen.params), ref.gen);
    assert.deepEqual(stateShapes(dis.params), ref.dis);
    // The reference's state-dict order as well (checkpoint files list tensors in it).
    assert.deepEqual([...gen.params.entries.keys()], [...ref.gen.keys()]);
    gen.dispose();
    dis.dispose();
  });

  const variants = [
    { name: 'reference widths at 64x64', size: 64, inputDim: 3, gen: {}, dis: {} },
    {
      name: 'grey input, n_downsample 1, n_res 1',
      size: 24,
      inputDim: 1,
      gen: { n_downsample: 1, n_res: 1, dim: 8 },
      dis: { dim: 8, n_layer: 2, num_scales: 2 },
    },
    {
      name: 'n_downsample 3, zero padding, prelu, dis norm bn',
      size: 40,
      inputDim: 3,
      gen: { n_downsample: 3, dim: 4, pad_type: 'zero', activ: 'prelu' },
      dis: { dim: 4, norm: 'bn', n_layer: 3, num_scales: 1, pad_type: 'zero' },
    },
    {
      name: 'non-square, selu/tanh, dis ln, 3 scales',
      size: [32, 48],
      inputDim: 3,
      gen: { dim: 4, activ: 'selu', style_dim: 5, mlp_dim: 7 },
      dis: { dim: 4, norm: 'ln', activ: 'tanh', n_layer: 2 },
    },
  ] as const;

  for (const v of variants) {
    it(`output shapes: ${v.name}`, () => {
      const s = referenceSettings();
      const gen = new AdaINGen(v.inputDim, { ...s.gen, ...v.gen });
      const dis = new MsImageDis(v.inputDim, { ...s.dis, ...v.dis });
      const [h, w] = typeof v.size === 'number' ? [v.size, v.size] : v.size;
      expectNoLeakedTensors(() =>
        tf.tidy(() => {
          const x = tf.randomUniform([2, h, w, v.inputDim], -1, 1) as tf.Tensor4D;
          const { content, style } = gen.encode(x);
          const down = 2 ** gen.options.n_downsample;
          assert.deepEqual(content.shape, [2, h / down, w / down, gen.contentEncoder.outDim]);
          assert.deepEqual(style.shape, [2, gen.options.style_dim]);
          const y = gen.decode(content, style);
          assert.deepEqual(y.shape, [2, h, w, v.inputDim]);
          const values = y.dataSync();
          assert.ok(
            values.every((e) => e >= -1 && e <= 1),
            'decoder output is tanh-bounded',
          );
          const outs = dis.apply(x);
          assert.equal(outs.length, dis.options.num_scales);
          let [sh, sw]: number[] = [h, w];
          for (const out of outs) {
            const f = 2 ** dis.options.n_layer;
            assert.deepEqual(out.shape, [2, Math.floor(sh / f), Math.floor(sw / f), 1]);
            [sh, sw] = [Math.ceil(sh / 2), Math.ceil(sw / 2)];
          }
        }),
      );
      gen.dispose();
      dis.dispose();
    });
  }
});

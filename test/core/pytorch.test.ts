// Forward values and gradients of our networks against PyTorch (test/fixtures/pytorch/make_fixtures.py).
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdaINGen } from '../../munit-core/networks/generator.js';
import { MsImageDis } from '../../munit-core/networks/discriminator.js';
import { GenOptions, DisOptions } from '../../munit-core/networks/options.js';
import { loadStateDict, toStateDict } from '../../munit-core/state-dict.js';
import { TensorMap } from '../../munit-core/safetensors.js';
import { referenceShape } from '../../munit-core/layers/params.js';
import { expectNoLeakedTensors, relErr, useBackend } from './helpers.js';

interface Case {
  name: string;
  input_dim: number;
  size: number;
  gen: GenOptions;
  dis: DisOptions;
  weights: Record<string, { shape: number[]; data: number[] }>;
  x_nhwc: number[];
  style: number[];
  style_code: number[];
  content_nhwc: number[];
  decoded_nhwc: number[];
  dis_nhwc: number[][];
  r_decoded_nhwc: number[];
  r_style: number[];
  r_dis_nhwc: number[][];
  grads: Record<string, number[]>;
}

const cases: Case[] = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/pytorch/networks.json'), 'utf8'));

function stateDict(c: Case, prefix: string): TensorMap {
  const map: TensorMap = new Map();
  for (const [name, t] of Object.entries(c.weights)) {
    if (name.startsWith(prefix)) map.set(name.slice(prefix.length), { dtype: 'F32', shape: t.shape, data: Float32Array.from(t.data) });
  }
  return map;
}

describe('networks agree with PyTorch', () => {
  before(() => useBackend('wasm'));

  for (const c of cases) {
    describe(c.name, () => {
      const n = 2;
      const x = () => tf.tensor4d(c.x_nhwc, [n, c.size, c.size, c.input_dim]);
      const style = () => tf.tensor2d(c.style, [n, c.gen.style_dim]);

      function build() {
        const gen = new AdaINGen(c.input_dim, c.gen);
        const dis = new MsImageDis(c.input_dim, c.dis);
        loadStateDict(gen.params, stateDict(c, 'gen.'), 'fixture');
        loadStateDict(dis.params, stateDict(c, 'dis.'), 'fixture');
        return { gen, dis };
      }

      it('loads the PyTorch state dict by name and writes it back unchanged', async () => {
        const { gen, dis } = build();
        for (const [prefix, params] of [
          ['gen.', gen.params],
          ['dis.', dis.params],
        ] as const) {
          const back = await toStateDict(params);
          assert.deepEqual([...back.keys()].sort(), [...stateDict(c, prefix).keys()].sort());
          for (const [name, t] of back) assert.ok(relErr(t.data, c.weights[prefix + name].data) < 1e-6, name);
        }
        gen.dispose();
        dis.dispose();
      });

      it('style code, content code, decoded image and discriminator outputs', () => {
        const { gen, dis } = build();
        tf.tidy(() => {
          const { content, style: code } = gen.encode(x());
          assert.ok(relErr(code.dataSync(), c.style_code) < 1e-4, 'style code');
          assert.ok(relErr(content.dataSync(), c.content_nhwc) < 1e-4, 'content code');
          const decoded = gen.decode(content, style());
          assert.ok(relErr(decoded.dataSync(), c.decoded_nhwc) < 1e-4, 'decoded image');
          dis.apply(x()).forEach((out, i) => assert.ok(relErr(out.dataSync(), c.dis_nhwc[i]) < 1e-4, `dis scale ${i}`));
        });
        gen.dispose();
        dis.dispose();
      });

      it('gradients of every trainable weight (through reflect padding, norms, AdaIN, pooling)', () => {
        const { gen, dis } = build();
        const vars = [...gen.params.entries.values(), ...dis.params.entries.values()].filter((e) => e.trainable);
        expectNoLeakedTensors(() => {
          const { grads, value } = tf.variableGrads(
            () => {
              const xs = x();
              const { content, style: code } = gen.encode(xs);
              const decoded = gen.decode(content, style());
              // The fixture's loss: sum(decoded * r) + sum(style_code * r') + sum over scales sum(D(x) * r_s).
              const terms = [tf.sum(tf.mul(decoded, tf.tensor4d(c.r_decoded_nhwc, decoded.shape))), tf.sum(tf.mul(code, tf.tensor2d(c.r_style, code.shape)))];
              dis.apply(xs).forEach((out, i) => terms.push(tf.sum(tf.mul(out, tf.tensor(c.r_dis_nhwc[i], out.shape)))));
              return tf.addN(terms) as tf.Scalar;
            },
            vars.map((e) => e.variable),
          );
          // Gradients that are zero in exact arithmetic (a conv bias before instance norm) are float noise here:
          // measure every error against at least a thousandth of the largest gradient in the network.
          const floor = 1e-3 * Math.max(...Object.values(c.grads).map((g) => Math.max(...g.map(Math.abs))));
          for (const entry of vars) {
            const prefix = dis.params.entries.get(entry.name) === entry ? 'dis.' : 'gen.';
            const g = grads[entry.variable.name];
            assert.ok(g, `no gradient for ${prefix}${entry.name}`);
            const torchLayout = entry.kind === 'vector' ? g : tf.transpose(g, entry.kind === 'conv' ? [3, 2, 0, 1] : [1, 0]);
            assert.deepEqual(torchLayout.shape, referenceShape(entry, entry.variable.shape));
            const err = relErr(torchLayout.dataSync(), c.grads[prefix + entry.name], floor);
            assert.ok(err < 2e-3, `${prefix}${entry.name}: relative error ${err}`);
            if (torchLayout !== g) torchLayout.dispose();
          }
          tf.dispose([value, ...Object.values(grads)]);
        });
        gen.dispose();
        dis.dispose();
      });
    });
  }
});

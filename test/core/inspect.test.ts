// Inspection: the architecture graph (structure, shapes, parameter counts) and one node's activations.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { initParams } from '../../munit-core/init.js';
import { architectureGraph, architectureText } from '../../munit-core/inspect/architecture.js';
import { nodeActivations } from '../../munit-core/inspect/activations.js';
import { tileLayout, MAX_TILED_CHANNELS } from '../../munit-core/inspect/tile-maps.js';
import type { ArchitectureGraph } from '../../munit-core/inspect/types.js';
import { MsImageDis } from '../../munit-core/networks/discriminator.js';
import { AdaINGen } from '../../munit-core/networks/generator.js';
import { Rng } from '../../munit-core/random.js';
import { expectNoLeakedTensors, randomImage, referenceSettings, seeded, tinySettings, useBackend } from './helpers.js';

function nodesIn(graph: ArchitectureGraph, group: string) {
  return graph.nodes.filter((n) => n.group === group);
}

describe('architecture graph, reference config at 3x64x64', () => {
  const s = referenceSettings();
  let gen: AdaINGen;
  let dis: MsImageDis;
  let graph: ArchitectureGraph;
  const [H, W] = [64, 64];

  before(async () => {
    await useBackend('wasm');
    gen = new AdaINGen(3, s.gen);
    dis = new MsImageDis(3, s.dis);
    graph = expectNoLeakedTensors(() => architectureGraph(gen, dis, 'a', [3, H, W]), 0, 'no tensors left behind');
  });
  after(() => {
    gen.dispose();
    dis.dispose();
  });

  it('ids are unique and every edge joins two nodes of the graph', () => {
    const ids = new Set(graph.nodes.map((n) => n.id));
    assert.equal(ids.size, graph.nodes.length);
    for (const e of graph.edges) assert.ok(ids.has(e.from) && ids.has(e.to), `${e.from} -> ${e.to}`);
    const groups = new Set(graph.groups.map((g) => g.id));
    for (const n of graph.nodes) assert.ok(groups.has(n.group), n.id);
    for (const n of graph.nodes) assert.ok(n.id.startsWith(`${n.group.split('/')[0]}/`), n.id);
  });

  it('style encoder without instance norm, content encoder with it', () => {
    const style = nodesIn(graph, 'gen_a/enc_style');
    assert.ok(style.length >= 6);
    assert.ok(style.every((n) => n.norm === 'none'));
    assert.ok(graph.groups.find((g) => g.id === 'gen_a/enc_style')!.note!.includes('no instance norm'));
    const content = nodesIn(graph, 'gen_a/enc_content');
    assert.equal(content.filter((n) => n.norm === 'in').length, 1 + s.gen.n_downsample + s.gen.n_res);
    assert.equal(content.filter((n) => n.kind === 'resblock').length, s.gen.n_res);
  });

  it('the decoder has 2 x n_res AdaIN nodes, each fed by the MLP output with 2 x channels numbers', () => {
    const adain = nodesIn(graph, 'gen_a/dec').filter((n) => n.norm === 'adain');
    assert.equal(adain.length, 2 * s.gen.n_res);
    const mlpOut = nodesIn(graph, 'gen_a/mlp').at(-1)!;
    assert.equal(mlpOut.id, 'gen_a/mlp.model.2');
    for (const n of adain) {
      assert.equal(n.kind, 'adain-resblock');
      const incoming = graph.edges.filter((e) => e.to === n.id && e.kind === 'adain');
      assert.deepEqual(incoming, [{ from: mlpOut.id, to: n.id, kind: 'adain', size: 2 * n.outputShape[0] }]);
    }
    assert.equal(
      graph.edges.filter((e) => e.kind === 'adain').reduce((sum, e) => sum + e.size!, 0),
      mlpOut.outputShape[0],
    );
    assert.equal(graph.edges.filter((e) => e.residual).length, s.gen.n_res);
    const up = nodesIn(graph, 'gen_a/dec').filter((n) => n.kind === 'upsample');
    assert.equal(up.length, s.gen.n_downsample);
    assert.ok(up.every((n) => n.norm === 'ln'));
  });

  it('num_scales discriminator groups with an average pool between consecutive scales', () => {
    const scales = graph.groups.filter((g) => g.parent === 'dis_a');
    assert.deepEqual(
      scales.map((g) => g.id),
      ['dis_a/scale_0', 'dis_a/scale_1', 'dis_a/scale_2'],
    );
    for (let i = 1; i < s.dis.num_scales; i++) {
      const pool = graph.nodes.find((n) => n.id === `dis_a/downsample_${i}`)!;
      assert.equal(pool.kind, 'pool');
      const into = graph.edges.filter((e) => e.to === pool.id).map((e) => e.from);
      assert.deepEqual(into, [i === 1 ? 'dis_a/input' : `dis_a/downsample_${i - 1}`]);
      assert.ok(graph.edges.some((e) => e.from === pool.id && e.to === `dis_a/cnns.${i}.0`));
      assert.deepEqual(pool.outputShape, [3, H / 2 ** i, W / 2 ** i]);
    }
    for (const g of scales) assert.equal(nodesIn(graph, g.id).filter((n) => n.kind === 'output').length, 1);
  });

  it('node parameters sum to 15,026,187 per generator and 8,271,171 per discriminator, and to the group totals', () => {
    const sum = (prefix: string) => graph.nodes.filter((n) => n.id.startsWith(prefix)).reduce((a, n) => a + n.parameters, 0);
    assert.equal(sum('gen_a/'), 15_026_187);
    assert.equal(sum('dis_a/'), 8_271_171);
    const group = (id: string) => graph.groups.find((g) => g.id === id)!.parameters;
    assert.equal(group('gen_a'), 15_026_187);
    assert.equal(group('gen_a/enc_style'), 2_764_936);
    assert.equal(group('gen_a/enc_content'), 5_385_856);
    assert.equal(group('gen_a/dec'), 5_754_627);
    assert.equal(group('gen_a/mlp'), 1_120_768);
    assert.equal(group('dis_a'), 8_271_171);
    assert.equal(group('dis_a/scale_1'), 2_757_057);
    for (const n of graph.nodes) assert.equal(n.statePath === undefined, n.parameters === 0, n.id);
  });

  it('output shapes: codes, image, patch maps', () => {
    const shape = (id: string) => graph.nodes.find((n) => n.id === id)!.outputShape;
    assert.deepEqual(shape('gen_a/input'), [3, H, W]);
    assert.deepEqual(shape('gen_a/content_code'), [256, H / 4, W / 4]);
    assert.deepEqual(shape('gen_a/style_code'), [8]);
    assert.deepEqual(shape('gen_a/enc_style.model.5'), [256]);
    assert.deepEqual(shape('gen_a/mlp.model.2'), [4096]);
    assert.deepEqual(shape('gen_a/dec.model.2'), [128, H / 2, W / 2]);
    assert.deepEqual(shape('gen_a/dec.model.5'), [3, H, W]);
    assert.equal(graph.nodes.find((n) => n.id === 'gen_a/dec.model.5')!.activation, 'tanh');
    assert.deepEqual(shape('dis_a/cnns.0.4'), [1, H / 16, W / 16]);
    assert.deepEqual(shape('dis_a/cnns.2.4'), [1, H / 64, W / 64]);
  });

  it('prints as an indented tree', () => {
    const text = architectureText(graph);
    assert.match(text, /^gen_a {2}generator A \(AdaINGen\) {2}15,026,187 parameters$/m);
    assert.match(text, /^ {4}gen_a\/enc_content\.model\.0 {2}conv 7x7\/1, 3→64 \[norm in, relu\] {2}\[64, 64, 64\] {2}9,472$/m);
    assert.match(text, /^ {2}dis_a\/scale_2 /m);
  });

  it('rejects an input with the wrong number of channels', () => {
    assert.throws(() => architectureGraph(gen, dis, 'a', [1, H, W]), /1 channels but the domain a networks take 3/);
  });
});

describe('node activations, tiny config', () => {
  const s = tinySettings();
  let gen: AdaINGen;
  let dis: MsImageDis;
  let image: tf.Tensor4D;
  let style: tf.Tensor2D;

  before(async () => {
    await useBackend('wasm');
    gen = new AdaINGen(3, s.gen);
    dis = new MsImageDis(3, s.dis);
    initParams(gen.params, 'kaiming', new Rng(1));
    initParams(dis.params, 'gaussian', new Rng(2));
    image = randomImage(seeded(3), 1, 32, 32, 3);
    style = tf.tensor2d([[0.5, -1, 2, 0.25]]);
  });
  after(() => {
    gen.dispose();
    dis.dispose();
    tf.dispose([image, style]);
  });

  it('content code: shape and per-channel statistics of gen.encode, tiled into a PNG of the promised size', async () => {
    const act = await expectNoLeakedTensors(() => nodeActivations(gen, dis, 'a', 'gen_a/content_code', image));
    const dim = s.gen.dim * 4;
    assert.deepEqual(act.shape, [dim, 8, 8]);
    assert.equal(act.channels.length, dim);
    const [mean, std, min, max] = tf.tidy(() => {
      const c0 = tf.slice(gen.encode(image).content, [0, 0, 0, 0], [1, -1, -1, 1]);
      const { mean: m, variance } = tf.moments(c0);
      return [m, tf.sqrt(variance), tf.min(c0), tf.max(c0)].map((t) => t.dataSync()[0]);
    });
    const c0 = act.channels[0];
    for (const [got, want] of [
      [c0.mean, mean],
      [c0.std, std],
      [c0.min, min],
      [c0.max, max],
    ])
      assert.ok(Math.abs(got - want) < 1e-5, `${got} vs ${want}`);
    const tiles = act.tiles!;
    assert.equal(act.values, undefined);
    assert.deepEqual([tiles.columns, tiles.rows, tiles.tileWidth, tiles.tileHeight, tiles.shownChannels], [6, 6, 32, 32, undefined]);
    const meta = await sharp(Buffer.from(tiles.png, 'base64')).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 6 * 32 + 5, 6 * 32 + 5]);
  });

  it('AdaIN layer: gamma/beta are the MLP output slices for the given style', async () => {
    const act = await expectNoLeakedTensors(() => nodeActivations(gen, dis, 'a', 'gen_a/dec.model.0.model.1.model.0', image, style));
    const c = s.gen.dim * 4;
    const flat = tf.tidy(() => gen.mlp.apply(style).dataSync());
    // Layer 2 of the decoder order: res block 1, first conv; its slice starts after two layers of 2 x c.
    const offset = 2 * 2 * c;
    assert.deepEqual(
      act.adain?.map((a) => a.layer),
      [2],
    );
    assert.deepEqual(act.adain![0].beta, Array.from(flat.slice(offset, offset + c)));
    assert.deepEqual(act.adain![0].gamma, Array.from(flat.slice(offset + c, offset + 2 * c)));
    assert.deepEqual(act.shape, [c, 8, 8]);
  });

  it('the decoder uses the given style; 1-D outputs come as values', async () => {
    const own = await nodeActivations(gen, dis, 'a', 'gen_a/dec.model.5', image);
    const given = await nodeActivations(gen, dis, 'a', 'gen_a/dec.model.5', image, style);
    assert.notDeepEqual(own.channels, given.channels);
    const code = await nodeActivations(gen, dis, 'a', 'gen_a/style_code', image, style);
    const encoded = tf.tidy(() => gen.encode(image).style.dataSync());
    assert.equal(code.tiles, undefined);
    assert.deepEqual(code.values, Array.from(encoded), 'the style code node is the image own style');
    assert.deepEqual(
      code.channels.map((ch) => ch.mean),
      code.values,
    );
    const hidden = await nodeActivations(gen, dis, 'a', 'gen_a/mlp.model.0', image, style);
    const want = tf.tidy(() => gen.mlp.blocks[0].apply(style).dataSync());
    assert.deepEqual(hidden.values, Array.from(want));
  });

  it('discriminator nodes: the downsampled input and a patch map', async () => {
    const [pool, patch] = await expectNoLeakedTensors(async () => [
      await nodeActivations(gen, dis, 'a', 'dis_a/downsample_1', image),
      await nodeActivations(gen, dis, 'a', 'dis_a/cnns.1.2', image),
    ]);
    assert.deepEqual(pool.shape, [3, 16, 16]);
    assert.deepEqual(patch.shape, [1, 4, 4]);
    const want = tf.tidy(() => tf.mean(dis.apply(image)[1]).dataSync()[0]);
    assert.ok(Math.abs(patch.channels[0].mean - want) < 1e-6);
    assert.deepEqual([patch.tiles!.tileWidth, patch.tiles!.columns], [32, 1]);
  });

  it('an unknown node id is an error naming it and showing valid ids', async () => {
    await expectNoLeakedTensors(async () => {
      await assert.rejects(nodeActivations(gen, dis, 'a', 'gen_a/nope', image), /no node 'gen_a\/nope' in the domain a networks; ids look like 'gen_a\/input'/);
      await assert.rejects(nodeActivations(gen, dis, 'b', 'gen_a/input', image), /'gen_b\/input'/);
    });
  });

  it('tiles at most MAX_TILED_CHANNELS channels and says so', () => {
    const layout = tileLayout(512, 4, 4);
    assert.deepEqual([layout.shown, layout.columns, layout.rows, layout.tileWidth], [MAX_TILED_CHANNELS, 16, 16, 32]);
  });
});

// Precision at the reference's own sizes: edges2shoes widths at 128x128 and 256x256, every engine within 1e-3
// (max abs) of PyTorch in float64, for an example-guided translation and a reconstruction. The small fixtures of
// pytorch.test.ts cannot show errors that grow with the image (a float32 sum over 65,536 pixels per channel).
// WebGPU runs on whatever adapter there is (in CI Mesa's software Vulkan, whose shaders sum as a GPU's do).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { defaultConfig } from '../../munit-core/config/config.js';
import { AdaINGen } from '../../munit-core/networks/generator.js';
import { CompiledTranslator } from '../../munit-core/onnx/compiled-translator.js';
import { eagerTranslator, Translator } from '../../munit-core/translate.js';
import { fillGenerator, fixtureImage, fixtureOutputs } from './full-size-weights.js';
import { useBackend, webGpuSkipReason } from './helpers.js';

function maxAbsDiff(actual: Float32Array, expected: Float32Array): { diff: number; at: number } {
  assert.equal(actual.length, expected.length);
  let diff = 0;
  let at = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= diff)) [diff, at] = [d, i];
  }
  return { diff, at };
}

describe('the reference generators at 128x128 and 256x256 (edges2shoes widths)', () => {
  const fixture = fixtureOutputs();
  const gens = { a: undefined as unknown as AdaINGen, b: undefined as unknown as AdaINGen };
  let noWebGpu: string | undefined;
  before(async () => {
    await useBackend('wasm');
    noWebGpu = await webGpuSkipReason();
    const options = defaultConfig().gen;
    // The fixture's widths are the reference config's: a change of either default must show here.
    assert.deepEqual(Object.fromEntries(Object.keys(fixture.gen).map((k) => [k, options[k as keyof typeof options]])), fixture.gen);
    gens.a = new AdaINGen(3, options);
    gens.b = new AdaINGen(3, options);
    fillGenerator(gens.a, 'a');
    fillGenerator(gens.b, 'b');
  });
  after(() => {
    gens.a.dispose();
    gens.b.dispose();
  });

  const engines: [string, () => Translator][] = [
    ['tfjs wasm', () => eagerTranslator],
    ['onnxruntime cpu', () => new CompiledTranslator({ provider: 'cpu' })],
    ['onnxruntime webgpu', () => new CompiledTranslator({ provider: 'webgpu' })],
  ];
  for (const [engine, make] of engines) {
    for (const size of [128, 256]) {
      it(`${engine}, ${size}x${size}: the example's style code, the translation A -> B and the reconstruction of A`, async (t) => {
        if (engine.endsWith('webgpu') && noWebGpu) return t.skip(noWebGpu);
        const translator = make();
        const [xA, xB] = [fixtureImage(`x_a.${size}`, size), fixtureImage(`x_b.${size}`, size)];
        const styleB = await translator.encodeStyle(gens.b, xB);
        const styleA = await translator.encodeStyle(gens.a, xA);
        const xAB = await translator.translate(gens.a, gens.b, xA, styleB);
        const recon = await translator.translate(gens.a, gens.a, xA, styleA);
        const got = { style_b: styleB, x_ab: xAB, x_a_recon: recon };
        const errors: string[] = [];
        for (const [name, value] of Object.entries(got)) {
          const { diff, at } = maxAbsDiff((await value.data()) as Float32Array, fixture.get(size, name));
          t.diagnostic(`${name}: max abs difference from PyTorch ${diff.toExponential(2)}`);
          if (diff > 1e-3) errors.push(`${name}: max abs difference ${diff.toExponential(2)} at element ${at}`);
        }
        tf.dispose([xA, xB, styleA, ...Object.values(got)]);
        translator.dispose();
        assert.deepEqual(errors, [], `${engine} at ${size}x${size} against PyTorch (float64)`);
      });
    }
  }
});

// Data for the panel tests, as real as the test machine allows: the architecture graph and activations of the
// reference-width networks from munit-core, demo images from the demo data set generator, the README's sample grid,
// and loss histories shaped like real ones (decaying, noisy, with a live change of gan_w).
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { initBackend } from '../../munit-core/backend.js';
import { defaultConfig } from '../../munit-core/config/config.js';
import { generateDemoDataset } from '../../munit-core/data/demo-dataset.js';
import { initParams } from '../../munit-core/init.js';
import { nodeActivations } from '../../munit-core/inspect/activations.js';
import { architectureGraph } from '../../munit-core/inspect/architecture.js';
import { MsImageDis } from '../../munit-core/networks/discriminator.js';
import { AdaINGen } from '../../munit-core/networks/generator.js';
import { Rng } from '../../munit-core/random.js';
import { DIS_LOSS_TERMS, GEN_LOSS_TERMS } from '../../munit-core/trainer.js';
import { loadTestImage } from '../../munit-core/translate-files.js';
import type {
  ActivationsResult,
  ArchitectureResult,
  ConfigPreviewResult,
  ModelOrigin,
  SamplesParams,
  TranslateResult,
  TunableSettings,
} from '../../server/protocol.js';
import type { MetricsEntry, RunHistory } from '../../webviews/protocol.js';

export const LOSS_TERMS: string[] = [...DIS_LOSS_TERMS, ...GEN_LOSS_TERMS];
export const SIZE = 64;
/** An AdaIN layer of the decoder and a content-encoder convolution. */
export const ADAIN_NODE = 'gen_a/dec.model.0.model.0.model.0';
export const CONV_NODE = 'gen_a/enc_content.model.1';

export interface Fixtures {
  architecture: ArchitectureResult;
  adainActivations: ActivationsResult;
  convActivations: ActivationsResult;
  images: string[];
  samples: SamplesParams[];
  translation: TranslateResult;
  settings: TunableSettings;
  configPreview: ConfigPreviewResult;
}

const png = (file: string) => fs.readFileSync(file).toString('base64');

export async function makeFixtures(dir: string): Promise<Fixtures> {
  await initBackend({ prefer: 'wasm' });
  const config = defaultConfig();
  const gen = new AdaINGen(3, config.gen);
  const dis = new MsImageDis(3, config.dis);
  // Freshly initialised as the trainer does: untrained, but with the statistics real layers start from.
  for (const net of [gen, dis]) initParams(net.params, config.init, new Rng(0));
  const runFolder = path.join(dir, 'outputs', 'demo');
  const origin: ModelOrigin = { kind: 'untrained', iteration: 0, runFolder };
  const demo = await generateDemoDataset(path.join(dir, 'data'), { size: SIZE, count: 4, testCount: 4 });
  const images = demo.images.testA.map((i) => i.file);
  const x = await loadTestImage(images[0]!, 3, SIZE);
  const activations = async (nodeId: string) => ({ origin, activations: await nodeActivations(gen, dis, 'a', nodeId, x) });
  const grid = path.resolve('docs/demo-grid.png');
  // Earlier steps: the README's grid blurred, as an untrained model's grids look.
  const blurred = async (sigma: number) => (await sharp(grid).blur(sigma).png().toBuffer()).toString('base64');
  const step = (iteration: number, base64: string): SamplesParams => ({
    jobId: 'job-1',
    runFolder,
    iteration,
    grids: [{ name: 'a2b_test', png: base64 }],
  });
  const testB = demo.images.testB.map((i) => png(i.file));
  return {
    architecture: { graph: architectureGraph(gen, dis, 'a', [3, SIZE, SIZE]), origin },
    adainActivations: await activations(ADAIN_NODE),
    convActivations: await activations(CONV_NODE),
    images,
    samples: [step(500, await blurred(3)), step(1500, await blurred(1.2)), step(2500, png(grid))],
    translation: {
      origin,
      input: png(images[0]!),
      outputs: [{ png: testB[0]!, style: Array.from({ length: config.gen.style_dim }, (_, i) => Math.sin(i + 1)) }],
      styleDim: config.gen.style_dim,
    },
    settings: {
      lr: config.lr,
      gan_w: config.gan_w,
      recon_x_w: config.recon_x_w,
      recon_s_w: config.recon_s_w,
      recon_c_w: config.recon_c_w,
      recon_x_cyc_w: config.recon_x_cyc_w,
      vgg_w: config.vgg_w,
      image_display_iter: config.image_display_iter,
      image_save_iter: config.image_save_iter,
      log_iter: config.log_iter,
      snapshot_save_iter: config.snapshot_save_iter,
    },
    configPreview: {
      problems: ['demo.yaml:12: new_size must be at least crop_image_height (64), got 48'],
      origin,
      translations: testB.map((p, i) => ({ label: `test ${i}, style ${i % 3}`, png: p })),
      data: images.map((file, i) => ({ label: `trainA ${i}: resize, crop, flip`, png: png(file) })),
    },
  };
}

/** A loss history shaped like a real one: each term decays from its own level with noise. */
export function lossHistory(runFolder: string, iterations: number, seed: number, changeAt?: number): RunHistory {
  let state = seed;
  const noise = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.3;
  const entries: MetricsEntry[] = [];
  for (let i = 1; i <= iterations; i++) {
    const iteration = i * 10;
    const losses = Object.fromEntries(
      LOSS_TERMS.map((term, t) => [term, (0.2 + t * 0.15) * (0.3 + 0.7 * Math.exp(-iteration / 4000)) * (1 + noise())]),
    ) as MetricsEntry['metrics']['losses'];
    entries.push({
      metrics: { iteration, lr: 1e-4, seconds_per_iter: 0.5, losses, time: new Date(0).toISOString() },
      changes: iteration === changeAt ? { gan_w: 2 } : undefined,
    });
  }
  return { runFolder, label: path.basename(runFolder), entries };
}

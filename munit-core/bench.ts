// `npm run bench [-- --json] [-- --iters N]`: seconds per training iteration and per translation with the
// reference widths, on whatever backend starts (MUNIT_BACKEND forces one). Compare with munit-reference.md.
import * as tf from '@tensorflow/tfjs-core';
import { Command } from 'commander';
import { describeBackend, initBackend } from './backend.js';
import { Rng } from './random.js';
import { MunitTrainer, TrainerSettings } from './trainer.js';
import { translateRandom } from './translate.js';
import { defaultConfig } from './config/config.js';

interface BenchOptions {
  json: boolean;
  iters: number;
  train: number[];
  translate: number[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Median seconds of `iters` runs after one warm-up run (kernels, XNNPACK operators and GPU pipelines are set up on
 * first use). Each run ends with a read of its result, so queued GPU work is inside the time.
 */
async function timeIt(iters: number, run: () => Promise<unknown>): Promise<number> {
  await run();
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    const start = performance.now();
    await run();
    times.push((performance.now() - start) / 1000);
  }
  return median(times);
}

async function benchTrain(settings: TrainerSettings, size: number, iters: number): Promise<number> {
  const trainer = new MunitTrainer(settings, { seed: 1 });
  const xA = tf.randomUniform([1, size, size, 3], -1, 1) as tf.Tensor4D;
  const xB = tf.randomUniform([1, size, size, 3], -1, 1) as tf.Tensor4D;
  const seconds = await timeIt(iters, () => trainer.step(xA, xB));
  tf.dispose([xA, xB]);
  trainer.dispose();
  return seconds;
}

async function benchTranslate(settings: TrainerSettings, size: number, iters: number): Promise<number> {
  const trainer = new MunitTrainer(settings, { seed: 1 });
  const x = tf.randomUniform([1, size, size, 3], -1, 1) as tf.Tensor4D;
  const rng = new Rng(2);
  const seconds = await timeIt(iters, async () => {
    const y = translateRandom(trainer.genA, trainer.genB, x, 1, rng);
    await y.data();
    y.dispose();
  });
  x.dispose();
  trainer.dispose();
  return seconds;
}

async function main(): Promise<void> {
  const program = new Command('bench')
    .option('--json', 'print one JSON object', false)
    .option('--iters <n>', 'timed runs per figure (after one warm-up)', (v) => parseInt(v, 10), 3)
    .option('--train <sizes>', 'image sizes for training', (v) => v.split(',').map(Number), [64, 128])
    .option('--translate <sizes>', 'image sizes for translation', (v) => v.split(',').map(Number), [128, 256])
    .parse();
  const opts = program.opts<BenchOptions>();
  const info = await initBackend();
  const settings = defaultConfig();
  const result: Record<string, number | string> = { backend: info.choice, backend_detail: describeBackend(info) };
  const log = (key: string, value: number, what: string) => {
    result[key] = Number(value.toFixed(3));
    if (!opts.json) console.log(`${what.padEnd(42)} ${value.toFixed(3)} s`);
  };
  if (!opts.json) console.log(`backend: ${describeBackend(info)}\n(median of ${opts.iters} after a warm-up; batch 1, reference widths)`);
  for (const size of opts.train) log(`train_${size}`, await benchTrain(settings, size, opts.iters), `training iteration (D+G) ${size}x${size}`);
  for (const size of opts.translate) log(`translate_${size}`, await benchTranslate(settings, size, opts.iters), `translation of one image ${size}x${size}`);
  if (opts.json) console.log(JSON.stringify(result));
}

main().catch((err) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

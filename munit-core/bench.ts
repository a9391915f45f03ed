// `npm run bench [-- --engine onnx|tfjs] [-- --json] [-- --iters N]`: seconds per training iteration and per
// translation with the reference widths, on the chosen engine, side by side with the reference PyTorch iteration
// (test/bench/reference_step.py, when Debian's python3-torch is installed) in the same run.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Command } from 'commander';
import { CompiledStep } from './onnx/compiled-step.js';
import { chooseEngine, EngineChoice, EngineName, parseEngineName } from './onnx/engine-choice.js';
import { onnxThreadCount, sessionBinding } from './onnx/session.js';
import { CompiledTranslator } from './onnx/compiled-translator.js';
import { describeBackend, initBackend } from './backend.js';
import { Rng } from './random.js';
import { MunitTrainer, TrainerSettings } from './trainer.js';
import { eagerTranslator } from './translate.js';
import { defaultConfig } from './config/config.js';

interface BenchOptions {
  json: boolean;
  iters: number;
  train: number[];
  translate: number[];
  engine?: EngineName;
  reference: boolean;
}

/** What a figure took besides its time: graph nodes, build seconds. */
type Extras = Record<string, number>;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Median seconds of `iters` runs after one warm-up run (kernels, XNNPACK operators and GPU pipelines are set up on
 * first use), and this process's CPU milliseconds per run (all threads: on a GPU, the host's cost of driving it).
 * Each run ends with a read of its result, so queued GPU work is inside the time.
 */
async function timeIt(iters: number, run: () => Promise<unknown>): Promise<{ seconds: number; cpuMs: number }> {
  await run();
  const times: number[] = [];
  const cpu = process.cpuUsage();
  for (let i = 0; i < iters; i++) {
    const start = performance.now();
    await run();
    times.push((performance.now() - start) / 1000);
  }
  const used = process.cpuUsage(cpu);
  return { seconds: median(times), cpuMs: (used.user + used.system) / 1000 / iters };
}

async function benchTrain(settings: TrainerSettings, size: number, iters: number, engine: EngineChoice, extras: Extras): Promise<number> {
  const trainer = new MunitTrainer(settings, { seed: 1 });
  const xA = tf.randomUniform([1, size, size, 3], -1, 1) as tf.Tensor4D;
  const xB = tf.randomUniform([1, size, size, 3], -1, 1) as tf.Tensor4D;
  if (engine.engine === 'onnx') {
    const step = await CompiledStep.create(trainer, { a: xA.shape, b: xB.shape }, { provider: engine.provider! });
    Object.assign(extras, { [`train_${size}_graph_nodes`]: step.nodeCount, [`train_${size}_build_s`]: Number(step.buildSeconds.toFixed(2)) });
    await trainer.useEngine(step);
  }
  const { seconds, cpuMs } = await timeIt(iters, () => trainer.step(xA, xB));
  extras[`train_${size}_cpu_ms`] = Math.round(cpuMs);
  tf.dispose([xA, xB]);
  trainer.dispose();
  return seconds;
}

async function benchTranslate(settings: TrainerSettings, size: number, iters: number, engine: EngineChoice, extras: Extras): Promise<number> {
  const trainer = new MunitTrainer(settings, { seed: 1 });
  const x = tf.randomUniform([1, size, size, 3], -1, 1) as tf.Tensor4D;
  const rng = new Rng(2);
  // Encode with gen_a, decode with gen_b and one random style: the path of `munit translate` and the hovers.
  const translator = engine.engine === 'onnx' ? new CompiledTranslator({ provider: engine.provider! }) : eagerTranslator;
  const once = async () => {
    const s = rng.normal([1, settings.gen.style_dim]) as tf.Tensor2D;
    const y = await translator.translate(trainer.genA, trainer.genB, x, s);
    await y.data();
    tf.dispose([s, y]);
  };
  if (translator instanceof CompiledTranslator) {
    const started = performance.now();
    await once();
    extras[`translate_${size}_build_s`] = Number(((performance.now() - started) / 1000).toFixed(2));
    extras[`translate_${size}_graph_nodes`] = await translator.nodeCount();
  }
  const { seconds, cpuMs } = await timeIt(iters, once);
  extras[`translate_${size}_cpu_ms`] = Math.round(cpuMs);
  translator.dispose();
  x.dispose();
  trainer.dispose();
  return seconds;
}

/**
 * The reference PyTorch figures for the same sizes and thread count, on the CPU or (with a GPU engine) the GPU, or
 * why there are none. `MUNIT_BENCH_PYTHON` names the interpreter (default Debian's, with python3-torch).
 */
function referenceFigures(opts: BenchOptions, threads: number, device: 'cpu' | 'cuda'): Record<string, number | string> | string {
  const script = path.join(__dirname, '..', 'test', 'bench', 'reference_step.py');
  const args = [script, '--train', opts.train.join(','), '--translate', opts.translate.join(','), '--iters', String(opts.iters), '--threads', String(threads)];
  const python = process.env.MUNIT_BENCH_PYTHON || '/usr/bin/python3';
  const run = spawnSync(python, [...args, '--device', device], { encoding: 'utf8' });
  if (run.error || run.status !== 0)
    return `reference not run: ${run.error?.message ?? run.stderr.trim().split('\n').pop()} (apt-get install python3-torch, or MUNIT_BENCH_PYTHON)`;
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, number | string>;
}

async function main(): Promise<void> {
  const program = new Command('bench')
    .option('--json', 'print one JSON object', false)
    .option('--iters <n>', 'timed runs per figure (after one warm-up)', (v) => parseInt(v, 10), 3)
    .option('--train <sizes>', 'image sizes for training', (v) => v.split(',').filter(Boolean).map(Number), [64, 128])
    .option('--translate <sizes>', 'image sizes for translation', (v) => v.split(',').filter(Boolean).map(Number), [128, 256])
    .option('--engine <name>', 'onnx or tfjs (default: the one training would use; also MUNIT_ENGINE)', (v) => parseEngineName(v, '--engine'))
    .option('--no-reference', 'skip the PyTorch reference figures')
    .parse();
  const opts = program.opts<BenchOptions>();
  const info = await initBackend();
  const engine = await chooseEngine({ prefer: opts.engine });
  const threads = onnxThreadCount();
  const settings = defaultConfig();
  const result: Record<string, number | string> = {
    engine: engine.engine,
    engine_detail: engine.description,
    ...(engine.engine === 'onnx' ? { binding: sessionBinding(engine.provider!).description } : {}),
    backend: info.choice,
    backend_detail: describeBackend(info),
  };
  const extras: Extras = {};
  const figures: [string, string][] = [];
  const log = (key: string, value: number, what: string) => {
    result[key] = Number(value.toFixed(3));
    figures.push([key, what]);
    if (!opts.json) console.log(`${what.padEnd(42)} ${value.toFixed(3)} s${extrasOf(key)}`);
  };
  const extrasOf = (key: string) => {
    const [nodes, build, cpu] = [extras[`${key}_graph_nodes`], extras[`${key}_build_s`], extras[`${key}_cpu_ms`]];
    return `   (${cpu} CPU ms${nodes ? `; ${nodes} graph nodes, built and started in ${build} s` : ''})`;
  };
  if (!opts.json)
    console.log(
      `engine: ${engine.description}${result.binding ? `\nbinding: ${result.binding}` : ''}\ntfjs backend: ${describeBackend(info)}\n(median of ${opts.iters} after a warm-up; batch 1, reference widths)`,
    );
  for (const size of opts.train) log(`train_${size}`, await benchTrain(settings, size, opts.iters, engine, extras), `training iteration (D+G) ${size}x${size}`);
  for (const size of opts.translate)
    log(`translate_${size}`, await benchTranslate(settings, size, opts.iters, engine, extras), `translation of one image ${size}x${size}`);
  Object.assign(result, extras);
  if (opts.reference) {
    // A GPU engine is compared with PyTorch on the same GPU (CUDA), the CPU provider with PyTorch on the CPU.
    const device = engine.engine === 'onnx' && engine.provider !== 'cpu' ? 'cuda' : 'cpu';
    const ref = referenceFigures(opts, threads, device);
    if (typeof ref === 'string') {
      result.reference = ref;
      if (!opts.json) console.log(ref);
    } else {
      result.reference = `PyTorch ${ref.torch}, ${ref.device}`;
      if (!opts.json) console.log(`\nreference PyTorch ${ref.torch}, ${ref.device}, same machine, same run:`);
      for (const [key, what] of figures) {
        const [seconds, cpuMs] = [ref[key] as number, ref[`${key}_cpu_ms`] as number];
        Object.assign(result, { [`reference_${key}`]: seconds, [`reference_${key}_cpu_ms`]: cpuMs });
        const ratio = ((result[key] as number) / seconds).toFixed(2);
        if (!opts.json) console.log(`${what.padEnd(42)} ${seconds.toFixed(3)} s   (${cpuMs} CPU ms)   ours / reference: ${ratio}x`);
      }
    }
  }
  if (opts.json) console.log(JSON.stringify(result));
}

main().catch((err) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

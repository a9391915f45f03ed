// The `munit` command line: what the editor does with the model, without an editor.
import { Command, Option } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import cliProgress from 'cli-progress';
import { BackendChoice, describeBackend, initBackend, parseBackendChoice } from './backend.js';
import { chooseEngine, startTranslator } from './onnx/engine-choice.js';
import { ConfigError, defaultConfig, formatDiagnostic, loadConfig, MunitConfig } from './config/config.js';
import { demoConfigYaml, generateDemoDataset } from './data/demo-dataset.js';
import { architectureGraph, architectureText } from './inspect/architecture.js';
import type { Domain } from './inspect/types.js';
import { describeModel } from './model-summary.js';
import { importTorchRun } from './torch/import-run.js';
import { MsImageDis } from './networks/discriminator.js';
import { AdaINGen } from './networks/generator.js';
import { LoggedMetrics, runTraining, TrainingRunOptions, warningLine } from './training-run.js';
import { translateFiles } from './translate-files.js';

const VERSION = '0.1.0';

/** Every command's errors end here: one clear line on stderr and a non-zero exit code. */
function fail(err: unknown): never {
  console.error(`munit: ${err instanceof Error ? errorText(err) : String(err)}`);
  process.exit(1);
}

/**
 * A config with broken YAML gets its first syntax error and a count of the rest: one missing colon makes the parser
 * report dozens of follow-on errors, which only bury the one to fix.
 */
function errorText(err: Error): string {
  if (!(err instanceof ConfigError)) return err.message;
  const syntax = err.diagnostics.find((d) => d.code === 'syntax');
  if (!syntax) return err.message;
  const rest = err.diagnostics.length - 1;
  return `${formatDiagnostic(syntax, err.file)}${rest ? ` (and ${rest} more error${rest === 1 ? '' : 's'} after it, most likely caused by this one)` : ''}`;
}

function printWarning(message: string): void {
  console.error(warningLine(message));
}

/** 1h05m, 4m07s, 12s: whole units, so a minute is never written as 60. */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  const [h, m, s] = [Math.floor(total / 3600), Math.floor((total % 3600) / 60), total % 60];
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

function backendOption(value: string): BackendChoice {
  return parseBackendChoice(value, '--backend');
}

async function info(opts: { config?: string; backend?: BackendChoice }): Promise<void> {
  const config: MunitConfig = opts.config ? loadConfig(opts.config, { onWarning: printWarning }) : defaultConfig();
  const backend = await initBackend({ prefer: opts.backend });
  console.log(`munit-studio ${VERSION}`);
  console.log(`engine: ${(await chooseEngine()).description}`);
  console.log(`backend: ${describeBackend(backend)}`);
  console.log(`config: ${opts.config ? path.resolve(opts.config) : '(built-in defaults: the reference edges2shoes config)'}`);
  const summary = describeModel(config);
  for (const net of summary.networks) console.log(`${net.name} ${net.parameters}`);
  for (const line of summary.details) console.log(line);
}

/** One domain's generator and discriminator at the config's crop size; the weights do not change shapes or counts. */
async function architecture(opts: { config?: string; domain: Domain; json: boolean }): Promise<void> {
  const config: MunitConfig = opts.config ? loadConfig(opts.config, { onWarning: printWarning }) : defaultConfig();
  await initBackend();
  const inputDim = opts.domain === 'a' ? config.input_dim_a : config.input_dim_b;
  const gen = new AdaINGen(inputDim, config.gen);
  const dis = new MsImageDis(inputDim, config.dis);
  try {
    const graph = architectureGraph(gen, dis, opts.domain, [inputDim, config.crop_image_height, config.crop_image_width]);
    console.log(opts.json ? JSON.stringify(graph, null, 2) : architectureText(graph));
  } finally {
    gen.dispose();
    dis.dispose();
  }
}

function intOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number >= 0, got '${value}'`);
    return n;
  };
}

/** The headline losses for the progress line. */
function lossSummary(m: LoggedMetrics): string {
  const l = m.losses;
  return `D ${l.loss_dis_total.toFixed(3)}  G ${l.loss_gen_total.toFixed(3)}  x ${(l.loss_gen_recon_x_a + l.loss_gen_recon_x_b).toFixed(3)}`;
}

/**
 * Runs training with a progress bar; the first Ctrl-C finishes the iteration and saves a checkpoint, a second one
 * exits at once.
 */
async function train(options: Omit<TrainingRunOptions, 'signal' | 'onStart' | 'onMetrics'>): Promise<void> {
  const backend = await initBackend();
  console.log(`backend: ${describeBackend(backend)}`);
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    abort.abort();
    console.error('\nstopping: saving a checkpoint after this iteration (Ctrl-C again to quit without saving)');
  };
  process.on('SIGINT', onSigint);
  const bar = new cliProgress.SingleBar(
    { format: 'iteration {value}/{total} |{bar}| {rate} it/s | ETA {eta_text} | {losses}', hideCursor: true, noTTYOutput: true, notTTYSchedule: 10_000 },
    cliProgress.Presets.shades_classic,
  );
  // Our own ETA: to max_iter, or to the end of the time budget when that comes first (the demo stops there).
  let started = 0;
  let startIteration = 0;
  const eta = (iteration: number, maxIter: number): string => {
    const elapsed = (performance.now() - started) / 1000;
    const done = iteration - startIteration;
    if (done <= 0) return '-';
    let remaining = ((maxIter - iteration) * elapsed) / done;
    if (options.maxSeconds !== undefined) remaining = Math.min(remaining, options.maxSeconds - elapsed);
    return formatDuration(remaining);
  };
  try {
    const result = await runTraining({
      onWarning: printWarning,
      ...options,
      signal: abort.signal,
      onStart: ({ runDir, iteration, maxIter, engine }) => {
        console.log(`engine: ${engine}`);
        console.log(`run folder: ${runDir}${iteration ? ` (resumed at iteration ${iteration})` : ''}`);
        [started, startIteration] = [performance.now(), iteration];
        bar.start(maxIter, iteration, { rate: '-', losses: '', eta_text: '-' });
      },
      onMetrics: (m) =>
        bar.update(m.iteration, { rate: (1 / m.seconds_per_iter).toFixed(2), losses: lossSummary(m), eta_text: eta(m.iteration, bar.getTotal()) }),
    });
    bar.stop();
    const why = { max_iter: 'reached max_iter', signal: 'stopped', time: 'time budget used' }[result.stoppedBy];
    console.log(
      `${why} at iteration ${result.iteration}; checkpoints in ${path.join(result.runDir, 'checkpoints')}, samples in ${path.join(result.runDir, 'images', 'index.html')}`,
    );
  } finally {
    bar.stop();
    process.off('SIGINT', onSigint);
  }
}

async function demo(opts: { dir: string; minutes: number; seed: number }): Promise<void> {
  const dataRoot = path.join(opts.dir, 'data');
  const configPath = path.join(opts.dir, 'demo.yaml');
  if (!fs.existsSync(path.join(dataRoot, 'trainA'))) {
    const summary = await generateDemoDataset(dataRoot, { seed: opts.seed });
    console.log(`demo data: ${dataRoot} (${summary.size}x${summary.size}, generated in ${summary.seconds.toFixed(1)} s)`);
  }
  if (!fs.existsSync(configPath)) fs.writeFileSync(configPath, demoConfigYaml(path.resolve(dataRoot)));
  console.log(`demo config: ${configPath}; training for up to ${opts.minutes} minutes (Ctrl-C stops and saves)`);
  await train({ configPath, outputPath: path.join(opts.dir, 'outputs'), resume: true, seed: opts.seed, maxSeconds: opts.minutes * 60 });
}

/** On a terminal, one line rewritten in place; otherwise (a pipe, a log file) a plain line every 10 images and at the end. */
function translateProgress(): (done: number, total: number) => void {
  const tty = process.stderr.isTTY;
  return (done, total) => {
    if (tty) process.stderr.write(`\rtranslated ${done}/${total}${done === total ? '\n' : ''}`);
    else if (done % 10 === 0 || done === total) console.error(`translated ${done}/${total}`);
  };
}

export function main(argv: string[]): void {
  const program = new Command('munit')
    .description('MUNIT: multimodal unsupervised image-to-image translation, on TensorFlow.js')
    .version(VERSION)
    .showHelpAfterError();
  program
    .command('info')
    .description('print the backend in use and the networks of a config with their parameter counts')
    .option('-c, --config <file>', 'a MUNIT config file (YAML); default: the reference config')
    .option('--backend <name>', 'force a backend: tensorflow-gpu, webgpu, tensorflow, wasm or cpu (also MUNIT_BACKEND)', backendOption)
    .action((opts) => info(opts).catch(fail));
  program
    .command('architecture')
    .description("print one domain's generator and discriminator as a tree of blocks with output shapes and parameter counts")
    .option('-c, --config <file>', 'a MUNIT config file (YAML); default: the reference config')
    .addOption(new Option('--domain <a|b>', 'which domain').choices(['a', 'b']).default('a'))
    .option('--json', 'print the graph (nodes, edges, groups) as JSON', false)
    .action((opts) => architecture(opts).catch(fail));
  program
    .command('train')
    .description('train on the data a config names, writing <output-path>/<config name>/ (checkpoints, images, metrics.jsonl)')
    .requiredOption('-c, --config <file>', 'a MUNIT config file (YAML)')
    .option('-o, --output-path <dir>', 'parent folder of the run folder', 'outputs')
    .option('--resume', 'continue from the newest checkpoint of the run folder', false)
    .option('--seed <n>', 'random seed (weights, style codes, data order)', intOption('--seed'), 0)
    .action((opts) => train({ configPath: opts.config, outputPath: opts.outputPath, resume: opts.resume, seed: opts.seed }).catch(fail));
  program
    .command('translate')
    .description('translate images with a trained checkpoint: random styles, an example style, or synchronized styles')
    .requiredOption('-c, --config <file>', 'the config the checkpoint was trained with')
    .requiredOption('--checkpoint <path>', 'a gen_*.safetensors file, a checkpoints folder or a run folder (newest checkpoint)')
    .requiredOption('-i, --input <file|dir>', 'an image or a folder of images of the source domain')
    .addOption(new Option('--a2b', 'translate A to B (default)').conflicts('b2a'))
    .option('--b2a', 'translate B to A', false)
    .option('-n, --num-style <n>', 'styles per input', intOption('--num-style'), 10)
    .option('--style <image>', 'take the style from this image of the target domain (example-guided)')
    .option('--seed <n>', 'random seed for the style codes', intOption('--seed'), 0)
    .option('--synchronized', 'use the same style codes for every input', false)
    .option('-o, --output-folder <dir>', 'where to write the images', 'translations')
    .action(async (opts) => {
      try {
        const config = loadConfig(opts.config, { onWarning: printWarning });
        await initBackend();
        const translator = startTranslator(await chooseEngine());
        console.log(`engine: ${translator.engine}`);
        const written = await translateFiles({
          config,
          checkpoint: opts.checkpoint,
          input: opts.input,
          direction: opts.b2a ? 'b2a' : 'a2b',
          numStyles: opts.style ? 1 : opts.numStyle,
          seed: opts.seed,
          styleImage: opts.style,
          synchronized: opts.synchronized,
          outputFolder: opts.outputFolder,
          translator,
          onProgress: translateProgress(),
          onWarning: printWarning,
        });
        translator.dispose();
        console.log(`wrote ${written.length} images to ${opts.outputFolder}`);
      } catch (err) {
        fail(err);
      }
    });
  program
    .command('import')
    .description('convert a run of the reference PyTorch code (checkpoints/*.pt, TensorBoard logs) into a run folder here')
    .argument('<source>', 'a reference run folder (outputs/<name>/), its checkpoints folder, or a gen_*.pt file')
    .option('-c, --config <file>', "the run's config (default: config.yaml of the run folder)")
    .option('--logs <path>', 'TensorBoard logs to import as metrics.jsonl (default: logs/<name>/ beside outputs/<name>/)')
    .option('-o, --output-path <dir>', 'parent folder of the new run folder', 'outputs')
    .option('--name <name>', "name of the new run folder (default: the reference run folder's name)")
    .action(async (source, opts) => {
      try {
        await initBackend();
        const r = await importTorchRun({ source, config: opts.config, logs: opts.logs, outputPath: opts.outputPath, name: opts.name, onWarning: printWarning });
        console.log(
          `imported iteration ${r.iteration} (${[r.from.gen, r.from.dis, r.from.optimizer].filter(Boolean).join(', ')}) into ${path.join(r.runDir, 'checkpoints')}`,
        );
        if (r.logs) console.log(`history: ${r.metrics} logged iterations from ${r.logs} in ${path.join(r.runDir, 'metrics.jsonl')}`);
        console.log(
          `translate with --checkpoint ${r.runDir}; resume with: munit train --config <config named ${path.basename(r.runDir)}.yaml> --output-path ${opts.outputPath} --resume`,
        );
      } catch (err) {
        fail(err);
      }
    });
  program
    .command('demo')
    .description('generate the built-in demo data (outlines -> coloured, textured shapes), then train on it')
    .option('-d, --dir <dir>', 'where the demo data, config and run go', 'munit-demo')
    .option('-m, --minutes <n>', 'training time budget in minutes (resumes if run again)', intOption('--minutes'), 15)
    .option('--seed <n>', 'random seed', intOption('--seed'), 0)
    .action((opts) => demo(opts).catch(fail));
  program.parseAsync(argv).catch(fail);
}

if (require.main === module) main(process.argv);

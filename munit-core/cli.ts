// The `munit` command line: works without an editor (train, translate, demo arrive with the data/checkpoint work).
import { Command } from 'commander';
import * as path from 'node:path';
import { BackendChoice, describeBackend, initBackend, parseBackendChoice } from './backend.js';
import { defaultConfig, loadConfig, MunitConfig } from './config/config.js';
import { describeModel } from './model-summary.js';

const VERSION = '0.1.0';

/** Every command's errors end here: one clear line on stderr and a non-zero exit code. */
function fail(err: unknown): never {
  console.error(`munit: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}

function backendOption(value: string): BackendChoice {
  return parseBackendChoice(value, '--backend');
}

async function info(opts: { config?: string; backend?: BackendChoice }): Promise<void> {
  const config: MunitConfig = opts.config ? loadConfig(opts.config, { onWarning: (w) => console.error(`warning: ${w}`) }) : defaultConfig();
  const backend = await initBackend({ prefer: opts.backend });
  console.log(`munit-studio ${VERSION}`);
  console.log(`backend: ${describeBackend(backend)}`);
  console.log(`config: ${opts.config ? path.resolve(opts.config) : '(built-in defaults: the reference edges2shoes config)'}`);
  const summary = describeModel(config);
  for (const net of summary.networks) console.log(`${net.name} ${net.parameters}`);
  for (const line of summary.details) console.log(line);
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
    .option('--backend <name>', 'force a backend: tensorflow-gpu, tensorflow, wasm or cpu (also MUNIT_BACKEND)', backendOption)
    .action((opts) => info(opts).catch(fail));
  program.parseAsync(argv).catch(fail);
}

if (require.main === module) main(process.argv);

// Which weights answer a model request: the live ones of a running job (between its iterations), else the newest
// checkpoint of the run folder, else freshly initialised networks. Checkpoint models are cached, one at a time.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkpointFile, completeCheckpoints } from '../munit-core/checkpoint.js';
import { loadConfig, MunitConfig } from '../munit-core/config/config.js';
import { initParams, reinitWeights } from '../munit-core/init.js';
import { MsImageDis } from '../munit-core/networks/discriminator.js';
import { AdaINGen } from '../munit-core/networks/generator.js';
import { Rng } from '../munit-core/random.js';
import { readSafetensors } from '../munit-core/safetensors.js';
import { loadStateDict } from '../munit-core/state-dict.js';
import { CHECKPOINTS_FOLDER, runFolder } from '../munit-core/run-folder.js';
import type { ModelOrigin, ModelSource } from './protocol.js';
import type { TrainingJob } from './training-job.js';
import type { PathGuard } from './workspace.js';

export interface Networks {
  genA: AdaINGen;
  genB: AdaINGen;
  disA: MsImageDis;
  disB: MsImageDis;
}

export interface Model extends Networks {
  config: MunitConfig;
  origin: ModelOrigin;
}

interface Cached extends Model {
  key: string;
}

export class ModelHost {
  private cached?: Cached;
  /** Disk models are used one request at a time, so a request never sees the cache replaced under it. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly activeJobs: () => TrainingJob[]) {}

  /** Runs `fn` with the model `source` names. The model stays valid only while `fn` runs. */
  async use<T>(source: ModelSource, outputPath: string, guard: PathGuard, fn: (model: Model) => Promise<T>): Promise<T> {
    const job = this.activeJobs().find(
      (j) => (source.configPath !== undefined && j.configPath === source.configPath) || (source.runFolder !== undefined && j.runFolder === source.runFolder),
    );
    if (job?.trainer) {
      return job.withTrainer((trainer, config) => {
        const origin: ModelOrigin = { kind: 'live', iteration: trainer.iteration, runFolder: job.runFolder };
        return fn({ genA: trainer.genA, genB: trainer.genB, disA: trainer.disA, disB: trainer.disB, config, origin });
      });
    }
    const run = this.queue.then(() => fn(this.fromDisk(source, outputPath, guard)));
    this.queue = run.catch(() => undefined);
    return run;
  }

  dispose(): void {
    if (this.cached) disposeNetworks(this.cached);
    this.cached = undefined;
  }

  private fromDisk(source: ModelSource, outputPath: string, guard: PathGuard): Model {
    if (source.configPath === undefined && source.runFolder === undefined) throw new Error('name a configPath or a runFolder');
    const folder = source.runFolder ?? runFolder(source.configPath!, outputPath);
    // A run folder, or a checkpoint in it, linked to somewhere outside must not feed the model.
    guard.checkTree(folder, 'run folder');
    const configFile = source.configPath ?? path.join(folder, 'config.yaml');
    const configText = fs.existsSync(configFile) ? fs.readFileSync(configFile, 'utf8') : '';
    const checkpoints = path.join(folder, CHECKPOINTS_FOLDER);
    const iteration = completeCheckpoints(checkpoints).at(-1);
    const key = JSON.stringify([folder, iteration ?? null, configText]);
    if (this.cached?.key === key) return this.cached;
    const config = loadConfig(configFile);
    const nets = createNetworks(config);
    try {
      if (iteration === undefined) {
        initNetworks(nets, config);
      } else {
        const gen = checkpointFile(checkpoints, 'gen', iteration);
        const dis = checkpointFile(checkpoints, 'dis', iteration);
        const genTensors = readSafetensors(gen).tensors;
        const disTensors = readSafetensors(dis).tensors;
        loadStateDict(nets.genA.params, genTensors, gen, 'a.');
        loadStateDict(nets.genB.params, genTensors, gen, 'b.');
        loadStateDict(nets.disA.params, disTensors, dis, 'a.');
        loadStateDict(nets.disB.params, disTensors, dis, 'b.');
      }
    } catch (err) {
      disposeNetworks(nets);
      throw err;
    }
    this.dispose();
    const origin: ModelOrigin = { kind: iteration === undefined ? 'untrained' : 'checkpoint', iteration: iteration ?? 0, runFolder: folder };
    this.cached = { ...nets, config, origin, key };
    return this.cached;
  }
}

function createNetworks(config: MunitConfig): Networks {
  return {
    genA: new AdaINGen(config.input_dim_a, config.gen),
    genB: new AdaINGen(config.input_dim_b, config.gen),
    disA: new MsImageDis(config.input_dim_a, config.dis),
    disB: new MsImageDis(config.input_dim_b, config.dis),
  };
}

/** The trainer's initialisation (config.init, then gaussian for the discriminators), seed 0. */
function initNetworks(nets: Networks, config: MunitConfig): void {
  const rng = new Rng(0);
  for (const net of [nets.genA, nets.genB, nets.disA, nets.disB]) initParams(net.params, config.init, rng);
  for (const net of [nets.disA, nets.disB]) reinitWeights(net.params, 'gaussian', rng);
}

function disposeNetworks(nets: Networks): void {
  for (const net of [nets.genA, nets.genB, nets.disA, nets.disB]) net.dispose();
}

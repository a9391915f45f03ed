// The engine: a worker thread that owns every tensor (tfjs backend, training job, loaded checkpoints), so the
// language server's main thread stays free to answer hovers and completions while a step runs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parentPort } from 'node:worker_threads';
import { describeBackend, initBackend } from '../munit-core/backend.js';
import { chooseEngine } from '../munit-core/onnx/engine-choice.js';
import { ConfigError, formatDiagnostic, loadConfig } from '../munit-core/config/config.js';
import { numberProblem } from '../munit-core/config/validate.js';
import { isTunable, TUNABLE_KEYS } from '../munit-core/hyperparameters.js';
import { demoConfigYaml, generateDemoDataset } from '../munit-core/data/demo-dataset.js';
import { findReferenceCheckpoint, importTorchRun, referenceLogs } from '../munit-core/torch/import-run.js';
import { runFolder, runName } from '../munit-core/run-folder.js';
import { checkConfigData, workspaceImages } from './confine.js';
import type { EngineEvent, EngineMethod, EngineMethods, EngineReply, EngineRequest } from './engine-messages.js';
import { ModelHost } from './model-host.js';
import * as requests from './model-requests.js';
import type { JobParams, JobStatus, TunableSettings } from './protocol.js';
import { TrainingJob } from './training-job.js';
import { PathGuard } from './workspace.js';

const port = parentPort;
if (!port) throw new Error('engine-worker.ts runs as a worker thread of the MUNIT server');

const post = (message: EngineEvent | EngineReply) => port.postMessage(message);
const log = (level: 'info' | 'warn' | 'error', message: string) => post({ event: 'log', level, message });

const jobs: TrainingJob[] = [];
let nextJob = 1;
const activeJobs = () => jobs.filter((j) => j.active);
const models = new ModelHost(activeJobs);

function findJob(params: JobParams | void): TrainingJob {
  const id = params && params.jobId;
  const job = id ? jobs.find((j) => j.jobId === id) : activeJobs()[0];
  if (!job) throw new Error(id ? `no training job ${id}` : 'no training job is running');
  return job;
}

/** Each handler gets the request's params and a guard over the workspace folders of the request. */
type Handlers = { [M in EngineMethod]: (params: EngineMethods[M][0], guard: PathGuard) => Promise<EngineMethods[M][1]> | EngineMethods[M][1] };

const handlers: Handlers = {
  async startTraining(params, guard) {
    const running = activeJobs()[0];
    if (running) throw new Error(`a training job is already running (${running.configPath}, iteration ${running.iteration}); stop it first`);
    // Fail fast with the validation message, before a run folder is made; and read nothing outside the workspace:
    // not the data, not a run folder (or its checkpoints) linked to elsewhere.
    const config = loadConfig(params.configPath, { onWarning: (m) => log('warn', m) });
    checkConfigData(config, params.configPath, guard);
    workspaceImages(config, path.dirname(params.configPath), guard);
    guard.checkTree(runFolder(params.configPath, params.outputPath), 'run folder');
    const jobId = `job-${nextJob++}`;
    await new Promise<void>((resolve, reject) => {
      const job = new TrainingJob(
        jobId,
        params.configPath,
        params.outputPath,
        params.resume ?? false,
        {
          state: (s) => post({ event: 'jobState', params: s }),
          metrics: (m) => post({ event: 'metrics', params: m }),
          samples: (s) => post({ event: 'samples', params: s }),
          warn: (m) => log('warn', m),
        },
        (error) => (error ? reject(error) : resolve()),
      );
      jobs.unshift(job);
    });
    return jobs[0].status();
  },
  async stopTraining(params) {
    const job = findJob(params);
    await job.stop();
    return job.status();
  },
  async pauseTraining(params) {
    const job = findJob(params);
    await job.pause();
    return job.status();
  },
  resumeTraining(params) {
    const job = findJob(params);
    job.resume();
    return job.status();
  },
  listJobs: (): JobStatus[] => jobs.map((j) => j.status()),
  getHyperparameters: (params) => findJob(params).settings(),
  updateHyperparameters(params) {
    const job = findJob(params);
    if (!job.active) throw new Error(`training job ${job.jobId} is ${job.state}; live changes need a running job`);
    checkTunable(params.changes);
    return job.updateHyperparameters(params.changes);
  },
  architecture: (params, guard) => models.use(params, params.outputPath, guard, async (m) => requests.architecture(m, params)),
  translate: (params, guard) => models.use(params, params.outputPath, guard, (m) => requests.translate(m, params)),
  activations: (params, guard) => models.use(params, params.outputPath, guard, (m) => requests.activations(m, params)),
  async createDemoProject({ folder }, guard) {
    // Real paths, checked: a `data` or `demo.yaml` that is a link (dangling or not) to outside is refused.
    const dataRoot = guard.check(path.join(folder, 'data'), 'data');
    guard.checkTree(dataRoot, 'data');
    const configPath = guard.check(path.join(folder, 'demo.yaml'), 'demo.yaml');
    const summary = fs.existsSync(path.join(dataRoot, 'trainA')) ? undefined : await generateDemoDataset(dataRoot);
    // 'wx': never write through a link that appeared since the check.
    if (!fs.existsSync(configPath)) fs.writeFileSync(configPath, demoConfigYaml(dataRoot), { flag: 'wx' });
    return { configPath, dataRoot, trainImages: summary?.images.trainA.length ?? fs.readdirSync(path.join(dataRoot, 'trainA')).length };
  },
  async importRun(params, guard) {
    const warnings: string[] = [];
    // Exactly what the import reads and writes, checked: the checkpoint files, the config, the logs, the run folder.
    const from = findReferenceCheckpoint(params.source);
    for (const file of [from.gen, from.dis, from.optimizer]) if (file !== undefined) guard.check(file, 'source');
    const configPath = params.configPath ?? (from.runDir && guard.check(path.join(from.runDir, 'config.yaml'), 'config.yaml'));
    if (configPath === undefined) throw new Error(`${params.source}: no config.yaml beside the checkpoints; give the run's config (configPath)`);
    const configName = runName(configPath);
    const name = from.runDir ? path.basename(from.runDir) : configName === 'config' ? path.basename(path.dirname(configPath)) : configName;
    guard.checkTree(path.join(params.outputPath, name), 'run folder');
    let logs: string | false | undefined = params.logs;
    if (logs !== undefined) guard.checkTree(logs, 'logs');
    else if (from.runDir !== undefined && fs.existsSync(referenceLogs(from.runDir))) {
      // The reference keeps logs/<name> beside outputs/<name>: that may be outside the workspace.
      const refusal = guard.refusal(referenceLogs(from.runDir));
      if (refusal !== undefined) {
        logs = false;
        warnings.push(
          `the TensorBoard logs beside the run are not read: ${refusal}. The run is imported without its loss history; pass logs inside the workspace to include it.`,
        );
      } else guard.checkTree(referenceLogs(from.runDir), 'logs');
    }
    const result = await importTorchRun({
      source: params.source,
      config: configPath,
      logs,
      name,
      outputPath: params.outputPath,
      onWarning: (w) => warnings.push(w),
    });
    return { runFolder: result.runDir, iteration: result.iteration, metrics: result.metrics, warnings };
  },
  async configPreview(params, guard) {
    try {
      return await models.use({ configPath: params.configPath }, params.outputPath, guard, (m) => requests.configPreview(m, params, guard));
    } catch (err) {
      // No usable weights (e.g. the saved config is broken): still show the data pipeline and the problems.
      const result = await requests.configPreview(undefined, params, guard);
      result.problems.push(
        err instanceof ConfigError ? err.diagnostics.map((d) => formatDiagnostic(d, params.configPath)).join('\n') || err.message : (err as Error).message,
      );
      return result;
    }
  },
};

/** Live changes get the same checks, and messages, as the config file. */
function checkTunable(changes: Partial<TunableSettings>): void {
  const entries = Object.entries(changes);
  if (entries.length === 0) throw new Error('no settings to change');
  for (const [key, value] of entries) {
    if (!isTunable(key)) throw new Error(`${key} cannot be changed while training; live settings are ${TUNABLE_KEYS.join(', ')}`);
    const problem = numberProblem(key, value);
    if (problem !== undefined) throw new Error(problem);
  }
}

port.on('message', (request: EngineRequest) => {
  const handler = handlers[request.method] as (params: unknown, guard: PathGuard) => unknown;
  Promise.resolve()
    .then(() => handler(request.params, new PathGuard(request.roots)))
    .then(
      (result) => post({ id: request.id, result }),
      (err: Error) => post({ id: request.id, error: { message: err.message } }),
    );
});

const fail = (what: string) => (err: Error) => {
  log('error', `${what}: ${err.message}`);
  process.exit(1);
};
initBackend().then(
  (info) => chooseEngine().then((engine) => post({ event: 'ready', backend: describeBackend(info), engine: engine.description }), fail('no engine can start')),
  fail('no tfjs backend could start'),
);

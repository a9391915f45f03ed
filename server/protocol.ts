// The server's custom messages (`munit/*`), declared once and imported by the server and the extension.
// Each message is a namespace with its literal method name and a typed RequestType/NotificationType
// (vscode-eslint's style). Images travel as base64 PNG strings because LSP messages are JSON.
import { NotificationType, RequestType } from 'vscode-languageserver-protocol';
import type { TunableSettings } from '../munit-core/hyperparameters.js';
import type { LoggedMetrics } from '../munit-core/training-run.js';
import type { Activations, ArchitectureGraph, Domain } from '../munit-core/inspect/types.js';

export type { Activations, ArchitectureGraph, Domain, LoggedMetrics };
/** Loss weights, lr and the display intervals: what may change while a job runs (listed in munit-core). */
export { TUNABLE_KEYS, type TunableSettings } from '../munit-core/hyperparameters.js';
export type { ActivationTiles, ChannelStats, GraphEdge, GraphGroup, GraphNode, NodeKind, Normalization } from '../munit-core/inspect/types.js';

/** Returned in `initialize`'s result next to serverInfo. */
export interface MunitServerInfo {
  /** tfjs' backend, e.g. 'wasm (2 threads)' or 'webgpu (NVIDIA, ...)'. */
  backend: string;
  /** What runs the training iterations and why others were passed over, e.g. 'onnxruntime cpu, ... (skipped cuda: ...)'. */
  engine: string;
  version: string;
}

/** Which model a request is about: the one of a config file (its live training job, else the newest
 * checkpoint of its run folder) or an explicit run folder. Paths are absolute file system paths. */
export interface ModelSource {
  configPath?: string;
  runFolder?: string;
}

/** Where the weights that answered came from. */
export interface ModelOrigin {
  kind: 'live' | 'checkpoint' | 'untrained';
  /** Finished iterations of those weights. */
  iteration: number;
  runFolder: string;
}

// ---- Training jobs -------------------------------------------------------------------------------

/** States in which a job holds the trainer: its state will still change. */
export const ACTIVE_JOB_STATES = ['starting', 'running', 'paused', 'stopping'] as const;
/** States a job ends in and never leaves. */
export const FINAL_JOB_STATES = ['finished', 'stopped', 'failed'] as const;
export type JobState = (typeof ACTIVE_JOB_STATES)[number] | (typeof FINAL_JOB_STATES)[number];

export const isActiveJob = (state: JobState): boolean => (ACTIVE_JOB_STATES as readonly JobState[]).includes(state);
export const isFinalJob = (state: JobState): boolean => (FINAL_JOB_STATES as readonly JobState[]).includes(state);

export interface JobStatus {
  jobId: string;
  configPath: string;
  runFolder: string;
  state: JobState;
  iteration: number;
  maxIter: number;
  /** Why it failed or stopped (e.g. the NaN message naming the loss term and iteration). */
  message?: string;
}

export interface StartTrainingParams {
  configPath: string;
  /** Continue from the newest complete checkpoint of the run folder. */
  resume?: boolean;
  /** Parent of the run folder; default: the server's output folder setting, relative to the config's workspace. */
  outputPath?: string;
}

/** client -> server: start a training job. Fails with the validation message if the config or its data is broken. */
export namespace StartTraining {
  export const method = 'munit/startTraining' as const;
  export const type = new RequestType<StartTrainingParams, JobStatus, void>(method);
}

export interface JobParams {
  /** Default: the one running job. */
  jobId?: string;
}

/** client -> server: stop after the current iteration and save a checkpoint. Resolves when stopped. */
export namespace StopTraining {
  export const method = 'munit/stopTraining' as const;
  export const type = new RequestType<JobParams, JobStatus, void>(method);
}

/** client -> server: hold the job between iterations (model requests are still answered). */
export namespace PauseTraining {
  export const method = 'munit/pauseTraining' as const;
  export const type = new RequestType<JobParams, JobStatus, void>(method);
}

export namespace ResumeTraining {
  export const method = 'munit/resumeTraining' as const;
  export const type = new RequestType<JobParams, JobStatus, void>(method);
}

/** client -> server: every job this server has run, newest first. */
export namespace ListJobs {
  export const method = 'munit/listJobs' as const;
  export const type = new RequestType<void, JobStatus[], void>(method);
}

/** server -> client: a job changed state. */
export namespace JobStateChanged {
  export const method = 'munit/jobState' as const;
  export const type = new NotificationType<JobStatus>(method);
}

export interface MetricsParams {
  jobId: string;
  runFolder: string;
  /** One logged iteration, as the line written to metrics.jsonl. */
  metrics: LoggedMetrics;
  /** Settings changed live that took effect at this iteration (also written to metrics.jsonl). */
  changes?: Partial<TunableSettings>;
}

/** server -> client: one logged iteration (every log_iter iterations). */
export namespace Metrics {
  export const method = 'munit/metrics' as const;
  export const type = new NotificationType<MetricsParams>(method);
}

export interface SampleGrid {
  /** e.g. 'a2b_train': direction and image set. */
  name: string;
  /** Rows: input, reconstruction, fixed-style translations, random-style translations, labelled. */
  png: string;
}

export interface SamplesParams {
  jobId: string;
  runFolder: string;
  iteration: number;
  grids: SampleGrid[];
}

/** server -> client: labelled sample grids, every image_display_iter iterations. */
export namespace Samples {
  export const method = 'munit/samples' as const;
  export const type = new NotificationType<SamplesParams>(method);
}

export interface UpdateHyperparametersParams extends JobParams {
  changes: Partial<TunableSettings>;
}

export interface UpdateHyperparametersResult {
  /** The first iteration that uses the new values. */
  fromIteration: number;
  settings: TunableSettings;
}

/** client -> server: the loss weights, lr and display intervals a running job uses now. */
export namespace GetHyperparameters {
  export const method = 'munit/getHyperparameters' as const;
  export const type = new RequestType<JobParams, TunableSettings, void>(method);
}

/** client -> server: live tuning of a running job, applied from the next iteration. */
export namespace UpdateHyperparameters {
  export const method = 'munit/updateHyperparameters' as const;
  export const type = new RequestType<UpdateHyperparametersParams, UpdateHyperparametersResult, void>(method);
}

// ---- Looking at the model ------------------------------------------------------------------------

export interface ArchitectureParams extends ModelSource {
  domain?: Domain;
}

export interface ArchitectureResult {
  graph: ArchitectureGraph;
  origin: ModelOrigin;
}

/** client -> server: the live model's architecture as a graph. */
export namespace Architecture {
  export const method = 'munit/architecture' as const;
  export const type = new RequestType<ArchitectureParams, ArchitectureResult, void>(method);
}

export type Direction = 'a2b' | 'b2a';

export type StyleChoice = { kind: 'random'; count: number; seed?: number } | { kind: 'vector'; values: number[] } | { kind: 'example'; image: string };

export interface TranslateParams extends ModelSource {
  /** Image file (absolute path). */
  image: string;
  direction: Direction;
  style: StyleChoice;
}

export interface TranslateResult {
  origin: ModelOrigin;
  /** The input as the model saw it (resized and cropped). */
  input: string;
  outputs: { png: string; style: number[] }[];
  styleDim: number;
}

/** client -> server: translate one image with random styles, a style vector, or an example image's style. */
export namespace Translate {
  export const method = 'munit/translate' as const;
  export const type = new RequestType<TranslateParams, TranslateResult, void>(method);
}

export interface ActivationsParams extends ModelSource {
  image: string;
  domain?: Domain;
  /** A node id from the architecture graph. */
  nodeId: string;
  /** Style code for the decoder's AdaIN layers; default: the image's own style. */
  style?: number[];
}

export interface ActivationsResult {
  origin: ModelOrigin;
  activations: Activations;
}

/** client -> server: one node's feature maps and per-channel statistics for an image. */
export namespace GetActivations {
  export const method = 'munit/activations' as const;
  export const type = new RequestType<ActivationsParams, ActivationsResult, void>(method);
}

export interface ConfigPreviewParams {
  /** The config file (its run folder gives the checkpoint). */
  configPath: string;
  /** The editor's current, possibly unsaved text. */
  text: string;
}

export interface ConfigPreviewResult {
  /** Problems of the edited text; the preview below is empty when it does not parse. */
  problems: string[];
  origin?: ModelOrigin;
  /** Test images translated with the edited inference settings (new_size, crop, display_size, style_dim...). */
  translations: { label: string; png: string }[];
  /** What the data pipeline makes of the first training images (resize, crop, flip) with the edited settings. */
  data: { label: string; png: string }[];
}

/** client -> server: what an edit of a config file produces, before it is saved. */
export namespace ConfigPreview {
  export const method = 'munit/configPreview' as const;
  export const type = new RequestType<ConfigPreviewParams, ConfigPreviewResult, void>(method);
}

export interface CreateDemoProjectParams {
  /** Folder to write into (inside the workspace): <folder>/data/{trainA,trainB,testA,testB} and <folder>/demo.yaml. */
  folder: string;
}

export interface CreateDemoProjectResult {
  configPath: string;
  dataRoot: string;
  /** Images written per domain for training. */
  trainImages: number;
}

/** client -> server: write the built-in demo dataset (outlines -> textured shapes) and its config. */
export namespace CreateDemoProject {
  export const method = 'munit/createDemoProject' as const;
  export const type = new RequestType<CreateDemoProjectParams, CreateDemoProjectResult, void>(method);
}

export interface ImportRunParams {
  /** A reference PyTorch run folder (outputs/<name>/), its checkpoints folder, or a gen_*.pt file. */
  source: string;
  /** The run's config; default: config.yaml of the reference run folder. */
  configPath?: string;
  /** TensorBoard logs (folder or event file); default: logs/<name>/ beside outputs/<name>/. */
  logs?: string;
}

export interface ImportRunResult {
  /** The converted run folder, under the workspace's output folder. */
  runFolder: string;
  iteration: number;
  /** Lines of history written to metrics.jsonl from the TensorBoard logs. */
  metrics: number;
  warnings: string[];
}

/** client -> server: convert a PyTorch MUNIT run (checkpoints with Adam state, TensorBoard history) into a run folder. */
export namespace ImportRun {
  export const method = 'munit/importRun' as const;
  export const type = new RequestType<ImportRunParams, ImportRunResult, void>(method);
}

/** The client-side commands the server's code lenses invoke (the extension registers them). */
export const CLIENT_COMMANDS = {
  startTraining: 'munit.startTraining',
  previewConfig: 'munit.previewConfig',
} as const;

/** The server's own commands (workspace/executeCommand), for the code lenses of editors without our extension.
 * startTraining takes the config path and resumes from the newest checkpoint; stopTraining takes a job id. */
export const SERVER_COMMANDS = {
  startTraining: 'munit-server.startTraining',
  stopTraining: 'munit-server.stopTraining',
} as const;

/** initializationOptions the server understands. */
export interface InitializationOptions {
  /** Like munit.outputFolder: the parent of run folders, relative to the config's workspace folder; inside it. */
  outputFolder?: string;
  /** The client registers CLIENT_COMMANDS and shows codicons (our VS Code extension sends true). */
  clientCommands?: boolean;
}

// The messages between the server's main thread (LSP) and its engine worker (tensors), declared once.
// Requests carry an id and get exactly one reply; events flow from the worker unasked.
import type * as P from './protocol.js';

/** Each engine method with its parameters and result. */
export interface EngineMethods {
  startTraining: [P.StartTrainingParams & { outputPath: string }, P.JobStatus];
  stopTraining: [P.JobParams, P.JobStatus];
  pauseTraining: [P.JobParams, P.JobStatus];
  resumeTraining: [P.JobParams, P.JobStatus];
  listJobs: [void, P.JobStatus[]];
  getHyperparameters: [P.JobParams, P.TunableSettings];
  updateHyperparameters: [P.UpdateHyperparametersParams, P.UpdateHyperparametersResult];
  architecture: [P.ArchitectureParams & { outputPath: string }, P.ArchitectureResult];
  translate: [P.TranslateParams & { outputPath: string }, P.TranslateResult];
  activations: [P.ActivationsParams & { outputPath: string }, P.ActivationsResult];
  configPreview: [P.ConfigPreviewParams & { outputPath: string }, P.ConfigPreviewResult];
  createDemoProject: [P.CreateDemoProjectParams, P.CreateDemoProjectResult];
  importRun: [P.ImportRunParams & { outputPath: string }, P.ImportRunResult];
}

export type EngineMethod = keyof EngineMethods;

export interface EngineRequest<M extends EngineMethod = EngineMethod> {
  id: number;
  method: M;
  params: EngineMethods[M][0];
  /** The workspace folders (real paths): the worker reads and writes only inside them. */
  roots: readonly string[];
}

export type EngineReply = { id: number; result: unknown } | { id: number; error: { message: string } };

/** What the worker reports on its own. */
export type EngineEvent =
  | { event: 'ready'; backend: string; engine: string }
  | { event: 'metrics'; params: P.MetricsParams }
  | { event: 'samples'; params: P.SamplesParams }
  | { event: 'jobState'; params: P.JobStatus }
  | { event: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  /** Sent by the main thread's Engine itself when the worker died, and whether a new one is starting. */
  | { event: 'crashed'; reason: string; restarting: boolean };

export type EngineMessage = EngineReply | EngineEvent;

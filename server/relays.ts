// The munit/* requests of protocol.ts, each relayed to the engine method that answers it, its params checked on the
// way (paths kept inside the workspace). One table, typed so that a request or engine method left unrouted does not
// compile, instead of answering MethodNotFound at run time.
import * as path from 'node:path';
import type { Connection, RequestType } from 'vscode-languageserver/node';
import type { Engine } from './engine.js';
import type { EngineMethod, EngineMethods } from './engine-messages.js';
import { asResponseError } from './failures.js';
import { numbers, oneOf, optionalBoolean, optionalString, type Params, ParamsError, paramsOf, requiredString, styleChoice } from './params.js';
import * as P from './protocol.js';
import type { Workspace } from './workspace.js';

const DOMAINS = ['a', 'b'] as const;

/** How the client reaches one engine method. */
interface Relay<M extends EngineMethod> {
  /** The protocol's request; it answers with the engine method's result. */
  request: { method: `munit/${string}`; type: RequestType<unknown, EngineMethods[M][1], void> };
  /** Every param is optional, so a request may come without params (a typed registration would refuse it). */
  allOptional: boolean;
  /** The engine's params from the client's, checked with readable messages. */
  params(p: Params, workspace: Workspace): EngineMethods[M][0];
}

type Relays = { [M in EngineMethod]: Relay<M> };

const jobParams = (p: Params): P.JobParams => {
  const jobId = optionalString(p, 'jobId');
  return jobId === undefined ? {} : { jobId };
};

/** The model a request names, its paths checked, with the output folder the engine needs. */
function modelSource(p: Params, workspace: Workspace): P.ModelSource & { outputPath: string } {
  const configPath = optionalString(p, 'configPath');
  const runFolder = optionalString(p, 'runFolder');
  if (configPath === undefined && runFolder === undefined) throw new ParamsError('name the model: configPath or runFolder');
  const checkedConfig = configPath === undefined ? undefined : workspace.check(configPath, 'configPath');
  const checkedRun = runFolder === undefined ? undefined : workspace.check(runFolder, 'runFolder');
  const outputPath = checkedConfig ? workspace.outputPathFor(checkedConfig) : path.dirname(checkedRun!);
  return { configPath: checkedConfig, runFolder: checkedRun, outputPath };
}

export const RELAYS = {
  startTraining: {
    request: P.StartTraining,
    allOptional: false,
    params(p, workspace) {
      const configPath = workspace.check(requiredString(p, 'configPath'), 'configPath');
      const resume = optionalBoolean(p, 'resume');
      const outputPath = optionalString(p, 'outputPath');
      return { configPath, resume, outputPath: outputPath === undefined ? workspace.outputPathFor(configPath) : workspace.check(outputPath, 'outputPath') };
    },
  },
  stopTraining: { request: P.StopTraining, allOptional: true, params: jobParams },
  pauseTraining: { request: P.PauseTraining, allOptional: true, params: jobParams },
  resumeTraining: { request: P.ResumeTraining, allOptional: true, params: jobParams },
  listJobs: { request: P.ListJobs, allOptional: true, params: () => undefined },
  getHyperparameters: { request: P.GetHyperparameters, allOptional: true, params: jobParams },
  updateHyperparameters: {
    request: P.UpdateHyperparameters,
    allOptional: false,
    params(p) {
      const changes = p.changes;
      if (typeof changes !== 'object' || changes === null || Array.isArray(changes))
        throw new ParamsError(`changes: expected an object of settings, e.g. {"lr": 0.0001}, got ${JSON.stringify(changes)}`);
      return { ...jobParams(p), changes: changes as Partial<P.TunableSettings> };
    },
  },
  architecture: {
    request: P.Architecture,
    allOptional: false,
    params: (p, workspace) => ({ ...modelSource(p, workspace), domain: oneOf(p, 'domain', DOMAINS) }),
  },
  translate: {
    request: P.Translate,
    allOptional: false,
    params(p, workspace) {
      const direction = oneOf(p, 'direction', ['a2b', 'b2a'] as const);
      if (direction === undefined) throw new ParamsError('direction: required; use "a2b" or "b2a"');
      const style = styleChoice(p);
      const image = workspace.check(requiredString(p, 'image'), 'image');
      const checkedStyle = style.kind === 'example' ? { ...style, image: workspace.check(style.image, 'style.image') } : style;
      return { ...modelSource(p, workspace), image, direction, style: checkedStyle };
    },
  },
  activations: {
    request: P.GetActivations,
    allOptional: false,
    params(p, workspace) {
      const nodeId = optionalString(p, 'nodeId');
      if (nodeId === undefined) throw new ParamsError('nodeId: required; a node id from munit/architecture');
      const style = p.style === undefined ? undefined : numbers(p.style, 'style');
      const image = workspace.check(requiredString(p, 'image'), 'image');
      return { ...modelSource(p, workspace), image, nodeId, domain: oneOf(p, 'domain', DOMAINS), style };
    },
  },
  configPreview: {
    request: P.ConfigPreview,
    allOptional: false,
    params(p, workspace) {
      const text = optionalString(p, 'text');
      if (text === undefined) throw new ParamsError('text: required; the config text');
      const configPath = workspace.check(requiredString(p, 'configPath'), 'configPath');
      return { configPath, text, outputPath: workspace.outputPathFor(configPath) };
    },
  },
  createDemoProject: {
    request: P.CreateDemoProject,
    allOptional: false,
    params: (p, workspace) => ({ folder: workspace.check(requiredString(p, 'folder'), 'folder') }),
  },
  importRun: {
    request: P.ImportRun,
    allOptional: false,
    params(p, workspace) {
      const source = workspace.check(requiredString(p, 'source'), 'source');
      const configPath = optionalString(p, 'configPath');
      const logs = optionalString(p, 'logs');
      const checkedConfig = configPath === undefined ? undefined : workspace.check(configPath, 'configPath');
      return {
        source,
        configPath: checkedConfig,
        logs: logs === undefined ? undefined : workspace.check(logs, 'logs'),
        outputPath: workspace.outputPathFor(checkedConfig ?? source),
      };
    },
  },
} satisfies Relays;

/** The method of every request namespace protocol.ts exports. */
type ProtocolRequestMethod = {
  [K in keyof typeof P]: (typeof P)[K] extends { method: infer M; type: RequestType<unknown, unknown, unknown> } ? M : never;
}[keyof typeof P];

/** Names the protocol's requests that no relay serves (as a property the table lacks); nothing when all are served. */
type Unrouted<T extends Relays> = [Exclude<ProtocolRequestMethod, T[EngineMethod]['request']['method']>] extends [never]
  ? unknown
  : { unrouted: Exclude<ProtocolRequestMethod, T[EngineMethod]['request']['method']> };

/** Registers every relay by its method name, so params are checked here, with readable messages. */
export function relayRequests(connection: Connection, engine: Engine, workspace: Workspace): void {
  const relays: Relays & Unrouted<typeof RELAYS> = RELAYS;
  for (const method of Object.keys(relays) as EngineMethod[]) relay(connection, engine, workspace, method, relays[method]);
}

function relay<M extends EngineMethod>(
  connection: Connection,
  engine: Engine,
  workspace: Workspace,
  method: M,
  { request, allOptional, params }: Relay<M>,
): void {
  connection.onRequest(request.method, async (raw: unknown): Promise<unknown> => {
    try {
      return await engine.request(method, params(paramsOf(request.method, raw, allOptional), workspace));
    } catch (err) {
      throw asResponseError(err);
    }
  });
}

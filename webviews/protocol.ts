// The messages between the extension host and each panel, declared once and imported by both sides (GitLens style).
// Per panel: notifications (host -> webview), commands (webview -> host, no answer) and requests (webview -> host,
// answered with a typed result), plus the state the panel saves with setState and restores from after a reload.
// On the wire: a notification or command is {method, params}; a request is {id, method, params}; its answer is
// {id, result} or {id, error}. Data types come from the server's protocol, so panels show exactly what it sends.
import type {
  ActivationsParams,
  ActivationsResult,
  ArchitectureResult,
  ConfigPreviewResult,
  Direction,
  Domain,
  JobStatus,
  MetricsParams,
  SamplesParams,
  TranslateParams,
  TranslateResult,
  TunableSettings,
  UpdateHyperparametersResult,
} from '../server/protocol.js';

export type PanelKind = 'lossCurves' | 'architecture' | 'samples' | 'activations' | 'tuning' | 'configPreview';

type RequestMap = Record<string, { params: unknown; result: unknown }>;
type Empty = Record<string, never>;
type NoRequests = Record<never, never>;

/** Sent by every panel once it listens: the host answers with the panel's data as notifications. */
type ReadyCommand = { ready: Empty };

/** What every panel contract declares. `requests` maps a method to its params and result. */
export interface PanelContract {
  notifications: object;
  commands: ReadyCommand;
  requests: RequestMap;
  state: object;
}

/** Asks the host for an image file (its open dialog); undefined when cancelled. */
type PickImageRequest = { pickImage: { params: Empty; result: string | undefined } };

/** The params a panel sends when asking the model something: the host adds the ModelSource it is showing. */
type WithoutSource<P> = Omit<P, 'configPath' | 'runFolder'>;

// ---- Loss curves ---------------------------------------------------------------------------------

/** One logged iteration as metrics.jsonl holds it: the metrics and the settings changed live at it. */
export type MetricsEntry = Pick<MetricsParams, 'metrics' | 'changes'>;

/** The whole history of one run, e.g. a past run's metrics.jsonl or the live run so far. */
export interface RunHistory {
  runFolder: string;
  /** Shown in the legend, e.g. the run folder's name. */
  label: string;
  entries: MetricsEntry[];
}

export interface LossCurvesContract extends PanelContract {
  notifications: {
    /** Adds runs, or replaces the ones with the same run folder. */
    history: { runs: RunHistory[] };
    /** One live iteration, appended to its run (a run not seen yet is added). */
    metrics: MetricsParams;
  };
  commands: ReadyCommand & {
    /** Asks the host to pick a past run (its metrics.jsonl) and send it as history. */
    addRun: Empty;
    /** The person removed a run from the chart; the host stops sending it. */
    removeRun: { runFolder: string };
  };
  requests: NoRequests;
  state: {
    runFolders: string[];
    /** Loss terms switched off in the legend. */
    hidden: string[];
    /** TensorBoard's smoothing weight in [0, 1). */
    smoothing: number;
    logScale: boolean;
  };
}

// ---- Architecture --------------------------------------------------------------------------------

export interface ArchitectureContract extends PanelContract {
  notifications: {
    graph: ArchitectureResult;
  };
  commands: ReadyCommand & {
    /** Show this node's activations (the host opens the activations panel on it). */
    inspectNode: { nodeId: string };
    /** Show the other half of the model pair. */
    selectDomain: { domain: Domain };
  };
  requests: NoRequests;
  state: {
    runFolder?: string;
    domain: Domain;
    /** Group ids drawn as one box. */
    collapsed: string[];
  };
}

// ---- Samples -------------------------------------------------------------------------------------

export interface SamplesContract extends PanelContract {
  notifications: {
    /** Grids already written (the numbered ones of a run), any order. */
    history: { steps: SamplesParams[] };
    /** New grids from the live job. */
    samples: SamplesParams;
  };
  commands: ReadyCommand;
  requests: NoRequests;
  state: {
    runFolder?: string;
    /** The iteration shown; ignored while following the live job. */
    iteration?: number;
    followLive: boolean;
  };
}

// ---- Activations ---------------------------------------------------------------------------------

export interface ActivationsContract extends PanelContract {
  notifications: {
    /** Images worth offering (e.g. the run's test images), absolute paths. */
    images: { images: string[] };
    /** The graph whose inspectable nodes can be picked. */
    graph: ArchitectureResult;
    /** Show this node (and image), e.g. after a click in the architecture panel. */
    select: { nodeId?: string; image?: string };
  };
  commands: ReadyCommand;
  requests: PickImageRequest & {
    getActivations: { params: WithoutSource<ActivationsParams>; result: ActivationsResult };
  };
  state: {
    image?: string;
    nodeId?: string;
    sort: { column: StatColumn; descending: boolean };
  };
}

export type StatColumn = 'channel' | 'mean' | 'std' | 'min' | 'max';

// ---- Tuning --------------------------------------------------------------------------------------

export interface TuningContract extends PanelContract {
  notifications: {
    /** The running job and its current settings; job null when none runs. */
    job: { job: JobStatus | null; settings: TunableSettings | null };
    images: { images: string[] };
  };
  commands: ReadyCommand;
  requests: PickImageRequest & {
    updateHyperparameters: { params: { changes: Partial<TunableSettings> }; result: UpdateHyperparametersResult };
    translate: { params: WithoutSource<TranslateParams>; result: TranslateResult };
  };
  state: {
    image?: string;
    direction: Direction;
    /** The style code the sliders hold. */
    style: number[];
  };
}

// ---- Config preview ------------------------------------------------------------------------------

export interface ConfigPreviewContract extends PanelContract {
  notifications: {
    /** The text changed; a new preview is being made. */
    updating: { configPath: string };
    preview: { configPath: string; result: ConfigPreviewResult };
  };
  commands: ReadyCommand;
  requests: NoRequests;
  state: {
    configPath?: string;
  };
}

export interface PanelContracts {
  lossCurves: LossCurvesContract;
  architecture: ArchitectureContract;
  samples: SamplesContract;
  activations: ActivationsContract;
  tuning: TuningContract;
  configPreview: ConfigPreviewContract;
}

export type PanelState<K extends PanelKind> = PanelContracts[K]['state'];

// ---- Envelopes -----------------------------------------------------------------------------------

type MessageUnion<Map> = { [M in keyof Map & string]: { method: M; params: Map[M] } }[keyof Map & string];

/** host -> webview */
export type NotificationOf<C extends PanelContract> = MessageUnion<C['notifications']>;
/** webview -> host, no answer */
export type CommandOf<C extends PanelContract> = MessageUnion<C['commands']>;

export type RequestMethod<C extends PanelContract> = keyof C['requests'] & string;
export type RequestParams<C extends PanelContract, M extends RequestMethod<C>> = C['requests'][M]['params'];
export type RequestResult<C extends PanelContract, M extends RequestMethod<C>> = C['requests'][M]['result'];

/** webview -> host, answered by a ResponseMessage with the same id. */
export type RequestOf<C extends PanelContract> = {
  [M in RequestMethod<C>]: { id: number; method: M; params: RequestParams<C, M> };
}[RequestMethod<C>];

/** host -> webview */
export type ResponseMessage = { id: number; result: unknown } | { id: number; error: string };

/** Everything a panel posts to its host. */
export type WebviewMessage<C extends PanelContract> = CommandOf<C> | RequestOf<C>;
/** Everything a host posts to its panel. */
export type HostMessage<C extends PanelContract> = NotificationOf<C> | ResponseMessage;

export function isRequest<C extends PanelContract>(message: WebviewMessage<C>): message is RequestOf<C> {
  return 'id' in message;
}

/** One handler per request method of a panel, so the host cannot forget one. */
export type RequestHandlers<C extends PanelContract> = {
  [M in RequestMethod<C>]: (params: RequestParams<C, M>) => Promise<RequestResult<C, M>> | RequestResult<C, M>;
};

/** Host side: runs the request's handler and returns the answer to post back (errors become {error}). */
export async function answerRequest<C extends PanelContract>(request: RequestOf<C>, handlers: RequestHandlers<C>): Promise<ResponseMessage> {
  const handler = handlers[request.method] as (params: unknown) => unknown;
  try {
    return { id: request.id, result: await handler(request.params) };
  } catch (e) {
    return { id: request.id, error: e instanceof Error ? e.message : String(e) };
  }
}

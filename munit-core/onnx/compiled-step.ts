// The reference iteration (dis_update, then gen_update with the updated discriminators) as two ONNX graphs run by
// onnxruntime. The graphs are traced from the trainer's own code. The weights and Adam moments are graph inputs and
// outputs in flat buffers (stateBuffers), held between iterations (on the GPU with WebGPU, else in host memory) and
// copied into the trainer's tfjs variables only when something reads them (a checkpoint, a sample grid, a model
// request).
import * as tf from '@tensorflow/tfjs-core';
import { adamStepFactors, adamUpdate } from '../adam.js';
import type { ParamEntry } from '../layers/params.js';
import { Vgg16, VggLayer } from '../networks/vgg16.js';
import {
  assertFiniteLosses,
  DIS_LOSS_TERMS,
  GEN_LOSS_TERMS,
  genLossRecord,
  GenTerms,
  IterationMetrics,
  LossWeights,
  MunitTrainer,
  StepEngine,
} from '../trainer.js';
import { paramPerm, tensorFeed } from './compile.js';
import { DeviceTransfer } from './device-transfer.js';
import { GraphPort, OnnxGraph, portSize } from './graph.js';
import { inversePerm, permute } from './layout.js';
import { createDeviceSession, createSession, DeviceSession, DeviceValue, Feed, GraphSession, PortData, SessionOptions, stateStaysOnDevice } from './session.js';
import { NCHW, OIHW, traceGraph, TraceBackend, traceTargetOf, TraceTarget } from './trace-backend.js';
import { registerTraceKernels } from './trace-kernels.js';

type Group = 'gen' | 'dis';
/** A step's outputs: the losses in host memory; on a device, the new weights and moments. */
type StepOutputs = { host: Record<string, PortData>; device: Record<string, DeviceValue> };
/** NHWC batch shapes of the two domains. */
export interface ImageShapes {
  a: number[];
  b: number[];
}
const LOSS_WEIGHT_KEYS = ['gan_w', 'recon_x_w', 'recon_s_w', 'recon_c_w', 'recon_x_cyc_w', 'vgg_w'] as const;

const GROUPS = ['gen', 'dis'] as const;
/** What the state holds of each buffer: the weights and both Adam moments, laid out alike (named as in adamUpdate). */
const STATE_KINDS = ['param', 'expAvg', 'expAvgSq'] as const;
type StateKind = (typeof STATE_KINDS)[number];

/** One trainable tensor: its weight and moments, as the trainer holds them. */
interface Slot {
  group: Group;
  /** `<net>.<state-dict name>`. */
  name: string;
  entry: ParamEntry;
  variables: Record<StateKind, tf.Variable>;
  size: number;
}

/** Trainable tensors one after another in one flat graph value (per kind), each in its graph layout (paramPerm). */
interface StateBuffer {
  name: string;
  group: Group;
  pieces: { slot: Slot; offset: number }[];
  size: number;
}

/** The graph name of a buffer's kind; the step's output is the same with `new:` in front. */
const stateName = (kind: StateKind, buffer: StateBuffer) => `${kind}:${buffer.name}`;

interface StepGraph {
  session: GraphSession | DeviceSession;
  graph: OnnxGraph;
  /** What the graph was built for: a change of these rebuilds it. */
  key: string;
}

const netsOf = (t: MunitTrainer, group: Group) =>
  group === 'gen'
    ? ([
        ['gen_a', t.genA],
        ['gen_b', t.genB],
      ] as const)
    : ([
        ['dis_a', t.disA],
        ['dis_b', t.disB],
      ] as const);

/** A group's slots in its optimiser's order (that is how genLosses / disLosses return gradients). */
function slotsOf(t: MunitTrainer, group: Group): Slot[] {
  const opt = group === 'gen' ? t.genOpt : t.disOpt;
  const entries = netsOf(t, group).flatMap(([net, n]) => [...n.params.entries.values()].filter((e) => e.trainable).map((e) => [net, e] as const));
  return entries.map(([net, entry], i) => {
    if (opt.variables[i] !== entry.variable) throw new Error('internal: optimiser and network weights are in different orders');
    const variables = { param: entry.variable, ...opt.slots[i] };
    return { group, name: `${net}.${entry.name}`, entry, variables, size: entry.variable.size };
  });
}

/**
 * How the state is laid out for a target. On a GPU, each network group is one buffer, so Adam is a handful of kernel
 * calls, not fifteen per weight tensor (the 64x64 iteration: 6,380 calls instead of 9,174). On a CPU, each tensor is
 * its own buffer: its Adam chain then runs in cache, and no Split or Concat copies the weights (measured at 64x64,
 * per-group buffers took 2.31 s of kernels against 1.71 s).
 */
function stateBuffers(t: MunitTrainer, target: TraceTarget): StateBuffer[] {
  return GROUPS.flatMap((group) => {
    const slots = slotsOf(t, group);
    const parts = target === 'gpu' ? [{ name: group, slots }] : slots.map((slot) => ({ name: slot.name, slots: [slot] }));
    return parts.map(({ name, slots: members }) => {
      const pieces: StateBuffer['pieces'] = [];
      let size = 0;
      for (const slot of members) {
        pieces.push({ slot, offset: size });
        size += slot.size;
      }
      return { name, group, pieces, size };
    });
  });
}

export class CompiledStep implements StepEngine {
  readonly name: string;
  private readonly buffers: StateBuffer[];
  /** The current flat buffers by graph name: in host memory, or values on the device once a step wrote them. */
  private readonly state = new Map<string, Feed>();
  /**
   * Buffers of the same shapes that a step writes its new weights and moments into; a committed step swaps them
   * with the state. So a step allocates nothing, and on the C API copies nothing (360 MB at the reference widths).
   */
  private readonly spare = new Map<string, Float32Array>();
  /** Whether `state` is newer than the trainer's variables. */
  private ahead = false;
  private dis?: StepGraph;
  private gen?: StepGraph;
  /** The frozen VGG-16 weights of the perceptual loss (vgg_w > 0), by graph name; uploaded once on a device. */
  private readonly vgg: Map<string, Feed>;
  /** Uploads and read-backs, when the state stays on the provider's device (stateStaysOnDevice). */
  private readonly device?: DeviceTransfer;
  /** Whether the weights and moments stay on the GPU between iterations (stateStaysOnDevice). */
  readonly keepsStateOnDevice: boolean;
  /** The graph ports of the state, for read-backs. */
  private readonly ports = new Map<string, GraphPort>();
  /** Seconds spent tracing and starting sessions, for the benchmark. */
  buildSeconds = 0;

  private constructor(
    private readonly trainer: MunitTrainer,
    private readonly shapes: ImageShapes,
    private readonly options: SessionOptions,
  ) {
    this.vgg = vggFeeds(perceptualNetwork(trainer));
    this.name = `onnxruntime ${options.provider}`;
    this.buffers = stateBuffers(trainer, traceTargetOf(options.provider));
    this.keepsStateOnDevice = stateStaysOnDevice(options);
    if (this.keepsStateOnDevice) this.device = new DeviceTransfer(options);
    this.reload();
  }

  /**
   * Where the weights and moments are now: on the device (WebGPU, CUDA) once a step has written them, else in host memory
   * ('mixed' between the two updates of the first iteration). For the training log and the tests.
   */
  get stateLocation(): 'device' | 'host' | 'mixed' {
    const onDevice = [...this.state.values()].filter((v) => v instanceof DeviceValue).length;
    return onDevice === 0 ? 'host' : onDevice === this.state.size ? 'device' : 'mixed';
  }

  /** Builds both graphs for batches of these shapes (NHWC; the config's batch size and crop). */
  static async create(trainer: MunitTrainer, shapes: ImageShapes, options: SessionOptions): Promise<CompiledStep> {
    const step = new CompiledStep(trainer, shapes, options);
    try {
      await step.graphFor('dis');
      await step.graphFor('gen');
      await step.uploadVgg();
    } catch (err) {
      // A provider that cannot run the graphs leaves nothing behind (the engine chain may try the next one).
      step.dispose();
      throw err;
    }
    return step;
  }

  /** How onnxruntime is called (its C API, or onnxruntime-node), for the training log and the benchmark. */
  get binding(): string {
    return this.gen?.session.binding ?? 'not started';
  }

  /** The two graphs of an iteration, as traced (to write them out or check where they run). */
  get graphs(): OnnxGraph[] {
    return [this.dis!.graph, this.gen!.graph];
  }

  /** Graph nodes per iteration (both graphs), for the benchmark. */
  get nodeCount(): number {
    return (this.dis?.graph.nodeCount ?? 0) + (this.gen?.graph.nodeCount ?? 0);
  }

  reload(): void {
    this.disposeDeviceState();
    this.state.clear();
    for (const buffer of this.buffers) {
      for (const kind of STATE_KINDS) {
        const flat = new Float32Array(buffer.size);
        for (const { slot, offset } of buffer.pieces) flat.set(tensorFeed(slot.variables[kind], paramPerm(slot.entry)), offset);
        this.state.set(stateName(kind, buffer), flat);
      }
    }
    this.ahead = false;
  }

  async settle(): Promise<void> {
    if (!this.ahead) return;
    const host = await this.hostState();
    for (const buffer of this.buffers) {
      for (const { slot, offset } of buffer.pieces) {
        const perm = paramPerm(slot.entry);
        const dims = perm.map((a) => slot.entry.variable.shape[a]);
        for (const kind of STATE_KINDS) {
          const variable = slot.variables[kind];
          // A copy: the state's buffers are written again by later steps, and tfjs' cpu backend keeps what it is given.
          const data = host.get(stateName(kind, buffer))!.slice(offset, offset + slot.size);
          tf.tidy(() => variable.assign(tf.tensor(permute(data, dims, inversePerm(perm)), variable.shape)));
        }
      }
    }
    this.ahead = false;
  }

  /** The state in host memory: values on the device are read back in one run (they stay there too). */
  private async hostState(): Promise<Map<string, Float32Array>> {
    const onDevice = [...this.state].filter((e): e is [string, DeviceValue] => e[1] instanceof DeviceValue);
    const host = new Map([...this.state].filter((e): e is [string, Float32Array] => !(e[1] instanceof DeviceValue)));
    if (onDevice.length === 0) return host;
    const ports = onDevice.map(([name]) => this.ports.get(name)!);
    const data = await this.device!.toHost(
      ports,
      onDevice.map(([, value]) => value),
    );
    onDevice.forEach(([name], i) => host.set(name, data[i] as Float32Array));
    return host;
  }

  async step(xA: tf.Tensor4D, xB: tf.Tensor4D): Promise<IterationMetrics> {
    const t = this.trainer;
    const start = performance.now();
    const lr = t.currentLearningRate();
    for (const [x, shape, d] of [
      [xA, this.shapes.a, 'A'],
      [xB, this.shapes.b, 'B'],
    ] as const) {
      if (x.shape.join(',') !== shape.join(',')) throw new Error(`domain ${d} batch is [${x.shape}], but the compiled step was built for [${shape}]`);
    }
    const images = { x_a: tensorFeed(xA, NCHW), x_b: tensorFeed(xB, NCHW) };
    // The same random stream as the eager step: two style codes for dis_update, then two for gen_update.
    const styles = [xA, xB, xA, xB].map((x) => {
      const s = t.randomStyles(x.shape[0]);
      const feed = s.dataSync() as Float32Array;
      s.dispose();
      return feed;
    });
    const h = t.hyper;

    const dis = await this.graphFor('dis');
    const disOut = await this.run(dis, {
      ...images,
      s_a: styles[0],
      s_b: styles[1],
      gan_w: Float32Array.of(h.gan_w),
      ...this.adamFeeds(t.disOpt.settings, lr, t.disOpt.step + 1),
    });
    const disLosses = DIS_LOSS_TERMS.map((n) => disOut.host[n][0] as number);
    this.checked(disOut, () => assertFiniteLosses(disLosses, 'discriminator step', DIS_LOSS_TERMS, t.iteration));
    this.commit('dis', disOut);
    t.disOpt.step += 1;

    const terms = t.genTerms();
    const present = GEN_LOSS_TERMS.filter((n) => genTermPresent(n, terms));
    const gen = await this.graphFor('gen');
    const weights = Object.fromEntries(LOSS_WEIGHT_KEYS.map((k) => [k, Float32Array.of(h[k])]));
    const genOut = await this.run(gen, { ...images, s_a: styles[2], s_b: styles[3], ...weights, ...this.adamFeeds(t.genOpt.settings, lr, t.genOpt.step + 1) });
    const genValues = present.map((n) => genOut.host[n][0] as number);
    this.checked(genOut, () => assertFiniteLosses(genValues, 'generator step', present, t.iteration));
    this.commit('gen', genOut);
    t.genOpt.step += 1;

    t.iteration += 1;
    const [a, b, total] = disLosses;
    return {
      iteration: t.iteration,
      lr,
      seconds_per_iter: (performance.now() - start) / 1000,
      losses: { loss_dis_a: a, loss_dis_b: b, loss_dis_total: total, ...genLossRecord(present, genValues) },
    };
  }

  dispose(): void {
    this.disposeDeviceState();
    for (const value of this.vgg.values()) if (value instanceof DeviceValue) value.dispose();
    this.state.clear();
    this.spare.clear();
    this.dis?.session.release();
    this.gen?.session.release();
    this.device?.release();
  }

  private disposeDeviceState(): void {
    for (const value of this.state.values()) if (value instanceof DeviceValue) value.dispose();
  }

  /** On a device, the VGG-16 weights are uploaded once, not fed at every generator step. */
  private async uploadVgg(): Promise<void> {
    if (!this.device || this.vgg.size === 0) return;
    const ports = this.gen!.graph.inputs.filter((port) => this.vgg.has(port.name));
    const values = await this.device.toDevice(
      ports,
      ports.map((port) => this.vgg.get(port.name) as Float32Array),
    );
    ports.forEach((port, i) => this.vgg.set(port.name, values[i]));
  }

  /** Runs `check`; if it throws, the step's new values are dropped (on a device they would otherwise leak). */
  private checked(out: StepOutputs, check: () => void): void {
    try {
      check();
    } catch (err) {
      for (const value of Object.values(out.device)) value.dispose();
      throw err;
    }
  }

  private adamFeeds(settings: MunitTrainer['genOpt']['settings'], lr: number, step: number): Record<string, Float32Array> {
    const { stepSize, sqrtBc2 } = adamStepFactors(settings, lr, step);
    return { step_size: Float32Array.of(stepSize), sqrt_bc2: Float32Array.of(sqrtBc2) };
  }

  private async run(graph: StepGraph, feeds: Record<string, Float32Array>): Promise<StepOutputs> {
    const feed = (port: GraphPort) => feeds[port.name] ?? this.state.get(port.name) ?? this.vgg.get(port.name);
    // On a device the new weights and moments stay there.
    if ('runKeeping' in graph.session) return graph.session.runKeeping(feed);
    // In host memory they go into the spare buffers; the losses into new ones.
    const host = await graph.session.run(feed, (port) => {
      if (!port.name.startsWith('new:')) return undefined;
      const name = port.name.slice(4);
      let buffer = this.spare.get(name);
      if (!buffer) this.spare.set(name, (buffer = new Float32Array(portSize(port))));
      return buffer;
    });
    return { host, device: {} };
  }

  /** Takes the step's new weights and moments (on the device, or written into the spare buffers) as the state. */
  private commit(group: Group, out: StepOutputs): void {
    const names = this.buffers.filter((buffer) => buffer.group === group).flatMap((buffer) => STATE_KINDS.map((kind) => stateName(kind, buffer)));
    for (const name of names) {
      const old = this.state.get(name)!;
      if (this.device) {
        if (old instanceof DeviceValue) old.dispose();
        this.state.set(name, out.device[`new:${name}`]);
      } else {
        this.state.set(name, this.spare.get(name)!);
        this.spare.set(name, old as Float32Array);
      }
    }
    this.ahead = true;
  }

  private async graphFor(group: Group): Promise<StepGraph> {
    const key = group === 'gen' ? JSON.stringify(this.trainer.genTerms()) : 'dis';
    const existing = group === 'gen' ? this.gen : this.dis;
    if (existing?.key === key) return existing;
    const started = performance.now();
    const traced = traceStep(this.trainer, this.shapes, group, this.trainer.genTerms(), traceTargetOf(this.options.provider));
    for (const port of traced.inputs) this.ports.set(port.name, port);
    const session = this.device
      ? await createDeviceSession(traced, this.options, (port) => port.name.startsWith('new:'))
      : await createSession(traced, this.options);
    existing?.session.release();
    const graph = { session, graph: traced, key };
    if (group === 'gen') this.gen = graph;
    else this.dis = graph;
    this.buildSeconds += (performance.now() - started) / 1000;
    return graph;
  }
}

function genTermPresent(name: (typeof GEN_LOSS_TERMS)[number], terms: GenTerms): boolean {
  if (name.startsWith('loss_gen_cycrecon')) return terms.cyc;
  if (name.startsWith('loss_gen_vgg')) return terms.vgg;
  return true;
}

/**
 * Traces one update of `group` on a shadow trainer whose every weight and moment is a graph input: the losses and
 * gradients come from the trainer's own disLosses / genLosses, the update from its Adam's tensor-op form.
 */
function traceStep(real: MunitTrainer, size: ImageShapes, group: Group, terms: GenTerms, target: TraceTarget): OnnxGraph {
  registerTraceKernels();
  const { graph } = traceGraph((b) => {
    // The perceptual loss's VGG-16 is frozen: its weights are graph inputs that no update writes.
    const vgg = group === 'gen' && terms.vgg ? vggInputs(b, perceptualNetwork(real)!) : undefined;
    const shadow = new MunitTrainer(real.settings, { initialise: false, perceptual: vgg ?? real.perceptual });
    try {
      tf.tidy(() => buildStep(b, shadow, size, group, terms));
    } finally {
      shadow.dispose();
      vgg?.dispose();
    }
  }, target);
  return graph;
}

/** The trainer's VGG-16, which the compiled step needs as a network (its weights), not only as a function. */
function perceptualNetwork(trainer: MunitTrainer): Vgg16 | undefined {
  if (trainer.perceptual === undefined || trainer.perceptual instanceof Vgg16) return trainer.perceptual;
  throw new Error('the compiled engine needs the perceptual loss as a Vgg16 network (networks/vgg16.ts)');
}

const vggName = (layer: VggLayer, part: 'weight' | 'bias') => `vgg.${layer.name}.${part}`;

function vggInputs(b: TraceBackend, real: Vgg16): Vgg16 {
  return new Vgg16(
    real.layers.map((l) => ({
      name: l.name,
      w: b.input(vggName(l, 'weight'), l.w.shape, OIHW) as tf.Tensor4D,
      b: b.input(vggName(l, 'bias'), l.b.shape, [0]) as tf.Tensor1D,
    })),
  );
}

/** The VGG-16 weights in the graph's layouts: fed at every generator step, computed once. */
function vggFeeds(vgg: Vgg16 | undefined): Map<string, Float32Array> {
  const feeds = new Map<string, Float32Array>();
  for (const l of vgg?.layers ?? []) {
    feeds.set(vggName(l, 'weight'), tensorFeed(l.w, OIHW));
    feeds.set(vggName(l, 'bias'), l.b.dataSync() as Float32Array);
  }
  return feeds;
}

function buildStep(b: TraceBackend, shadow: MunitTrainer, size: ImageShapes, group: Group, terms: GenTerms): void {
  const buffers = stateBuffers(shadow, b.target);
  // The weights of both groups are inputs (the other group's only read).
  const params = new Map(
    buffers.map((buffer) => {
      const flat = b.input(stateName('param', buffer), [buffer.size], [0]);
      const weights = b.splitFlat(
        flat,
        buffer.pieces.map(({ slot }) => ({ shape: slot.entry.variable.shape, perm: paramPerm(slot.entry) })),
      );
      buffer.pieces.forEach(({ slot }, i) => slot.entry.variable.assign(weights[i]));
      tf.dispose(weights);
      return [buffer, flat];
    }),
  );
  const xA = b.input('x_a', size.a) as tf.Tensor4D;
  const xB = b.input('x_b', size.b) as tf.Tensor4D;
  const styleDim = shadow.settings.gen.style_dim;
  const sA = b.input('s_a', [size.a[0], styleDim]) as tf.Tensor2D;
  const sB = b.input('s_b', [size.b[0], styleDim]) as tf.Tensor2D;
  let grads: tf.Tensor[];
  if (group === 'dis') {
    const ganW = b.input('gan_w', []) as tf.Scalar;
    const {
      terms: [lossA, lossB],
      value,
      grads: disGrads,
    } = shadow.disLosses(xA, xB, sA, sB, ganW);
    for (const [name, t] of [
      ['loss_dis_a', lossA],
      ['loss_dis_b', lossB],
      ['loss_dis_total', value],
    ] as const)
      b.output(name, t);
    tf.dispose([lossA, lossB]);
    grads = disGrads;
  } else {
    const weights = Object.fromEntries(LOSS_WEIGHT_KEYS.map((k) => [k, b.input(k, []) as tf.Scalar])) as LossWeights;
    const { named, grads: genGrads } = shadow.genLosses(xA, xB, sA, sB, weights, terms);
    for (const [name, t] of Object.entries(named)) b.output(name, t);
    tf.dispose(Object.values(named));
    grads = genGrads;
  }
  // Adam on each of the group's buffers, its gradients laid out as the buffer is.
  const gradOf = new Map(slotsOf(shadow, group).map((slot, i) => [slot.entry, grads[i]]));
  const settings = (group === 'gen' ? shadow.genOpt : shadow.disOpt).settings;
  const stepSize = b.input('step_size', []) as tf.Scalar;
  const sqrtBc2 = b.input('sqrt_bc2', []) as tf.Scalar;
  for (const buffer of buffers.filter((each) => each.group === group)) {
    const grad = b.concatFlat(buffer.pieces.map(({ slot }) => ({ t: gradOf.get(slot.entry)!, perm: paramPerm(slot.entry) })));
    const [expAvg, expAvgSq] = (['expAvg', 'expAvgSq'] as const).map((kind) => b.input(stateName(kind, buffer), [buffer.size], [0]));
    const next = adamUpdate({ param: params.get(buffer)!, grad, expAvg, expAvgSq }, settings, stepSize, sqrtBc2);
    for (const kind of STATE_KINDS) b.output(`new:${stateName(kind, buffer)}`, next[kind], [0]);
  }
}

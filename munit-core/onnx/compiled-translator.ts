// Translation as compiled graphs on onnxruntime: translateWithStyles and the style encoder, traced once per image
// shape and style count, with the generators' weights as graph inputs.
import * as tf from '@tensorflow/tfjs-core';
import { inspectableOutputs } from '../inspect/activations.js';
import { NodeSpec, runNodes } from '../inspect/model-nodes.js';
import type { Domain } from '../inspect/types.js';
import { MsImageDis } from '../networks/discriminator.js';
import { AdaINGen } from '../networks/generator.js';
import { SampleInputs, SampleOutputs, sampleTranslations, translateWithStyles, Translator } from '../translate.js';
import { bindParams, CompiledFunction, paramFeed } from './compile.js';
import type { SessionOptions } from './session.js';
import { traceBackend } from './trace-backend.js';

/** Each graph holds an onnxruntime session and its arena: a hover, a folder of one size and a preview fit in four. */
const MAX_GRAPHS = 4;

/** The networks a graph reads weights from, by weight-name prefix. */
type Network = AdaINGen | MsImageDis;

interface Entry {
  compiled: Promise<CompiledFunction>;
  /** The last run on it: an evicted graph is released only after that. */
  last: Promise<unknown>;
}

export class CompiledTranslator implements Translator {
  readonly engine: string;
  private readonly graphs = new Map<string, Entry>();
  /** Weights in the graph layout, by the tfjs variable's data: a training update replaces the data, so the key changes. */
  private readonly feeds = new WeakMap<object, Float32Array>();

  constructor(private readonly options: SessionOptions) {
    this.engine = `onnxruntime ${options.provider}`;
  }

  async translate(source: AdaINGen, target: AdaINGen, x: tf.Tensor4D, styles: tf.Tensor2D): Promise<tf.Tensor4D> {
    const out = await this.run(['translate', x.shape, styles.shape], { 'source.': source, 'target.': target }, { x, styles }, (g, t) => ({
      y: translateWithStyles(g['source.'], g['target.'], t.x as tf.Tensor4D, t.styles as tf.Tensor2D),
    }));
    return out.y as tf.Tensor4D;
  }

  async encodeStyle(gen: AdaINGen, x: tf.Tensor4D): Promise<tf.Tensor2D> {
    const out = await this.run(['style', x.shape], { 'gen.': gen }, { x }, (g, t) => ({ y: g['gen.'].encodeStyle(t.x as tf.Tensor4D) }));
    return out.y as tf.Tensor2D;
  }

  async samples(genA: AdaINGen, genB: AdaINGen, x: SampleInputs): Promise<SampleOutputs> {
    const shapes = Object.values(x).map((t) => t.shape);
    const inputs = x as unknown as Record<string, tf.Tensor>;
    return (await this.run(['samples', shapes], { 'gen_a.': genA, 'gen_b.': genB }, inputs, (g, t) =>
      sampleTranslations(g['gen_a.'], g['gen_b.'], t as unknown as SampleInputs),
    )) as SampleOutputs;
  }

  /**
   * One graph per image shape and network gives every inspectable output of that network (inspectableOutputs), so
   * asking for another node traces nothing; only the outputs asked for become tensors.
   */
  async nodeOutputs(gen: AdaINGen, dis: MsImageDis, domain: Domain, keys: string[], image: tf.Tensor4D, style?: tf.Tensor2D): Promise<tf.Tensor[]> {
    const onDis = (spec: NodeSpec) => spec.source.from === 'discriminate';
    const asked = inspectableOutputs(gen, dis, domain);
    const parts = new Set(keys.map((k) => (onDis(asked.get(k)!) ? 'dis' : 'gen')));
    const tensors: Record<string, tf.Tensor> = style && parts.has('gen') ? { image, style } : { image };
    const nets = { ...(parts.has('gen') ? { 'gen.': gen } : {}), ...(parts.has('dis') ? { 'dis.': dis } : {}) };
    const out = await this.run(
      ['nodes', domain, [...parts].sort(), image.shape, tensors.style ? tensors.style.shape : 'own style'],
      nets,
      tensors,
      (fresh, t) => {
        // Fresh networks of the parts not asked for are never run; the graph reads none of their weights.
        const [g, d] = [(fresh['gen.'] as AdaINGen | undefined) ?? gen, (fresh['dis.'] as MsImageDis | undefined) ?? dis];
        const outputs = [...inspectableOutputs(g, d, domain)].filter(([, spec]) => parts.has(onDis(spec) ? 'dis' : 'gen'));
        const keyOf = new Map(outputs.map(([key, spec]) => [spec, key]));
        const captured: Record<string, tf.Tensor> = {};
        runNodes(
          g,
          d,
          outputs.map(([, spec]) => spec),
          t.image as tf.Tensor4D,
          t.style as tf.Tensor2D | undefined,
          (spec, o) => (captured[keyOf.get(spec)!] = tf.keep(o)),
        );
        return captured;
      },
      keys,
    );
    return keys.map((k) => out[k]);
  }

  /** Nodes of the graphs built so far (the benchmark prints it). */
  async nodeCount(): Promise<number> {
    const graphs = await Promise.all([...this.graphs.values()].map((e) => e.compiled));
    return graphs.reduce((sum, g) => sum + g.graph.nodeCount, 0);
  }

  dispose(): void {
    for (const key of [...this.graphs.keys()]) this.evict(key);
  }

  /**
   * Runs `fn` on `tensors` and the networks `gens` (by weight-name prefix) as a graph, traced on first use for this
   * `what` (shapes) and these architectures. While tracing, `fn` gets fresh networks of the same architectures
   * whose weights are graph inputs: the one definition of the model. Only the `wanted` outputs (default all) come
   * back as tensors.
   */
  private async run<N extends Record<string, Network>>(
    what: unknown[],
    gens: N,
    tensors: Record<string, tf.Tensor>,
    fn: (gens: N, tensors: Record<string, tf.Tensor>) => Record<string, tf.Tensor>,
    wanted?: readonly string[],
  ): Promise<Record<string, tf.Tensor>> {
    const key = JSON.stringify([...what, Object.entries(gens).map(([prefix, g]) => [prefix, g.inputDim, g.options])]);
    let entry = this.graphs.get(key);
    if (entry) this.graphs.delete(key); // re-inserted below: the map's order is least recently used first
    entry ??= {
      compiled: CompiledFunction.create(
        Object.entries(tensors).map(([name, t]) => ({ name, shape: t.shape })),
        (inputs) => {
          const fresh = Object.fromEntries(
            Object.entries(gens).map(([prefix, g]) => [
              prefix,
              g instanceof MsImageDis ? new MsImageDis(g.inputDim, g.options) : new AdaINGen(g.inputDim, g.options),
            ]),
          ) as N;
          try {
            for (const [prefix, g] of Object.entries(fresh)) bindParams(traceBackend(), g.params, prefix);
            return fn(fresh, inputs);
          } finally {
            for (const g of Object.values(fresh)) g.dispose();
          }
        },
        this.options,
      ),
      last: Promise.resolve(),
    };
    this.graphs.set(key, entry);
    while (this.graphs.size > MAX_GRAPHS) this.evict(this.graphs.keys().next().value!);
    const result = entry.compiled.then((compiled) => compiled.run(this.feedsOf(tensors, gens), wanted));
    entry.last = result.catch(() => undefined);
    return result;
  }

  private evict(key: string): void {
    const entry = this.graphs.get(key)!;
    this.graphs.delete(key);
    void entry.last
      .then(() => entry.compiled)
      .then(
        (compiled) => compiled.dispose(),
        () => undefined,
      );
  }

  /** The feeds: `tensors` by name, and each weight `<prefix><state-dict name>` of the generator with that prefix. */
  private feedsOf(tensors: Record<string, tf.Tensor>, gens: Record<string, Network>): (name: string) => tf.Tensor | Float32Array | undefined {
    return (name) => {
      if (tensors[name]) return tensors[name];
      const prefix = name.slice(0, name.indexOf('.') + 1);
      const entry = gens[prefix]?.params.entries.get(name.slice(prefix.length));
      if (!entry) return undefined;
      let feed = this.feeds.get(entry.variable.dataId);
      if (!feed) this.feeds.set(entry.variable.dataId, (feed = paramFeed(entry)));
      return feed;
    };
  }
}

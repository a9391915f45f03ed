// Translation as compiled graphs on onnxruntime: translateWithStyles and the style encoder, traced once per image
// shape and style count, with the generators' weights as graph inputs.
import * as tf from '@tensorflow/tfjs-core';
import { AdaINGen } from '../networks/generator.js';
import { translateWithStyles, Translator } from '../translate.js';
import { bindParams, CompiledFunction, InputSpec, paramFeed } from './compile.js';
import type { SessionOptions } from './session.js';
import { traceBackend } from './trace-backend.js';

/** Each graph holds an onnxruntime session and its arena: a hover, a folder of one size and a preview fit in four. */
const MAX_GRAPHS = 4;

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

  translate(source: AdaINGen, target: AdaINGen, x: tf.Tensor4D, styles: tf.Tensor2D): Promise<tf.Tensor4D> {
    const inputs = [
      { name: 'x', shape: x.shape },
      { name: 'styles', shape: styles.shape },
    ];
    const key = JSON.stringify(['translate', x.shape, styles.shape, [source.inputDim, source.options], [target.inputDim, target.options]]);
    return this.run(
      key,
      inputs,
      (tensors) => {
        // Fresh generators of the same architecture, weights bound to graph inputs: the one definition of the model.
        const [s, t] = [new AdaINGen(source.inputDim, source.options), new AdaINGen(target.inputDim, target.options)];
        try {
          bindParams(traceBackend(), s.params, 'source.');
          bindParams(traceBackend(), t.params, 'target.');
          return translateWithStyles(s, t, tensors.x as tf.Tensor4D, tensors.styles as tf.Tensor2D);
        } finally {
          s.dispose();
          t.dispose();
        }
      },
      this.feedsOf({ x, styles }, { 'source.': source, 'target.': target }),
    ) as Promise<tf.Tensor4D>;
  }

  encodeStyle(gen: AdaINGen, x: tf.Tensor4D): Promise<tf.Tensor2D> {
    const key = JSON.stringify(['style', x.shape, gen.inputDim, gen.options]);
    return this.run(
      key,
      [{ name: 'x', shape: x.shape }],
      (tensors) => {
        const g = new AdaINGen(gen.inputDim, gen.options);
        try {
          bindParams(traceBackend(), g.params, 'gen.');
          return g.encodeStyle(tensors.x as tf.Tensor4D);
        } finally {
          g.dispose();
        }
      },
      this.feedsOf({ x }, { 'gen.': gen }),
    ) as Promise<tf.Tensor2D>;
  }

  /** Nodes of the graphs built so far (the benchmark prints it). */
  async nodeCount(): Promise<number> {
    const graphs = await Promise.all([...this.graphs.values()].map((e) => e.compiled));
    return graphs.reduce((sum, g) => sum + g.graph.nodeCount, 0);
  }

  dispose(): void {
    for (const key of [...this.graphs.keys()]) this.evict(key);
  }

  /** Runs the graph for `key`, tracing `fn` first if needed (it builds its networks, and frees them). */
  private async run(
    key: string,
    inputs: InputSpec[],
    fn: (inputs: Record<string, tf.Tensor>) => tf.Tensor,
    feeds: (name: string) => tf.Tensor | Float32Array | undefined,
  ): Promise<tf.Tensor> {
    let entry = this.graphs.get(key);
    if (entry) this.graphs.delete(key); // re-inserted below: the map's order is least recently used first
    entry ??= {
      compiled: CompiledFunction.create(inputs, (tensors) => ({ y: fn(tensors) }), this.options),
      last: Promise.resolve(),
    };
    this.graphs.set(key, entry);
    while (this.graphs.size > MAX_GRAPHS) this.evict(this.graphs.keys().next().value!);
    const result = entry.compiled.then((compiled) => compiled.run(feeds));
    entry.last = result.catch(() => undefined);
    return (await result).y;
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
  private feedsOf(tensors: Record<string, tf.Tensor>, gens: Record<string, AdaINGen>): (name: string) => tf.Tensor | Float32Array | undefined {
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

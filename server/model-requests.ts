// The engine's answers about a model: translate, architecture, activations, and the preview of an edited config.
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigDiagnostic, ConfigError, DataSplit, formatDiagnostic, MunitConfig, parseConfig } from '../munit-core/config/config.js';
import { loadImageFile } from '../munit-core/data/image-file.js';
import { architectureGraph } from '../munit-core/inspect/architecture.js';
import { nodeActivations } from '../munit-core/inspect/activations.js';
import { Rng } from '../munit-core/random.js';
import { encodePng, renderGrid } from '../munit-core/samples.js';
import { chooseEngine, startTranslator } from '../munit-core/onnx/engine-choice.js';
import type { Translator } from '../munit-core/translate.js';
import { loadTestImage } from '../munit-core/translate-files.js';
import { checkConfigData, workspaceImages } from './confine.js';
import type { Model } from './model-host.js';
import type * as P from './protocol.js';
import type { PathGuard } from './workspace.js';

const PREVIEW_IMAGES = 4;
const PREVIEW_STYLES = 3;

/** Translations (hovers, the tuning panel, the config preview) run on the engine training would choose. */
let translator: Promise<Translator> | undefined;
function engineTranslator(): Promise<Translator> {
  return (translator ??= chooseEngine().then(startTranslator));
}

function domainNets(model: Model, domain: P.Domain) {
  return domain === 'a'
    ? { gen: model.genA, dis: model.disA, dim: model.config.input_dim_a }
    : { gen: model.genB, dis: model.disB, dim: model.config.input_dim_b };
}

/** Graphs by architecture: shapes and parameter counts do not depend on the weights, and building one runs a forward
 * pass (seconds at 256x256 with the reference widths). */
const graphs = new Map<string, P.ArchitectureGraph>();

export function architecture(model: Model, params: P.ArchitectureParams): P.ArchitectureResult {
  const domain = params.domain ?? 'a';
  const { gen, dis, dim } = domainNets(model, domain);
  const inputShape: [number, number, number] = [dim, model.config.crop_image_height, model.config.crop_image_width];
  const key = JSON.stringify([domain, inputShape, model.config.gen, model.config.dis]);
  let graph = graphs.get(key);
  if (!graph) graphs.set(key, (graph = architectureGraph(gen, dis, domain, inputShape)));
  return { graph, origin: model.origin };
}

export async function translate(model: Model, params: P.TranslateParams): Promise<P.TranslateResult> {
  const [from, to]: [P.Domain, P.Domain] = params.direction === 'a2b' ? ['a', 'b'] : ['b', 'a'];
  const source = domainNets(model, from);
  const target = domainNets(model, to);
  const x = await loadTestImage(params.image, source.dim, model.config.new_size);
  const tensors: tf.Tensor[] = [x];
  try {
    let styles: tf.Tensor2D;
    const style = params.style;
    if (style.kind === 'vector') {
      if (style.values.length !== target.gen.styleDim || !style.values.every(Number.isFinite)) {
        throw new Error(`the style vector needs ${target.gen.styleDim} finite numbers (style_dim), got ${style.values.length}`);
      }
      styles = tf.tensor2d(style.values, [1, style.values.length]);
    } else if (style.kind === 'example') {
      const example = await loadTestImage(style.image, target.dim, model.config.new_size);
      try {
        styles = await (await engineTranslator()).encodeStyle(target.gen, example);
      } finally {
        example.dispose();
      }
    } else {
      if (!Number.isInteger(style.count) || style.count < 1 || style.count > 64)
        throw new Error(`style.count must be an integer from 1 to 64, got ${style.count}`);
      styles = new Rng(style.seed ?? Date.now() >>> 0).normal([style.count, target.gen.styleDim]) as tf.Tensor2D;
    }
    tensors.push(styles);
    const out = await (await engineTranslator()).translate(source.gen, target.gen, x, styles);
    tensors.push(out);
    const images = tf.unstack(out) as tf.Tensor3D[];
    const input = tf.squeeze(x, [0]) as tf.Tensor3D;
    tensors.push(...images, input);
    const styleValues = (await styles.array()) as number[][];
    const outputs = await Promise.all(images.map(async (image, i) => ({ png: (await encodePng(image)).toString('base64'), style: styleValues[i] })));
    return { origin: model.origin, input: (await encodePng(input)).toString('base64'), outputs, styleDim: target.gen.styleDim };
  } finally {
    tf.dispose(tensors);
  }
}

export async function activations(model: Model, params: P.ActivationsParams): Promise<P.ActivationsResult> {
  const domain = params.domain ?? 'a';
  const { gen, dis, dim } = domainNets(model, domain);
  const x = await loadTestImage(params.image, dim, model.config.new_size);
  const style = params.style ? tf.tensor2d(params.style, [1, params.style.length]) : undefined;
  try {
    if (style && params.style!.length !== gen.styleDim)
      throw new Error(`the style vector needs ${gen.styleDim} numbers (style_dim), got ${params.style!.length}`);
    return {
      origin: model.origin,
      activations: await nodeActivations(gen, dis, domain, params.nodeId, x, style, async (...args) => (await engineTranslator()).nodeOutputs(...args)),
    };
  } finally {
    tf.dispose([x, ...(style ? [style] : [])]);
  }
}

/**
 * What the edited text produces. Inference settings (new_size, style sampling) apply to the current weights at once;
 * data settings show as the training pipeline's crops of the first images.
 */
export async function configPreview(model: Model | undefined, params: P.ConfigPreviewParams, guard: PathGuard): Promise<P.ConfigPreviewResult> {
  const { config, diagnostics } = parseConfig(params.text, params.configPath);
  const errors = diagnostics.filter((d: ConfigDiagnostic) => d.severity === 'error');
  const name = path.basename(params.configPath);
  const problems = errors.map((d) => formatDiagnostic(d, name));
  const result: P.ConfigPreviewResult = { problems, translations: [], data: [] };
  if (errors.length > 0) return result;
  try {
    checkConfigData(config, params.configPath, guard);
  } catch (err) {
    problems.push(...(err instanceof ConfigError ? err.diagnostics.map((d) => formatDiagnostic(d, name)) : [(err as Error).message]));
    return result;
  }
  const configDir = path.dirname(params.configPath);
  try {
    result.data = await dataPreview(config, configDir, guard);
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (model) {
    result.origin = model.origin;
    try {
      result.translations = await translationPreview(model, config, configDir, guard);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return result;
}

function firstImages(config: MunitConfig, configDir: string, split: DataSplit, guard: PathGuard): string[] {
  return workspaceImages(config, configDir, guard, [split], PREVIEW_IMAGES)[split];
}

async function dataPreview(config: MunitConfig, configDir: string, guard: PathGuard): Promise<{ label: string; png: string }[]> {
  const rng = new Rng(0);
  const out: { label: string; png: string }[] = [];
  for (const split of ['train_a', 'train_b'] as const) {
    const channels = split === 'train_a' ? config.input_dim_a : config.input_dim_b;
    const files = firstImages(config, configDir, split, guard);
    const shape: [number, number, number, number] = [files.length, config.crop_image_height, config.crop_image_width, channels];
    const data = new Float32Array(shape.reduce((a, b) => a * b));
    for (const [i, file] of files.entries()) {
      const transform = {
        channels,
        newSize: config.new_size,
        cropHeight: shape[1],
        cropWidth: shape[2],
        flip: rng.next() < 0.5,
        cropY: rng.next(),
        cropX: rng.next(),
      };
      data.set(await loadImageFile(file, transform), i * shape[1] * shape[2] * channels);
    }
    const images = tf.tensor4d(data, shape);
    try {
      const title = `${split}: new_size ${config.new_size}, crop ${shape[1]}x${shape[2]}, random flips and crops`;
      out.push({ label: split, png: (await renderGrid([{ label: 'training input', images }], title)).toString('base64') });
    } finally {
      images.dispose();
    }
  }
  return out;
}

async function translationPreview(model: Model, edited: MunitConfig, configDir: string, guard: PathGuard): Promise<{ label: string; png: string }[]> {
  const out: { label: string; png: string }[] = [];
  for (const direction of ['a2b', 'b2a'] as const) {
    const [from, to]: [P.Domain, P.Domain] = direction === 'a2b' ? ['a', 'b'] : ['b', 'a'];
    const source = domainNets(model, from);
    const target = domainNets(model, to);
    const files = firstImages(edited, configDir, direction === 'a2b' ? 'test_a' : 'test_b', guard).slice(0, 1);
    const x = await loadTestImage(files[0], source.dim, edited.new_size);
    const styles = new Rng(0).normal([PREVIEW_STYLES, target.gen.styleDim]) as tf.Tensor2D;
    let out4: tf.Tensor4D | undefined;
    try {
      out4 = await (await engineTranslator()).translate(source.gen, target.gen, x, styles);
      const title = `${direction === 'a2b' ? 'A→B' : 'B→A'} at new_size ${edited.new_size}, ${model.origin.kind} weights (iteration ${model.origin.iteration})`;
      const png = await renderGrid(
        [
          { label: 'input', images: x },
          { label: `${PREVIEW_STYLES} random styles`, images: out4 },
        ],
        title,
      );
      out.push({ label: `${direction} ${path.basename(files[0])}`, png: png.toString('base64') });
    } finally {
      tf.dispose([x, styles, ...(out4 ? [out4] : [])]);
    }
  }
  return out;
}

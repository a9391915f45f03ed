// `munit translate`: image files in, translated image files out, with a saved checkpoint's generators.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { checkpointFile, completeCheckpoints, loadGenerators, makeOutputFolder, writeFileAtomic } from './checkpoint.js';
import { IMAGE_EXTENSIONS, MunitConfig } from './config/config.js';
import { decodeImageFile, resizedSize, transformImage } from './data/image-file.js';
import { listImageFolder } from './data/dataset.js';
import { AdaINGen } from './networks/generator.js';
import { Rng } from './random.js';
import { CHECKPOINTS_FOLDER } from './run-folder.js';
import { encodePng } from './samples.js';
import { loadTorchGenerators } from './torch/import-run.js';
import { chooseEngine, startTranslator } from './onnx/engine-choice.js';
import type { Translator } from './translate.js';

export interface TranslateFilesOptions {
  config: MunitConfig;
  /** A gen_*.safetensors or reference gen_*.pt file, a checkpoints folder or a run folder (the newest checkpoint is used). */
  checkpoint: string;
  /** An image file or a folder of images. */
  input: string;
  direction: 'a2b' | 'b2a';
  numStyles: number;
  seed: number;
  /** Example-guided: take the style from this image of the target domain (numStyles is then 1). */
  styleImage?: string;
  /** The same style codes for every input (otherwise each input draws its own). */
  synchronized: boolean;
  outputFolder: string;
  /** The engine that runs the generators; default: the chosen engine's (onnx/engine-choice.ts), for this call. */
  translator?: Translator;
  onProgress?: (done: number, total: number) => void;
  /** Told about entries of an input folder that are left out (symbolic link loops, unreachable links). */
  onWarning?: (message: string) => void;
}

/** Resolves `--checkpoint` to a generator file. */
export function findGeneratorFile(checkpoint: string): string {
  if (!fs.existsSync(checkpoint)) throw new Error(`checkpoint ${checkpoint} does not exist`);
  if (fs.statSync(checkpoint).isFile()) return checkpoint;
  for (const dir of [checkpoint, path.join(checkpoint, CHECKPOINTS_FOLDER)]) {
    const its = completeCheckpoints(dir);
    if (its.length) return checkpointFile(dir, 'gen', its.at(-1)!);
  }
  throw new Error(`no complete checkpoint in ${checkpoint} (expected gen_/dis_/optimizer_NNNNNNNN.safetensors files)`);
}

/** The reference's test transform: resize the shorter side to new_size, no crop, no flip. */
export async function loadTestImage(file: string, channels: 1 | 3, newSize: number): Promise<tf.Tensor4D> {
  const image = await decodeImageFile(file, channels);
  const { width, height } = resizedSize(image.width, image.height, newSize);
  const data = await transformImage(image, { channels, newSize, cropHeight: height, cropWidth: width, flip: false, cropY: 0, cropX: 0 }, file);
  return tf.tensor4d(data, [1, height, width, channels]);
}

async function writePng(image: tf.Tensor3D, file: string): Promise<void> {
  writeFileAtomic(file, await encodePng(image));
}

function inputFiles(input: string, onWarning?: (message: string) => void): string[] {
  if (!fs.existsSync(input)) throw new Error(`--input ${input} does not exist`);
  if (fs.statSync(input).isFile()) return [input];
  const files = listImageFolder(input, '--input', onWarning);
  if (files.length === 0) throw new Error(`--input ${input} holds no images (${IMAGE_EXTENSIONS.join(', ')})`);
  return files;
}

/** Translates every input; writes `<stem>_style_<k>.png` (and `<stem>_input.png`) into the output folder. */
export async function translateFiles(o: TranslateFilesOptions): Promise<string[]> {
  const files = inputFiles(o.input, o.onWarning);
  const genFile = findGeneratorFile(o.checkpoint);
  const gens = { a: new AdaINGen(o.config.input_dim_a, o.config.gen), b: new AdaINGen(o.config.input_dim_b, o.config.gen) };
  const written: string[] = [];
  const translator = o.translator ?? startTranslator(await chooseEngine());
  let styles: tf.Tensor2D | undefined;
  try {
    // A reference gen_*.pt (PyTorch) works as well as our safetensors.
    (genFile.endsWith('.pt') ? loadTorchGenerators : loadGenerators)({ genA: gens.a, genB: gens.b }, genFile);
    const [source, target] = o.direction === 'a2b' ? [gens.a, gens.b] : [gens.b, gens.a];
    const [sourceDim, targetDim] = o.direction === 'a2b' ? [o.config.input_dim_a, o.config.input_dim_b] : [o.config.input_dim_b, o.config.input_dim_a];
    const rng = new Rng(o.seed);
    if (o.styleImage) {
      const example = await loadTestImage(o.styleImage, targetDim, o.config.new_size);
      try {
        styles = await translator.encodeStyle(target, example);
      } finally {
        example.dispose();
      }
    } else if (o.synchronized) {
      styles = rng.normal([o.numStyles, target.styleDim]) as tf.Tensor2D;
    }
    makeOutputFolder(o.outputFolder);
    for (const [i, file] of files.entries()) {
      const x = await loadTestImage(file, sourceDim, o.config.new_size);
      const own = styles ?? (rng.normal([o.numStyles, target.styleDim]) as tf.Tensor2D);
      const out = await translator.translate(source, target, x, own);
      const stem = path.basename(file).replace(/\.[^.]+$/, '');
      const outputs = tf.unstack(out) as tf.Tensor3D[];
      const input = tf.squeeze(x, [0]) as tf.Tensor3D;
      try {
        const inputFile = path.join(o.outputFolder, `${stem}_input.png`);
        await writePng(input, inputFile);
        written.push(inputFile);
        for (const [k, image] of outputs.entries()) {
          const outFile = path.join(o.outputFolder, `${stem}_style_${String(k).padStart(2, '0')}.png`);
          await writePng(image, outFile);
          written.push(outFile);
        }
      } finally {
        tf.dispose([x, out, input, ...outputs]);
        if (own !== styles) own.dispose();
      }
      o.onProgress?.(i + 1, files.length);
    }
  } finally {
    styles?.dispose();
    if (translator !== o.translator) translator.dispose();
    gens.a.dispose();
    gens.b.dispose();
  }
  return written;
}

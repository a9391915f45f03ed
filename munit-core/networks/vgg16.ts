// VGG-16 up to relu5_3 for the domain-invariant perceptual loss (vgg_w > 0), with weights the user supplies.
import * as tf from '@tensorflow/tfjs-core';
import { readSafetensors, TensorMap } from '../safetensors.js';

/** [name, in, out] in order; a max pool follows the last conv of each of the first four stages. */
export const VGG16_LAYERS: readonly (readonly [string, number, number])[] = [
  ['conv1_1', 3, 64],
  ['conv1_2', 64, 64],
  ['conv2_1', 64, 128],
  ['conv2_2', 128, 128],
  ['conv3_1', 128, 256],
  ['conv3_2', 256, 256],
  ['conv3_3', 256, 256],
  ['conv4_1', 256, 512],
  ['conv4_2', 512, 512],
  ['conv4_3', 512, 512],
  ['conv5_1', 512, 512],
  ['conv5_2', 512, 512],
  ['conv5_3', 512, 512],
];
const POOL_AFTER = new Set(['conv1_2', 'conv2_2', 'conv3_3', 'conv4_3']);
/** torchvision's vgg16().features indices of the same convolutions. */
const TORCHVISION_INDEX = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28];
const BGR_MEAN = [103.939, 116.779, 123.68];

/** One convolution of VGG-16: weight [3, 3, in, out] (tfjs' layout) and bias [out]. */
export interface VggLayer {
  name: string;
  w: tf.Tensor4D;
  b: tf.Tensor1D;
}

export class Vgg16 {
  /** The thirteen convolutions in order (the compiled engine feeds them as graph inputs). */
  constructor(readonly layers: readonly VggLayer[]) {}

  static load(file: string): Vgg16 {
    return Vgg16.fromTensors(readSafetensors(file).tensors, file);
  }

  /**
   * From either the reference's Vgg16 names (`conv1_1.weight`, ...) or torchvision's (`features.0.weight`, ...),
   * PyTorch layout [out, in, 3, 3].
   */
  static fromTensors(tensors: TensorMap, source: string): Vgg16 {
    return new Vgg16(
      VGG16_LAYERS.map(([name, inDim, outDim], i) => {
        const keys = [name, `features.${TORCHVISION_INDEX[i]}`];
        const key = keys.find((k) => tensors.has(`${k}.weight`));
        if (!key) throw new Error(`${source}: VGG-16 weight '${name}.weight' (or 'features.${TORCHVISION_INDEX[i]}.weight') is missing`);
        const w = tensors.get(`${key}.weight`)!;
        const b = tensors.get(`${key}.bias`);
        if (w.shape.join() !== [outDim, inDim, 3, 3].join() || !b || b.shape.join() !== String(outDim)) {
          throw new Error(`${source}: '${key}' must be weight [${outDim}, ${inDim}, 3, 3] and bias [${outDim}], got [${w.shape}] and [${b?.shape ?? 'none'}]`);
        }
        const weight = tf.tidy(() => tf.transpose(tf.tensor4d(w.data, [outDim, inDim, 3, 3]), [2, 3, 1, 0]) as tf.Tensor4D);
        return { w: weight, b: tf.tensor1d(b.data), name };
      }),
    );
  }

  /** relu5_3 of images in [-1, 1] (RGB), after the reference's vgg_preprocess (BGR, [0, 255], mean subtracted). */
  features(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [r, g, b] = tf.split(x, 3, 3);
      const bgr = tf.mul(tf.add(tf.concat([b, g, r], 3), 1), 127.5);
      let h = tf.sub(bgr, tf.tensor1d(BGR_MEAN)) as tf.Tensor4D;
      for (const { w, b: bias, name } of this.layers) {
        h = tf.relu(tf.add(tf.conv2d(h, w, 1, 'same'), bias)) as tf.Tensor4D;
        if (POOL_AFTER.has(name)) h = tf.maxPool(h, 2, 2, 'valid');
      }
      return h;
    });
  }

  dispose(): void {
    for (const { w, b } of this.layers) tf.dispose([w, b]);
  }
}

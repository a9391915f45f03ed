// A small synthetic two-domain dataset, drawn from SVG with sharp, so MUNIT can be tried without downloading anything.
// Domain A: black outlines of one shape on white (the "edges" of edges2shoes). Domain B: the same family of shapes,
// filled, with a style that varies independently of the shape: fill hue over the whole circle, texture (solid,
// stripes at any angle, dots, two-colour gradient) and a tinted background. B is genuinely multimodal given A, which is
// what MUNIT's style code is for. The domains are unpaired: each is drawn from its own random stream.
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { Rng } from '../random.js';

/**
 * 32 pixels: MUNIT costs grow with the pixel count, so 32x32 trains about 4x faster than 64x64 on a CPU, while one
 * shape with a 2-3 px outline, 3-6 px stripes or dots still reads clearly. It is also the smallest side that the demo
 * networks take comfortably (two 2x downsamplings leave an 8x8 content code; the style encoder needs 16).
 */
export const DEMO_IMAGE_SIZE = 32;
export const DEMO_TRAIN_COUNT = 1000;
export const DEMO_TEST_COUNT = 16;

export const DEMO_SHAPES = ['circle', 'ellipse', 'square', 'triangle', 'star', 'heart', 'cross'] as const;
export type DemoShape = (typeof DEMO_SHAPES)[number];
export const DEMO_TEXTURES = ['solid', 'stripes', 'dots', 'gradient'] as const;
export type DemoTexture = (typeof DEMO_TEXTURES)[number];
export type DemoFolder = 'trainA' | 'trainB' | 'testA' | 'testB';
const FOLDERS: readonly DemoFolder[] = ['trainA', 'trainB', 'testA', 'testB'];

export interface DemoDatasetOptions {
  /** Side of the square images (default 32). */
  size?: number;
  /** Training images per domain (default 1000). */
  count?: number;
  /** Test images per domain (default 16). */
  testCount?: number;
  seed?: number;
  /** Replace existing trainA ... testB folders (they are deleted first); otherwise non-empty ones are an error. */
  overwrite?: boolean;
}

/** What one image shows, for galleries and tests. `texture` is set for domain B only. */
export interface DemoImageInfo {
  file: string;
  shape: DemoShape;
  texture?: DemoTexture;
}

export interface DemoDatasetSummary {
  dir: string;
  size: number;
  images: Record<DemoFolder, DemoImageInfo[]>;
  seconds: number;
}

/** Writes dir/trainA, trainB, testA, testB as PNGs (A greyscale, B RGB). Deterministic for a seed. */
export async function generateDemoDataset(dir: string, opts: DemoDatasetOptions = {}): Promise<DemoDatasetSummary> {
  const started = performance.now();
  const { size = DEMO_IMAGE_SIZE, count = DEMO_TRAIN_COUNT, testCount = DEMO_TEST_COUNT, seed = 0 } = opts;
  if (!(Number.isInteger(size) && size >= 8)) throw new Error(`Demo image size must be an integer >= 8, got ${size}.`);
  const seeds = new Rng(seed);
  const jobs: { file: string; svg: string; grey: boolean }[] = [];
  const images = {} as Record<DemoFolder, DemoImageInfo[]>;
  for (const folder of FOLDERS) {
    const full = path.join(dir, folder);
    prepareFolder(full, opts.overwrite ?? false);
    const rng = new Rng(seeds.nextUint32()); // one stream per folder: the domains are unpaired
    const n = folder.startsWith('train') ? count : testCount;
    const domainA = folder.endsWith('A');
    images[folder] = [];
    for (let i = 0; i < n; i++) {
      const file = path.join(full, `${String(i).padStart(5, '0')}.png`);
      const shape = randomShape(rng, size);
      if (domainA) {
        jobs.push({ file, svg: outlineSvg(shape, size, uniform(rng, 2, 3)), grey: true });
        images[folder].push({ file, shape: shape.kind });
      } else {
        const style = randomStyle(rng);
        jobs.push({ file, svg: filledSvg(shape, style, size), grey: false });
        images[folder].push({ file, shape: shape.kind, texture: style.texture });
      }
    }
  }
  // sharp renders on libuv's thread pool; a few in flight keep it busy without queueing thousands of buffers.
  await runLimited(jobs, 8, async ({ file, svg, grey }) => {
    const image = sharp(Buffer.from(svg)).removeAlpha();
    await (grey ? image.toColourspace('b-w') : image).png().toFile(file);
  });
  return { dir, size, images, seconds: (performance.now() - started) / 1000 };
}

function prepareFolder(folder: string, overwrite: boolean): void {
  if (fs.existsSync(folder)) {
    if (overwrite) fs.rmSync(folder, { recursive: true, force: true });
    else if (fs.readdirSync(folder).length > 0) {
      throw new Error(`${folder} already holds files; choose an empty folder or pass overwrite to replace it.`);
    }
  }
  fs.mkdirSync(folder, { recursive: true });
}

// ---- shapes -----------------------------------------------------------------------------------------------------------

interface PlacedShape {
  kind: DemoShape;
  cx: number;
  cy: number;
  /** Radius of the shape's bounding circle, pixels. */
  r: number;
  /** Degrees. */
  rotation: number;
  /** Ellipse only: minor / major axis. */
  aspect: number;
}

function randomShape(rng: Rng, size: number): PlacedShape {
  const kind = DEMO_SHAPES[Math.floor(rng.next() * DEMO_SHAPES.length)];
  const r = size * uniform(rng, 0.26, 0.4);
  const margin = r + 1.5; // keep the whole outline inside the image
  return {
    kind,
    cx: uniform(rng, margin, size - margin),
    cy: uniform(rng, margin, size - margin),
    r,
    rotation: uniform(rng, 0, 360),
    aspect: uniform(rng, 0.45, 0.75),
  };
}

/** Polygon corners and heart curves in unit coordinates (bounding circle of radius 1, y down). */
function unitPath(kind: DemoShape): { points: [number, number][]; curves?: boolean } {
  const ring = (n: number, radius: (i: number) => number, start = -90) =>
    Array.from({ length: n }, (_, i): [number, number] => {
      const a = ((start + (360 * i) / n) * Math.PI) / 180;
      return [radius(i) * Math.cos(a), radius(i) * Math.sin(a)];
    });
  switch (kind) {
    case 'square':
      return { points: ring(4, () => 1, -45) };
    case 'triangle':
      return { points: ring(3, () => 1) };
    case 'star':
      return { points: ring(10, (i) => (i % 2 === 0 ? 1 : 0.45)) };
    case 'cross': {
      const w = 0.32;
      return {
        points: [
          [-w, -1],
          [w, -1],
          [w, -w],
          [1, -w],
          [1, w],
          [w, w],
          [w, 1],
          [-w, 1],
          [-w, w],
          [-1, w],
          [-1, -w],
          [-w, -w],
        ],
      };
    }
    case 'heart':
      // Start at the bottom tip, then cubic Béziers in threes (control, control, end) round both lobes.
      return {
        curves: true,
        points: [
          [0, 0.9],
          [-0.5, 0.45],
          [-1, 0.1],
          [-1, -0.35],
          [-1, -0.8],
          [-0.45, -1.05],
          [0, -0.55],
          [0.45, -1.05],
          [1, -0.8],
          [1, -0.35],
          [1, 0.1],
          [0.5, 0.45],
          [0, 0.9],
        ],
      };
    default:
      throw new Error(`not a path shape: ${kind}`);
  }
}

/** SVG element for the shape with the given presentation attributes (fill, stroke ...). */
function shapeElement(s: PlacedShape, attributes: string): string {
  if (s.kind === 'circle') return `<circle cx="${f(s.cx)}" cy="${f(s.cy)}" r="${f(s.r * 0.9)}" ${attributes}/>`;
  if (s.kind === 'ellipse') {
    const rotate = `rotate(${f(s.rotation)} ${f(s.cx)} ${f(s.cy)})`;
    return `<ellipse cx="${f(s.cx)}" cy="${f(s.cy)}" rx="${f(s.r)}" ry="${f(s.r * s.aspect)}" transform="${rotate}" ${attributes}/>`;
  }
  // Transform the points here rather than with an SVG scale(), which would scale the outline's width too.
  const { points, curves } = unitPath(s.kind);
  const a = (s.rotation * Math.PI) / 180;
  const [cos, sin] = [Math.cos(a), Math.sin(a)];
  const xy = points.map(([x, y]) => `${f(s.cx + s.r * (x * cos - y * sin))} ${f(s.cy + s.r * (x * sin + y * cos))}`);
  const d = curves ? `M${xy[0]} C${xy.slice(1).join(' ')} Z` : `M${xy.join(' L')} Z`;
  return `<path d="${d}" ${attributes}/>`;
}

function outlineSvg(s: PlacedShape, size: number, lineWidth: number): string {
  const stroke = `fill="none" stroke="#000" stroke-width="${f(lineWidth)}" stroke-linejoin="round"`;
  return svgDocument(size, '', `<rect width="100%" height="100%" fill="#fff"/>${shapeElement(s, stroke)}`);
}

// ---- styles -----------------------------------------------------------------------------------------------------------

interface Style {
  texture: DemoTexture;
  background: string;
  colour: string;
  second: string;
  /** Stripes/dots period in pixels, pattern or gradient angle in degrees. */
  period: number;
  angle: number;
  dotRadius: number;
}

function randomStyle(rng: Rng): Style {
  const texture = DEMO_TEXTURES[Math.floor(rng.next() * DEMO_TEXTURES.length)];
  const hue = uniform(rng, 0, 360);
  // Background: a light tint of any hue; fill: a saturated mid-to-dark colour, so the shape always stands out; second
  // colour (textures): a lighter, different hue.
  const background = hsl(uniform(rng, 0, 360), uniform(rng, 0, 0.5), uniform(rng, 0.8, 0.96));
  const colour = hsl(hue, uniform(rng, 0.55, 1), uniform(rng, 0.28, 0.55));
  const second = hsl(hue + uniform(rng, 60, 300), uniform(rng, 0.5, 1), uniform(rng, 0.6, 0.82));
  const period = uniform(rng, 3.5, 6);
  return { texture, background, colour, second, period, angle: uniform(rng, 0, 180), dotRadius: period * uniform(rng, 0.25, 0.38) };
}

function filledSvg(s: PlacedShape, style: Style, size: number): string {
  const { texture, colour, second, period: p, angle } = style;
  let defs = '';
  let fill = colour;
  if (texture === 'stripes') {
    defs =
      `<pattern id="t" patternUnits="userSpaceOnUse" width="${f(p)}" height="${f(p)}" patternTransform="rotate(${f(angle)})">` +
      `<rect width="${f(p)}" height="${f(p)}" fill="${colour}"/><rect width="${f(p / 2)}" height="${f(p)}" fill="${second}"/></pattern>`;
    fill = 'url(#t)';
  } else if (texture === 'dots') {
    defs =
      `<pattern id="t" patternUnits="userSpaceOnUse" width="${f(p)}" height="${f(p)}" patternTransform="rotate(${f(angle)})">` +
      `<rect width="${f(p)}" height="${f(p)}" fill="${colour}"/><circle cx="${f(p / 2)}" cy="${f(p / 2)}" r="${f(style.dotRadius)}" fill="${second}"/></pattern>`;
    fill = 'url(#t)';
  } else if (texture === 'gradient') {
    const a = (angle * 2 * Math.PI) / 180; // gradients may point any way round the circle
    const [dx, dy] = [Math.cos(a) / 2, Math.sin(a) / 2];
    defs =
      `<linearGradient id="t" x1="${f(0.5 - dx)}" y1="${f(0.5 - dy)}" x2="${f(0.5 + dx)}" y2="${f(0.5 + dy)}">` +
      `<stop offset="0" stop-color="${colour}"/><stop offset="1" stop-color="${second}"/></linearGradient>`;
    fill = 'url(#t)';
  }
  const body = `<rect width="100%" height="100%" fill="${style.background}"/>${shapeElement(s, `fill="${fill}"`)}`;
  return svgDocument(size, defs, body);
}

function svgDocument(size: number, defs: string, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}">` +
    `${defs ? `<defs>${defs}</defs>` : ''}${body}</svg>`
  );
}

/** CSS HSL (hue in degrees, s and l in [0, 1]) as #rrggbb; librsvg reads hex everywhere. */
function hsl(hue: number, s: number, l: number): string {
  const h = (((hue % 360) + 360) % 360) / 30;
  const a = s * Math.min(l, 1 - l);
  const channel = (n: number) => {
    const k = (n + h) % 12;
    const v = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(v * 255)
      .toString(16)
      .padStart(2, '0');
  };
  return `#${channel(0)}${channel(8)}${channel(4)}`;
}

// ---- helpers ----------------------------------------------------------------------------------------------------------

function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng.next();
}

/** Two decimals: enough for anti-aliasing, and the SVG text (hence the PNG) depends only on the seed. */
function f(x: number): string {
  return x.toFixed(2);
}

async function runLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * A config for the demo dataset: the reference's keys and comments, with small networks so training runs on a CPU.
 * Domain A has one channel (its images are grey outlines). `dataRoot` is written as given (relative paths are looked
 * up from the working directory, then from the config's folder).
 */
export function demoConfigYaml(dataRoot: string, size: number = DEMO_IMAGE_SIZE): string {
  const root = /^[\w./-]+$/.test(dataRoot) ? dataRoot : JSON.stringify(dataRoot);
  const data = (key: string, value: string | number, comment: string) => `${key}: ${value}`.padEnd(29) + ` # ${comment}`;
  return `# MUNIT on the synthetic shapes dataset (munit-core/data/demo-dataset.ts):
# domain A = black outlines of a shape, domain B = the same kinds of shapes filled with random colours and textures.

# logger options
image_save_iter: 500          # How often do you want to save output images during training
image_display_iter: 100       # How often do you want to display output images during training
display_size: 8               # How many images do you want to display each time
snapshot_save_iter: 1000      # How often do you want to save trained models
log_iter: 10                  # How often do you want to log the training stats

# optimization options
max_iter: 20000               # maximum number of training iterations
batch_size: 1                 # batch size
weight_decay: 0.0001          # weight decay
beta1: 0.5                    # Adam parameter
beta2: 0.999                  # Adam parameter
init: kaiming                 # initialization [gaussian/kaiming/xavier/orthogonal]
lr: 0.0002                    # initial learning rate (twice the reference: the demo has 15 minutes)
lr_policy: step               # learning rate scheduler
step_size: 10000              # how often to decay learning rate
gamma: 0.5                    # how much to decay learning rate
gan_w: 1                      # weight of adversarial loss
recon_x_w: 10                 # weight of image reconstruction loss
recon_s_w: 1                  # weight of style reconstruction loss
recon_c_w: 1                  # weight of content reconstruction loss
recon_x_cyc_w: 0              # weight of explicit style augmented cycle consistency loss
vgg_w: 0                      # weight of domain-invariant perceptual loss

# model options
gen:
  dim: 16                     # number of filters in the bottommost layer
  mlp_dim: 64                 # number of filters in MLP
  style_dim: 8                # length of style code
  activ: relu                 # activation function [relu/lrelu/prelu/selu/tanh]
  n_downsample: 2             # number of downsampling layers in content encoder
  n_res: 2                    # number of residual blocks in content encoder/decoder
  pad_type: reflect           # padding type [zero/reflect]
dis:
  dim: 16                     # number of filters in the bottommost layer
  norm: none                  # normalization layer [none/bn/in/ln]
  activ: lrelu                # activation function [relu/lrelu/prelu/selu/tanh]
  n_layer: 3                  # number of layers in D
  gan_type: lsgan             # GAN loss [lsgan/nsgan]
  num_scales: 2               # number of scales
  pad_type: reflect           # padding type [zero/reflect]

# data options
input_dim_a: 1                # number of image channels [1/3] (the outlines are grey)
input_dim_b: 3                # number of image channels [1/3]
num_workers: 8                # number of data loading threads
${data('new_size', size, 'first resize the shortest image side to this size')}
${data('crop_image_height', size, 'random crop image of this height')}
${data('crop_image_width', size, 'random crop image of this width')}
${data('data_root', root, 'dataset folder location')}
`;
}

// Checks the replacement MirrorPad and Conv2D gradients on the wasm backend against a float64 reference
// written straight from the definitions (plain loops, no tfjs), for many shapes.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
// As in munit-core/backend.ts: tfjs-core's own gradients (Sum, Mul, ... and the ones replaced here).
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-wasm';
import { registerMirrorPadGradient, withMirrorPadGradientByMatMul } from '../../munit-core/kernels/mirror-pad-gradient.js';
import { convGradientOptions, registerFastConvGradients } from '../../munit-core/kernels/conv-gradients.js';
import { expectNoLeakedTensors, relErr } from './helpers.js';

// ------------------------------------------------------------------------------------------------------
// Helpers

/** Deterministic uniform [-1, 1) numbers (mulberry32), so failures reproduce. */
function randoms(count: number, seed: number): Float64Array {
  let a = seed >>> 0;
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function strides(shape: number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

const TOLERANCE = 1e-4;

/** Largest absolute difference relative to the largest absolute reference value (a tiny floor: the references are float64). */
const relativeError = (actual: ArrayLike<number>, expected: ArrayLike<number>) => relErr(actual, expected, 1e-12);

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  const err = relativeError(actual, expected);
  assert.ok(err <= TOLERANCE, `${what}: relative error ${err.toExponential(2)} > ${TOLERANCE}`);
}

// ------------------------------------------------------------------------------------------------------
// Float64 reference: mirror pad

type MirrorMode = 'reflect' | 'symmetric';

/** Input index that padded index j copies along an axis of length n padded by `before` in front. */
function mirrorSource(j: number, n: number, before: number, mode: MirrorMode): number {
  const edge = mode === 'reflect' ? 1 : 0;
  const i = j - before;
  if (i < 0) return -i - 1 + edge;
  if (i >= n) return 2 * n - 1 - i - edge;
  return i;
}

/** For every element of the padded tensor, the flat index of the input element it copies. */
function mirrorPadSources(shape: number[], paddings: [number, number][], mode: MirrorMode): Int32Array {
  const outShape = shape.map((d, a) => d + paddings[a][0] + paddings[a][1]);
  const inStrides = strides(shape);
  const outStrides = strides(outShape);
  const sources = new Int32Array(size(outShape));
  for (let flat = 0; flat < sources.length; flat++) {
    let src = 0;
    for (let a = 0; a < shape.length; a++) {
      const j = Math.floor(flat / outStrides[a]) % outShape[a];
      src += mirrorSource(j, shape[a], paddings[a][0], mode) * inStrides[a];
    }
    sources[flat] = src;
  }
  return sources;
}

/** Adjoint of mirror padding: every padded element's weight flows back to the input it copied. */
function mirrorPadAdjoint(g: ArrayLike<number>, sources: Int32Array, inSize: number): Float64Array {
  const dx = new Float64Array(inSize);
  for (let k = 0; k < sources.length; k++) dx[sources[k]] += g[k];
  return dx;
}

// ------------------------------------------------------------------------------------------------------
// Float64 reference: conv2d (NHWC, filter [Kh, Kw, Ci, Co])

type ConvPad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];

interface ConvCase {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: number;
  s: number;
  pad: ConvPad;
}

interface RefGeometry {
  ho: number;
  wo: number;
  top: number;
  left: number;
}

/** Output size and leading padding, from TensorFlow's definitions of the padding modes. */
function refGeometry(c: ConvCase): RefGeometry {
  const axis = (inSize: number, padIndex: 1 | 2): [number, number] => {
    if (c.pad === 'valid') return [Math.floor((inSize - c.k) / c.s) + 1, 0];
    if (c.pad === 'same') {
      const out = Math.ceil(inSize / c.s);
      const total = Math.max((out - 1) * c.s + c.k - inSize, 0);
      return [out, Math.floor(total / 2)];
    }
    const [lo, hi] = typeof c.pad === 'number' ? [c.pad, c.pad] : c.pad[padIndex];
    return [Math.floor((inSize + lo + hi - c.k) / c.s) + 1, lo];
  };
  const [ho, top] = axis(c.h, 1);
  const [wo, left] = axis(c.w, 2);
  return { ho, wo, top, left };
}

/** Calls visit(xIndex, wIndex, yIndex) for every multiply-add of the convolution. */
function forEachConvTerm(c: ConvCase, geo: RefGeometry, visit: (xi: number, wi: number, yi: number) => void): void {
  for (let n = 0; n < c.n; n++) {
    for (let oy = 0; oy < geo.ho; oy++) {
      for (let ox = 0; ox < geo.wo; ox++) {
        for (let kh = 0; kh < c.k; kh++) {
          const iy = c.s * oy + kh - geo.top;
          if (iy < 0 || iy >= c.h) continue;
          for (let kw = 0; kw < c.k; kw++) {
            const ix = c.s * ox + kw - geo.left;
            if (ix < 0 || ix >= c.w) continue;
            for (let i = 0; i < c.ci; i++) {
              const xi = ((n * c.h + iy) * c.w + ix) * c.ci + i;
              for (let o = 0; o < c.co; o++) {
                visit(xi, ((kh * c.k + kw) * c.ci + i) * c.co + o, ((n * geo.ho + oy) * geo.wo + ox) * c.co + o);
              }
            }
          }
        }
      }
    }
  }
}

/** y = conv(x, w) and the gradients of sum(g * y): dx and dw, all in float64. */
function referenceConv(c: ConvCase, x: Float64Array, w: Float64Array, g: Float64Array) {
  const geo = refGeometry(c);
  const y = new Float64Array(c.n * geo.ho * geo.wo * c.co);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  forEachConvTerm(c, geo, (xi, wi, yi) => {
    y[yi] += x[xi] * w[wi];
    dx[xi] += g[yi] * w[wi];
    dw[wi] += g[yi] * x[xi];
  });
  return { geo, y, dx, dw };
}

// ------------------------------------------------------------------------------------------------------
// Tests

/** tfjs-core's own MirrorPad gradient, as registered before ours replaces it. */
let tfjsMirrorPadGrad: tf.GradConfig | undefined;

before(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  tfjsMirrorPadGrad = tf.getGradient('MirrorPad');
  registerMirrorPadGradient();
  registerFastConvGradients();
});

describe('MirrorPad gradient', () => {
  const cases: { shape: number[]; paddings: [number, number][]; mode: MirrorMode }[] = [
    { shape: [7], paddings: [[3, 2]], mode: 'reflect' },
    { shape: [7], paddings: [[3, 2]], mode: 'symmetric' },
    {
      shape: [2, 5],
      paddings: [
        [1, 0],
        [4, 4],
      ],
      mode: 'reflect',
    },
    {
      shape: [2, 5],
      paddings: [
        [2, 1],
        [5, 5],
      ],
      mode: 'symmetric',
    },
    {
      shape: [4, 6, 3],
      paddings: [
        [0, 3],
        [2, 5],
        [0, 0],
      ],
      mode: 'reflect',
    },
    {
      shape: [1, 9, 8, 3],
      paddings: [
        [0, 0],
        [3, 3],
        [3, 3],
        [0, 0],
      ],
      mode: 'reflect',
    },
    {
      shape: [2, 5, 4, 2],
      paddings: [
        [0, 0],
        [1, 2],
        [3, 0],
        [0, 0],
      ],
      mode: 'symmetric',
    },
    {
      shape: [2, 6, 7, 3],
      paddings: [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ],
      mode: 'reflect',
    },
    {
      shape: [1, 3, 3, 1],
      paddings: [
        [0, 0],
        [0, 0],
        [0, 0],
        [0, 0],
      ],
      mode: 'reflect',
    },
  ];

  // Each case in both forms: slices and adds, and (for images, as graphs for a GPU write it) two matrix products.
  for (const [index, [{ shape, paddings, mode }, form]] of cases.flatMap((c) => (['slices', 'matmul'] as const).map((form) => [c, form] as const)).entries()) {
    test(`${mode} ${JSON.stringify(shape)} padded ${JSON.stringify(paddings)}, as ${form}`, () => {
      const xData = randoms(size(shape), 100 + index);
      const sources = mirrorPadSources(shape, paddings, mode);
      const gData = randoms(sources.length, 200 + index);
      const outShape = shape.map((d, a) => d + paddings[a][0] + paddings[a][1]);
      const x = tf.tensor(Float32Array.from(xData), shape);
      const g = tf.tensor(Float32Array.from(gData), outShape);
      const padded = tf.mirrorPad(x, paddings, mode);
      // Passing g as dy gives the gradient of sum(g * mirrorPad(x)) without needing Sum/Mul gradients.
      const gradient = () => tf.grad((t: tf.Tensor) => tf.mirrorPad(t, paddings, mode))(x, g);
      const dx = expectNoLeakedTensors(() => (form === 'matmul' ? withMirrorPadGradientByMatMul(gradient) : gradient()), 1, 'only the gradient stays alive');
      assertClose(
        padded.dataSync(),
        Array.from(sources, (s) => xData[s]),
        'forward (checks the reference)',
      );
      assertClose(dx.dataSync(), mirrorPadAdjoint(gData, sources, xData.length), 'dx');
      tf.dispose([x, g, padded, dx]);
    });
  }

  test('the gradient can be differentiated: d/dg of sum(h * dx(g)) is mirrorPad(h)', () => {
    const shape = [1, 5, 6, 2];
    const paddings: [number, number][] = [
      [0, 0],
      [2, 3],
      [3, 1],
      [0, 0],
    ];
    const sources = mirrorPadSources(shape, paddings, 'symmetric');
    const hData = randoms(size(shape), 2);
    const outShape = shape.map((d, a) => d + paddings[a][0] + paddings[a][1]);
    const [x, h] = [tf.zeros(shape), tf.tensor(Float32Array.from(hData), shape)];
    const g = tf.tensor(Float32Array.from(randoms(sources.length, 3)), outShape);
    // dx = P^T g is linear in g, so the gradient of sum(h * dx) with respect to g is P h.
    const dxOf = (dy: tf.Tensor) => tf.grad((v: tf.Tensor) => tf.mirrorPad(v, paddings, 'symmetric'))(x, dy);
    const second = tf.grad(dxOf)(g, h);
    assertClose(
      second.dataSync(),
      Array.from(sources, (src) => hData[src]),
      'second order',
    );
    tf.dispose([x, h, g, second]);
  });

  test("tfjs-core's own MirrorPad gradient is wrong (why this fix exists)", () => {
    const shape = [1, 6, 6, 1];
    const paddings: [number, number][] = [
      [0, 0],
      [3, 3],
      [3, 3],
      [0, 0],
    ];
    const sources = mirrorPadSources(shape, paddings, 'reflect');
    const gData = randoms(sources.length, 7);
    const expected = mirrorPadAdjoint(gData, sources, size(shape));
    const x = tf.zeros(shape);
    const g = tf.tensor(Float32Array.from(gData), [1, 12, 12, 1]);
    const dxOf = () => tf.grad((u: tf.Tensor) => tf.mirrorPad(u, paddings, 'reflect'))(x, g);
    assert.ok(tfjsMirrorPadGrad, 'tfjs registers a MirrorPad gradient');
    tf.unregisterGradient('MirrorPad');
    tf.registerGradient(tfjsMirrorPadGrad);
    let original: tf.Tensor;
    try {
      original = dxOf();
    } finally {
      registerMirrorPadGradient();
    }
    assert.ok(relativeError(original.dataSync(), expected) > 0.1, 'the original gradient misses the border terms');
    const fixed = dxOf();
    assertClose(fixed.dataSync(), expected, 'fixed dx');
    tf.dispose([x, g, original, fixed]);
  });
});

describe('Conv2D gradient', () => {
  const explicit = (t: number, b: number, l: number, r: number): ConvPad => [
    [0, 0],
    [t, b],
    [l, r],
    [0, 0],
  ];
  const cases: ConvCase[] = [
    // Stride 1.
    { n: 1, h: 8, w: 8, ci: 3, co: 4, k: 3, s: 1, pad: 'same' },
    { n: 2, h: 7, w: 9, ci: 2, co: 3, k: 3, s: 1, pad: 'valid' },
    { n: 1, h: 9, w: 9, ci: 3, co: 5, k: 7, s: 1, pad: 'valid' },
    { n: 1, h: 6, w: 5, ci: 4, co: 2, k: 5, s: 1, pad: 'same' },
    { n: 2, h: 5, w: 6, ci: 1, co: 3, k: 1, s: 1, pad: 'valid' },
    { n: 1, h: 6, w: 6, ci: 2, co: 2, k: 4, s: 1, pad: 'same' },
    { n: 1, h: 7, w: 8, ci: 3, co: 2, k: 3, s: 1, pad: 2 },
    { n: 1, h: 6, w: 7, ci: 2, co: 3, k: 3, s: 1, pad: explicit(0, 2, 3, 1) },
    // Stride 2, including odd sizes whose last row is not read by the convolution.
    { n: 1, h: 8, w: 8, ci: 3, co: 4, k: 4, s: 2, pad: explicit(1, 1, 1, 1) },
    { n: 2, h: 9, w: 7, ci: 2, co: 3, k: 4, s: 2, pad: 'valid' },
    { n: 1, h: 9, w: 10, ci: 3, co: 2, k: 4, s: 2, pad: 'same' },
    { n: 1, h: 11, w: 9, ci: 2, co: 3, k: 3, s: 2, pad: 'same' },
    { n: 2, h: 8, w: 9, ci: 3, co: 2, k: 3, s: 2, pad: 'valid' },
    { n: 1, h: 7, w: 7, ci: 1, co: 2, k: 1, s: 2, pad: 'valid' },
    { n: 1, h: 10, w: 11, ci: 2, co: 2, k: 5, s: 2, pad: 2 },
    { n: 1, h: 13, w: 12, ci: 3, co: 2, k: 7, s: 2, pad: 'same' },
    { n: 1, h: 9, w: 8, ci: 2, co: 3, k: 4, s: 2, pad: explicit(3, 0, 0, 2) },
    // Stride 3 and more channels.
    { n: 1, h: 10, w: 11, ci: 3, co: 4, k: 5, s: 3, pad: 'same' },
    { n: 1, h: 8, w: 8, ci: 16, co: 24, k: 3, s: 1, pad: 'same' },
    { n: 2, h: 8, w: 8, ci: 24, co: 16, k: 4, s: 2, pad: explicit(1, 1, 1, 1) },
  ];

  for (const [index, c] of cases.entries()) {
    const name = `${c.k}x${c.k} s${c.s} pad ${JSON.stringify(c.pad)} x[${c.n},${c.h},${c.w},${c.ci}] -> ${c.co}`;
    test(name, () => {
      const xData = randoms(c.n * c.h * c.w * c.ci, 1000 + index);
      const wData = randoms(c.k * c.k * c.ci * c.co, 2000 + index);
      const geo = refGeometry(c);
      const gData = randoms(c.n * geo.ho * geo.wo * c.co, 3000 + index);
      const ref = referenceConv(c, xData, wData, gData);
      const x = tf.tensor4d(Float32Array.from(xData), [c.n, c.h, c.w, c.ci]);
      const w = tf.tensor4d(Float32Array.from(wData), [c.k, c.k, c.ci, c.co]);
      const g = tf.tensor4d(Float32Array.from(gData), [c.n, geo.ho, geo.wo, c.co]);
      const conv = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.conv2d(a, b, c.s, c.pad);

      const y = conv(x, w);
      assert.deepEqual(y.shape, [c.n, geo.ho, geo.wo, c.co], 'forward shape (checks the reference)');
      assertClose(y.dataSync(), ref.y, 'forward (checks the reference)');

      // Both implementations of each gradient, and the automatic choice.
      for (const method of ['conv', 'matmul', 'auto'] as const) {
        convGradientOptions.dx = method;
        convGradientOptions.dw = method;
        // Passing g as dy gives the gradients of sum(g * conv(x, w)).
        const [dx, dw] = expectNoLeakedTensors(
          () => tf.grads((a: tf.Tensor, b: tf.Tensor) => conv(a as tf.Tensor4D, b as tf.Tensor4D))([x, w], g),
          2,
          `${method}: only the two gradients stay alive`,
        );
        assertClose(dx.dataSync(), ref.dx, `${method} dx`);
        assertClose(dw.dataSync(), ref.dw, `${method} dw`);
        tf.dispose([dx, dw]);
      }
      convGradientOptions.dx = 'auto';
      convGradientOptions.dw = 'auto';
      tf.dispose([x, w, g, y]);
    });
  }

  test('second order: d/dw of sum(h * dx) is the filter gradient for input h', () => {
    const c: ConvCase = { n: 1, h: 9, w: 8, ci: 3, co: 4, k: 4, s: 2, pad: 'same' };
    const geo = refGeometry(c);
    const [xData, hData] = [randoms(c.n * c.h * c.w * c.ci, 11), randoms(c.n * c.h * c.w * c.ci, 12)];
    const wData = randoms(c.k * c.k * c.ci * c.co, 13);
    const gData = randoms(c.n * geo.ho * geo.wo * c.co, 14);
    const [x, h] = [tf.tensor4d(Float32Array.from(xData), [c.n, c.h, c.w, c.ci]), tf.tensor4d(Float32Array.from(hData), [c.n, c.h, c.w, c.ci])];
    const w = tf.tensor4d(Float32Array.from(wData), [c.k, c.k, c.ci, c.co]);
    const g = tf.tensor4d(Float32Array.from(gData), [c.n, geo.ho, geo.wo, c.co]);
    const dxOf = (filter: tf.Tensor) => tf.grad((a: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, filter as tf.Tensor4D, c.s, c.pad))(x, g);
    // dx is linear in w: sum(h * dx(w)) = sum(g * conv(h, w)), whose w-gradient is the reference dw at x = h.
    const expected = referenceConv(c, hData, wData, gData).dw;
    for (const method of ['conv', 'matmul'] as const) {
      convGradientOptions.dx = method;
      const outer = tf.grad(dxOf)(w, h);
      assertClose(outer.dataSync(), expected, `${method}: second-order dw`);
      outer.dispose();
    }
    convGradientOptions.dx = 'auto';
    tf.dispose([x, h, w, g]);
  });

  test('big inputs are done in pieces (filter gradient temporaries capped)', () => {
    const c: ConvCase = { n: 2, h: 11, w: 12, ci: 5, co: 3, k: 3, s: 2, pad: 'same' };
    const geo = refGeometry(c);
    const xData = randoms(c.n * c.h * c.w * c.ci, 21);
    const wData = randoms(c.k * c.k * c.ci * c.co, 22);
    const gData = randoms(c.n * geo.ho * geo.wo * c.co, 23);
    const ref = referenceConv(c, xData, wData, gData);
    const x = tf.tensor4d(Float32Array.from(xData), [c.n, c.h, c.w, c.ci]);
    const w = tf.tensor4d(Float32Array.from(wData), [c.k, c.k, c.ci, c.co]);
    const g = tf.tensor4d(Float32Array.from(gData), [c.n, geo.ho, geo.wo, c.co]);
    const saved = convGradientOptions.maxTemporaryFloats;
    // Small enough to split the conv method's input channels and the matMul method's summed axis.
    convGradientOptions.maxTemporaryFloats = 300;
    try {
      for (const method of ['conv', 'matmul'] as const) {
        convGradientOptions.dw = method;
        const dw = expectNoLeakedTensors(
          () => tf.grad((b: tf.Tensor) => tf.conv2d(x, b as tf.Tensor4D, c.s, c.pad))(w, g),
          1,
          `${method}: only the gradient stays alive`,
        );
        assertClose(dw.dataSync(), ref.dw, `${method} dw in pieces`);
        dw.dispose();
      }
    } finally {
      convGradientOptions.maxTemporaryFloats = saved;
      convGradientOptions.dw = 'auto';
    }
    tf.dispose([x, w, g]);
  });

  test('dilated convolutions fall back to the original gradient', () => {
    const x = tf.ones([1, 6, 6, 1]) as tf.Tensor4D;
    const w = tf.ones([3, 3, 1, 1]) as tf.Tensor4D;
    const dy = tf.ones([1, 2, 2, 1]);
    // tfjs' own gradient refuses dilations > 1; reaching its message shows the fallback was taken.
    assert.throws(() => tf.grad((a: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, w, 1, 'valid', 'NHWC', 2))(x, dy), /dilation/);
    dy.dispose();
    tf.dispose([x, w]);
  });

  test('registering twice keeps one gradient and the fallback intact', () => {
    const config = tf.getGradient('Conv2D');
    registerFastConvGradients();
    registerMirrorPadGradient();
    assert.equal(tf.getGradient('Conv2D'), config);
  });
});

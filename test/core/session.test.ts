// The two ways of running a compiled graph: onnxruntime's C API (the CPU default, outputs written in the caller's
// buffers) and onnxruntime-node. Both give the same values; the C API reads views at an offset, writes in place,
// checks sizes, frees what each run creates, and says clearly when it is misused. Its IO binding (how CUDA keeps the
// training state in its memory) runs here on the CPU provider, with host memory as the device.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { BINDING_ENV } from '../../munit-core/onnx/engine-names.js';
import { OnnxGraph } from '../../munit-core/onnx/graph.js';
import { DeviceTransfer } from '../../munit-core/onnx/device-transfer.js';
import { createDeviceSession, createSession, DeviceValue, GraphSession, sessionBinding } from '../../munit-core/onnx/session.js';
import { seeded } from './helpers.js';

const CPU = { provider: 'cpu' as const, threads: 2 };
const [C, H] = [8, 12];

/** y = conv3x3(x, w) + 1 and the sum of y: a convolution, a broadcast constant and a reduction, two outputs. */
function convGraph(): OnnxGraph {
  const g = new OnnxGraph();
  g.addInput({ name: 'x', dtype: 'float32', dims: [1, C, H, H], perm: [0, 1, 2, 3] });
  g.addInput({ name: 'w', dtype: 'float32', dims: [C, C, 3, 3], perm: [0, 1, 2, 3] });
  const y = g.op('Add', [g.op('Conv', ['x', 'w'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }), g.scalar(1)]);
  g.addOutput({ name: 'y', dtype: 'float32', dims: [1, C, H, H], perm: [0, 1, 2, 3] }, y);
  g.addOutput({ name: 'total', dtype: 'float32', dims: [], perm: [] }, g.op('ReduceSum', [y, g.int64s([0, 1, 2, 3])], { keepdims: 0 }));
  return g;
}

function random(n: number, seed: number): Float32Array {
  const rng = seeded(seed);
  return Float32Array.from({ length: n }, () => rng() * 2 - 1);
}

/** The convolution in plain loops, so neither binding is checked only against the other. */
function reference(x: Float32Array, w: Float32Array): Float32Array {
  const y = new Float32Array(C * H * H).fill(1);
  for (let o = 0; o < C; o++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < H; i++)
        for (let j = 0; j < H; j++)
          for (let di = -1; di <= 1; di++)
            for (let dj = -1; dj <= 1; dj++) {
              const [si, sj] = [i + di, j + dj];
              if (si >= 0 && si < H && sj >= 0 && sj < H) y[(o * H + i) * H + j] += x[(c * H + si) * H + sj] * w[((o * C + c) * 3 + di + 1) * 3 + dj + 1];
            }
  return y;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** Runs `fn` on a session of convGraph() with this binding, and releases it. */
async function withSession(binding: 'direct' | 'node', fn: (session: GraphSession) => Promise<void>): Promise<void> {
  process.env[BINDING_ENV] = binding;
  const session = await createSession(convGraph(), CPU);
  try {
    await fn(session);
  } finally {
    session.release();
  }
}

/** One run on x and w with y as the output buffer of 'y'. */
function runInto(session: GraphSession, x: Float32Array, w: Float32Array, y: Float32Array) {
  return session.run(
    (port) => ({ x, w })[port.name],
    (port) => (port.name === 'y' ? y : undefined),
  );
}

describe('graph sessions', () => {
  afterEach(() => delete process.env[BINDING_ENV]);

  it('the C API and onnxruntime-node give the same values as plain loops', async () => {
    const [x, w] = [random(C * H * H, 1), random(C * C * 9, 2)];
    const expected = reference(x, w);
    for (const binding of ['direct', 'node'] as const) {
      await withSession(binding, async (session) => {
        assert.equal(session.binding, binding === 'direct' ? 'onnxruntime C API' : 'onnxruntime-node');
        const out = await session.run((port) => ({ x, w })[port.name]);
        const y = out.y as Float32Array;
        assert.ok(maxDiff(y, expected) < 1e-5, `${binding}: y off by ${maxDiff(y, expected)}`);
        const sum = expected.reduce((a, b) => a + b, 0);
        assert.ok(Math.abs((out.total[0] as number) - sum) < 1e-3 * Math.max(1, Math.abs(sum)), `${binding}: total ${out.total[0]} vs ${sum}`);
      });
    }
  });

  it('the C API reads views at an offset and writes outputs into the buffers it is given', () =>
    withSession('direct', async (session) => {
      // x as a view 3 floats into a larger buffer: a pointer that ignored the offset would read the wrong values.
      const backing = new Float32Array(C * H * H + 5);
      const x = backing.subarray(3, 3 + C * H * H);
      x.set(random(C * H * H, 3));
      const w = random(C * C * 9, 4);
      const y = new Float32Array(C * H * H).fill(Number.NaN);
      const out = await runInto(session, x, w, y);
      assert.equal(out.y, y, 'the given buffer is the output, not a copy');
      assert.ok(maxDiff(y, reference(x, w)) < 1e-5);
      assert.ok(out.total instanceof Float32Array && out.total.length === 1);
      // The same buffers again, with a feed changed in place: the run sees the new values.
      w.fill(0);
      await runInto(session, x, w, y);
      assert.ok(y.every((v) => v === 1));
    }));

  it('the C API keeps feeds made on the fly alive until the run ends', () =>
    withSession('direct', async (session) => {
      const [x, w] = [random(C * H * H, 9), random(C * C * 9, 10)];
      const expected = reference(x, w);
      for (let round = 0; round < 3; round++) {
        const out = await session.run((port) => {
          // A fresh copy for each feed, and enough garbage between them for the collector to run.
          for (let i = 0; i < 20; i++) new Float32Array(2 ** 20).fill(i);
          return (port.name === 'x' ? x : w).slice();
        });
        assert.ok(maxDiff(out.y as Float32Array, expected) < 1e-5, `round ${round}: y off by ${maxDiff(out.y as Float32Array, expected)}`);
      }
    }));

  it('the C API names the port of a feed of the wrong size or a missing feed, and refuses a released session', async () => {
    process.env[BINDING_ENV] = 'direct';
    const session = await createSession(convGraph(), CPU);
    const w = random(C * C * 9, 5);
    await assert.rejects(
      session.run((port) => ({ x: new Float32Array(10), w })[port.name]),
      /graph port 'x' takes 1152 values, got 10/,
    );
    await assert.rejects(
      session.run((port) => ({ w })[port.name]),
      /no value for input 'x'/,
    );
    session.release();
    await assert.rejects(
      session.run((port) => ({ x: random(C * H * H, 6), w })[port.name]),
      /released/,
    );
  });

  it('frees what each run creates: resident memory stays flat over 3,000 runs', () =>
    withSession('direct', async (session) => {
      const [x, w, y] = [random(C * H * H, 7), random(C * C * 9, 8), new Float32Array(C * H * H)];
      for (let i = 0; i < 200; i++) await runInto(session, x, w, y);
      const before = process.memoryUsage().rss;
      for (let i = 0; i < 3000; i++) await runInto(session, x, w, y);
      const grown = (process.memoryUsage().rss - before) / 2 ** 20;
      // Leaking the four OrtValues of each run would be about 12,000 native objects.
      assert.ok(grown < 16, `resident memory grew ${grown.toFixed(1)} MiB`);
    }));

  it('says which binding runs and refuses an unknown one', () => {
    assert.deepEqual(sessionBinding('cpu'), { direct: true, description: 'onnxruntime C API, outputs written in place' });
    assert.deepEqual(sessionBinding('cuda'), { direct: true, description: 'onnxruntime C API, the state kept in CUDA memory by IO binding' });
    assert.equal(sessionBinding('webgpu').direct, false);
    process.env[BINDING_ENV] = 'node';
    assert.match(sessionBinding('cpu').description, /^onnxruntime-node \(MUNIT_ONNX_BINDING=node\)/);
    assert.match(sessionBinding('cuda').description, /the state crosses to host memory each update/);
    process.env[BINDING_ENV] = 'fast';
    assert.throws(() => sessionBinding('cpu'), /MUNIT_ONNX_BINDING: unknown binding 'fast'; expected direct or node/);
  });
});

describe('IO binding on the C API (CUDA keeps its state this way; here the CPU provider, host memory as the device)', () => {
  const BOUND = { ...CPU, stateOnDevice: true };

  it('keeps outputs as device values that later runs take as inputs, and reads them back', async () => {
    const session = await createDeviceSession(convGraph(), BOUND, (port) => port.name === 'y');
    const transfer = new DeviceTransfer(BOUND);
    const [x, w] = [random(C * H * H, 11), random(C * C * 9, 12)];
    try {
      assert.equal(session.binding, 'onnxruntime C API, state kept on the device by IO binding');
      const [xPort, yPort] = [convGraph().inputs[0], convGraph().outputs[0]];
      const [xOnDevice] = await transfer.toDevice([xPort], [x]);
      const first = await session.runKeeping((port) => (port.name === 'x' ? xOnDevice : w));
      assert.deepEqual(Object.keys(first.device), ['y']);
      assert.deepEqual(Object.keys(first.host), ['total'], 'an output not kept comes back in host memory');
      // y of the first run is x of the second: the chain never leaves the device.
      const second = await session.runKeeping((port) => (port.name === 'x' ? first.device.y : w));
      const [y1] = (await transfer.toHost([yPort], [first.device.y])) as Float32Array[];
      const [y2] = (await transfer.toHost([yPort], [second.device.y])) as Float32Array[];
      const expected1 = reference(x, w);
      assert.ok(maxDiff(y1, expected1) < 1e-5, `first run off by ${maxDiff(y1, expected1)}`);
      assert.ok(maxDiff(y2, reference(expected1, w)) < 1e-4, `second run off by ${maxDiff(y2, reference(expected1, w))}`);
      const total = y2.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs((second.host.total[0] as number) - total) < 1e-3 * Math.max(1, Math.abs(total)));
      // run() keeps nothing: every output comes back in host memory.
      assert.deepEqual(Object.keys(await session.run((port) => (port.name === 'x' ? x : w))).sort(), ['total', 'y']);

      for (const value of [xOnDevice, first.device.y, second.device.y]) value.dispose();
      first.device.y.dispose(); // twice is harmless
      await assert.rejects(
        session.runKeeping((port) => (port.name === 'x' ? first.device.y : w)),
        /a released device value was fed to a run/,
      );
    } finally {
      session.release();
      transfer.release();
    }
  });

  it('refuses a device value of the other binding, and a device session where the state is not kept', async () => {
    const session = await createDeviceSession(convGraph(), BOUND, () => true);
    const foreign = new DeviceValue(new ort.Tensor('float32', new Float32Array(C * H * H), [1, C, H, H]));
    try {
      await assert.rejects(
        session.run((port) => (port.name === 'x' ? foreign : random(C * C * 9, 13))),
        /input 'x' is an onnxruntime-node device value, fed to the C API/,
      );
    } finally {
      session.release();
    }
    await assert.rejects(
      createDeviceSession(convGraph(), CPU, () => true),
      /onnxruntime cpu keeps no values on a device here/,
    );
  });

  it('frees replaced device values: resident memory stays flat over 300 runs that keep 16 MB each', async () => {
    // A wide output, so that a value left unreleased would show: 300 of them are 4.7 GB.
    const g = new OnnxGraph();
    const port = { name: 'x', dtype: 'float32' as const, dims: [4, 2 ** 20], perm: [0, 1] };
    g.addInput(port);
    g.addOutput({ ...port, name: 'y' }, g.op('Add', ['x', g.scalar(1)]));
    const session = await createDeviceSession(g, BOUND, () => true);
    try {
      let value = (await session.runKeeping(() => new Float32Array(2 ** 22))).device.y;
      const step = async () => {
        const next = (await session.runKeeping(() => value)).device.y;
        value.dispose();
        value = next;
      };
      for (let i = 0; i < 20; i++) await step();
      const before = process.memoryUsage().rss;
      for (let i = 0; i < 300; i++) await step();
      const grown = (process.memoryUsage().rss - before) / 2 ** 20;
      assert.ok(grown < 64, `resident memory grew ${grown.toFixed(1)} MiB`);
      const transfer = new DeviceTransfer(BOUND);
      const [data] = await transfer.toHost([port], [value]);
      transfer.release();
      assert.ok(
        data.every((v) => v === 321),
        'each run added one to the value the last one kept',
      );
      value.dispose();
    } finally {
      session.release();
    }
  });
});

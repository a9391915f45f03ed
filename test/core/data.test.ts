// Data pipeline: decoding and the reference's transforms, both dataset layouts, bad-file skipping, seeded shuffling,
// prefetching, resume, and the synthetic demo dataset. Every image is written by the test itself with sharp.
import { after, before, describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { initBackend } from '../../munit-core/backend.js';
import { defaultConfig, parseConfig, type MunitConfig } from '../../munit-core/config/config.js';
import { DataError, ImageDataset, listImageFolder, readImageList } from '../../munit-core/data/dataset.js';
import { demoConfigYaml, generateDemoDataset } from '../../munit-core/data/demo-dataset.js';
import { byteToUnit, ImageFileError, loadImageFile, resizedSize, type ImageTransform } from '../../munit-core/data/image-file.js';
import { closeLoaders, createLoaders, ImageLoader, type Loaders } from '../../munit-core/data/loader.js';
import { expectNoLeakedTensors } from './helpers.js';

let tmp: string;
before(async () => {
  await initBackend({ prefer: 'cpu' });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'munit-data-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Writes raw 8-bit HWC pixels as PNG or JPEG (format from the extension). */
async function writeImage(file: string, pixels: number[] | Uint8Array, width: number, height: number, channels: 1 | 2 | 3 | 4) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const image = sharp(Buffer.from(pixels), { raw: { width, height, channels } });
  await (file.endsWith('.png') ? image.png() : image.jpeg({ quality: 100 })).toFile(file);
}

/** A solid image whose grey level `v` identifies it in a batch. */
const solid = (file: string, v: number, width = 8, height = 8) => writeImage(file, new Array(width * height).fill(v), width, height, 1);

/** Left half black, right half white: shows whether a flip happened. */
const halves = (file: string, width = 8, height = 8) =>
  writeImage(
    file,
    Array.from({ length: width * height }, (_, i) => (i % width < width / 2 ? 0 : 255)),
    width,
    height,
    1,
  );

const transform = (t: Partial<ImageTransform> = {}): ImageTransform => ({
  channels: 3,
  newSize: 8,
  cropHeight: 8,
  cropWidth: 8,
  flip: false,
  cropY: 0,
  cropX: 0,
  ...t,
});

function configFor(dataRoot: string, overrides: Partial<MunitConfig> = {}): MunitConfig {
  return { ...defaultConfig(), data_root: dataRoot, batch_size: 1, new_size: 8, crop_image_height: 8, crop_image_width: 8, ...overrides };
}

/** Writes trainA/trainB/testA/testB with solid images of the given grey levels. */
async function solidDataset(root: string, levels: Record<'trainA' | 'trainB' | 'testA' | 'testB', number[]>) {
  for (const [folder, values] of Object.entries(levels)) {
    await Promise.all(values.map((v, i) => solid(path.join(root, folder, `${i}.png`), v)));
  }
}

/** Grey level of each image in a batch (images are solid, so the first pixel tells). */
async function levelsOf(loader: ImageLoader): Promise<number[]> {
  const batch = await loader.next();
  const data = await batch.data();
  batch.dispose();
  const size = data.length / loader.shape[0];
  return Array.from({ length: loader.shape[0] }, (_, b) => Math.round(((data[b * size] + 1) / 2) * 255));
}

describe('image-file', () => {
  it('keeps exact values when no resize is needed: a two-colour PNG', async () => {
    const file = path.join(tmp, 'two.png');
    // 6x4 RGB: left 3 columns (200, 100, 50), right 3 columns (0, 255, 7).
    const px = Array.from({ length: 24 }, (_, i) => (i % 6 < 3 ? [200, 100, 50] : [0, 255, 7])).flat();
    await writeImage(file, px, 6, 4, 3);
    const out = await loadImageFile(file, transform({ newSize: 4, cropHeight: 4, cropWidth: 6 }));
    assert.equal(out.length, 4 * 6 * 3);
    assert.deepEqual([...out.slice(0, 3)], [200, 100, 50].map(byteToUnit));
    assert.deepEqual([...out.slice(15, 18)], [0, 255, 7].map(byteToUnit));
    assert.equal(byteToUnit(0), -1);
    assert.equal(byteToUnit(255), 1);
    // Colour -> one channel as PIL's convert('L'): (19595 R + 38470 G + 7471 B + 32768) >> 16.
    const grey = await loadImageFile(file, transform({ channels: 1, newSize: 4, cropHeight: 4, cropWidth: 6 }));
    assert.equal(grey.length, 24);
    assert.equal(grey[0], byteToUnit(124));
    assert.equal(grey[5], byteToUnit(150));
  });

  it('resizes the shorter side to new_size as torchvision does, then crops', async () => {
    assert.deepEqual(resizedSize(300, 200, 100), { width: 150, height: 100 });
    assert.deepEqual(resizedSize(200, 301, 100), { width: 100, height: 150 });
    assert.deepEqual(resizedSize(64, 64, 32), { width: 32, height: 32 });
    const file = path.join(tmp, 'wide.jpg');
    await writeImage(file, new Array(40 * 20 * 3).fill(128), 40, 20, 3);
    // 40x20 -> 20x10; the crop spans the full resized width, so any wrong size would show as a wrong length.
    const out = await loadImageFile(file, transform({ newSize: 10, cropHeight: 10, cropWidth: 20 }));
    assert.equal(out.length, 10 * 20 * 3);
    for (const v of out) assert.ok(Math.abs(v - byteToUnit(128)) < 0.02, `solid grey JPEG decodes near 128, got ${v}`);
    await assert.rejects(loadImageFile(file, transform({ newSize: 10, cropHeight: 11, cropWidth: 11 })), /does not fit/);
  });

  it('places the crop from the fractions and flips before cropping', async () => {
    const file = path.join(tmp, 'ramp.png');
    // 10 wide, 4 high, grey value = 20 * column.
    await writeImage(
      file,
      Array.from({ length: 40 }, (_, i) => 20 * (i % 10)),
      10,
      4,
      1,
    );
    const t = transform({ channels: 1, newSize: 4, cropHeight: 4, cropWidth: 4 });
    const firstColumn = async (extra: Partial<ImageTransform>) => (await loadImageFile(file, { ...t, ...extra }))[0];
    assert.equal(await firstColumn({ cropX: 0 }), byteToUnit(0));
    assert.equal(await firstColumn({ cropX: 0.999 }), byteToUnit(120)); // left = floor(0.999 * 7) = 6
    assert.equal(await firstColumn({ cropX: 0, flip: true }), byteToUnit(180));
  });

  it('reads grey, grey+alpha and RGBA images: grey replicated, alpha dropped without compositing', async () => {
    const greyFile = path.join(tmp, 'grey-alpha.png');
    await writeImage(greyFile, [90, 0, 90, 255, 90, 0, 90, 255], 2, 2, 2);
    const grey = await loadImageFile(greyFile, transform({ newSize: 2, cropHeight: 2, cropWidth: 2 }));
    assert.deepEqual([...grey], new Array(12).fill(byteToUnit(90)));
    const rgbaFile = path.join(tmp, 'rgba.png');
    await writeImage(rgbaFile, [10, 20, 30, 0, 10, 20, 30, 128, 10, 20, 30, 255, 10, 20, 30, 0], 2, 2, 4);
    const rgba = await loadImageFile(rgbaFile, transform({ newSize: 2, cropHeight: 2, cropWidth: 2 }));
    assert.deepEqual([...rgba.slice(0, 3)], [10, 20, 30].map(byteToUnit));
  });

  it('names the file when it cannot be decoded', async () => {
    const file = path.join(tmp, 'junk.png');
    fs.writeFileSync(file, 'not an image');
    await assert.rejects(loadImageFile(file, transform()), (err: Error) => err instanceof ImageFileError && err.message.includes(file));
  });
});

describe('dataset listing', () => {
  it('lists a folder recursively, sorted, by extension (any case)', async () => {
    const root = path.join(tmp, 'listing');
    await solid(path.join(root, 'b.png'), 1);
    await solid(path.join(root, 'sub', 'a.JPG'), 1);
    fs.writeFileSync(path.join(root, 'notes.txt'), 'x');
    assert.deepEqual(listImageFolder(root, 'x'), [path.join(root, 'b.png'), path.join(root, 'sub', 'a.JPG')]);
  });

  it('reports a missing or empty folder with its path and config key', async () => {
    const root = path.join(tmp, 'partial');
    await solidDataset(root, { trainA: [1], trainB: [1], testA: [1], testB: [] });
    fs.mkdirSync(path.join(root, 'testB'), { recursive: true });
    const config = configFor(root);
    assert.throws(
      () => createLoaders(config, undefined, { seed: 0, train: true }),
      (err: Error) =>
        err instanceof DataError && err.message.includes(path.join(root, 'testB')) && /holds no images/.test(err.message) && err.message.includes('data_root'),
    );
    fs.rmSync(path.join(root, 'testB'), { recursive: true });
    assert.throws(
      () => createLoaders(config, undefined, { seed: 0, train: true }),
      (err: Error) => err.message.includes(path.join(root, 'testB')) && /does not exist/.test(err.message) && err.message.includes('data_root'),
    );
  });

  it('reads the list layout, relative to the config folder, leaving out missing entries with a warning', async () => {
    const root = path.join(tmp, 'lists');
    const splits = ['train_a', 'test_a', 'train_b', 'test_b'] as const;
    const config = configFor('unused');
    delete config.data_root;
    for (const [i, split] of splits.entries()) {
      await solid(path.join(root, 'images', split, 'one.png'), 10 * (i + 1));
      fs.writeFileSync(path.join(root, `${split}.txt`), `${split}/one.png\n\n${split}/gone.png\n`);
      config[`data_folder_${split}`] = 'images';
      config[`data_list_${split}`] = `${split}.txt`;
    }
    const warnings: string[] = [];
    const loaders = createLoaders(config, root, { seed: 0, train: true, onWarning: (m) => warnings.push(m), cwd: tmp });
    try {
      assert.equal(warnings.length, 4);
      assert.match(warnings[0], /gone\.png/);
      assert.ok(warnings[0].includes(path.join(root, 'train_a.txt')));
      assert.deepEqual(await levelsOf(loaders.test_b), [40]);
    } finally {
      await closeLoaders(loaders);
    }
    fs.writeFileSync(path.join(root, 'test_b.txt'), '\n');
    assert.throws(() => createLoaders(config, root, { seed: 0, train: true, cwd: tmp }), /test_b\.txt is empty.*data_list_test_b/s);
    fs.rmSync(path.join(root, 'test_b.txt'));
    assert.throws(() => createLoaders(config, root, { seed: 0, train: true, cwd: tmp }), /test_b\.txt does not exist.*data_list_test_b/s);
  });
});

describe('bad files', () => {
  it('skips corrupt, truncated and unsupported files with a warning naming each, and errors when all are bad', async () => {
    const root = path.join(tmp, 'bad');
    await solid(path.join(root, 'good.png'), 77);
    fs.writeFileSync(path.join(root, 'corrupt.png'), 'garbage');
    const noise = Uint8Array.from({ length: 32 * 32 * 3 }, (_, i) => (i * 7919) % 251);
    await writeImage(path.join(root, 'full.jpg'), noise, 32, 32, 3);
    const jpeg = fs.readFileSync(path.join(root, 'full.jpg'));
    fs.writeFileSync(path.join(root, 'truncated.jpg'), jpeg.subarray(0, jpeg.length / 2));
    fs.rmSync(path.join(root, 'full.jpg'));
    fs.writeFileSync(path.join(root, 'old.bmp'), Buffer.from('BM'));
    const warnings: string[] = [];
    const files = listImageFolder(root, 'x');
    const dataset = new ImageDataset(files, 'bad test', (m) => warnings.push(m));
    for (let i = 0; i < files.length; i++) {
      const out = await dataset.load(i, transform({ channels: 1 }));
      assert.equal(out[0], byteToUnit(77)); // every slot falls back to the one good image
    }
    assert.equal(warnings.length, 3);
    for (const name of ['corrupt.png', 'truncated.jpg', 'old.bmp']) {
      assert.ok(
        warnings.some((w) => w.includes(path.join(root, name))),
        `a warning names ${name}`,
      );
    }
    const allBad = new ImageDataset([path.join(root, 'corrupt.png'), path.join(root, 'truncated.jpg')], 'all bad', () => {});
    await assert.rejects(allBad.load(0, transform()), /Every one of the 2 images of all bad failed/);
  });
});

/** A 24-bit bottom-up BMP, or with `palette` an 8-bit top-down one, of RGB pixels. */
function encodeBmp(rgb: Uint8Array, width: number, height: number, palette = false): Buffer {
  const bpp = palette ? 8 : 24;
  const rowBytes = Math.ceil((width * bpp) / 32) * 4;
  const colours = palette ? [...new Set(Array.from({ length: width * height }, (_, i) => rgb.subarray(3 * i, 3 * i + 3).join(',')))] : [];
  const paletteBytes = colours.length * 4;
  const offset = 14 + 40 + paletteBytes;
  const out = Buffer.alloc(offset + rowBytes * height);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(offset, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(palette ? -height : height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(bpp, 28);
  out.writeUInt32LE(colours.length, 46);
  colours.forEach((c, i) => {
    const [r, g, b] = c.split(',').map(Number);
    out.set([b, g, r, 0], 54 + 4 * i);
  });
  for (let y = 0; y < height; y++) {
    const row = offset + (palette ? y : height - 1 - y) * rowBytes;
    for (let x = 0; x < width; x++) {
      const px = rgb.subarray(3 * (y * width + x), 3 * (y * width + x) + 3);
      if (palette) out[row + x] = colours.indexOf(px.join(','));
      else out.set([px[2], px[1], px[0]], row + 3 * x);
    }
  }
  return out;
}

describe('hostile data folders', () => {
  const rgb = Uint8Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 37) % 256);
  const fewColours = Uint8Array.from(
    { length: 5 * 3 * 3 },
    (_, i) =>
      [
        [200, 10, 30],
        [0, 128, 255],
        [255, 255, 0],
      ][Math.floor(i / 3) % 3][i % 3],
  );
  const t = transform({ newSize: 3, cropHeight: 3, cropWidth: 5 });

  it('reads .ppm (binary and text, colour and grey) and .bmp (24-bit, 8-bit palette) as it reads PNG', async () => {
    const root = path.join(tmp, 'formats');
    fs.mkdirSync(root, { recursive: true });
    const png = async (pixels: Uint8Array, name: string) => {
      await writeImage(path.join(root, name), pixels, 5, 3, 3);
      return loadImageFile(path.join(root, name), t);
    };
    const expected = await png(rgb, 'rgb.png');
    const header = (magic: string, maxval = '255\n') => Buffer.from(`${magic}\n# a comment\n5 3\n${maxval}`, 'latin1');
    fs.writeFileSync(path.join(root, 'binary.ppm'), Buffer.concat([header('P6'), Buffer.from(rgb)]));
    fs.writeFileSync(path.join(root, 'text.ppm'), Buffer.concat([header('P3'), Buffer.from(Array.from(rgb).join(' '), 'latin1')]));
    fs.writeFileSync(path.join(root, 'wide.ppm'), Buffer.concat([header('P6', '65535\n'), Buffer.from(Array.from(rgb).flatMap((v) => [v, v]))]));
    fs.writeFileSync(path.join(root, 'colour.bmp'), encodeBmp(rgb, 5, 3));
    for (const name of ['binary.ppm', 'text.ppm', 'wide.ppm', 'colour.bmp']) assert.deepEqual(await loadImageFile(path.join(root, name), t), expected, name);
    const grey = Uint8Array.from({ length: 15 }, (_, i) => i * 17);
    fs.writeFileSync(path.join(root, 'grey.ppm'), Buffer.concat([header('P5'), Buffer.from(grey)]));
    assert.deepEqual(await loadImageFile(path.join(root, 'grey.ppm'), t), await png(Uint8Array.from(Array.from(grey).flatMap((v) => [v, v, v])), 'grey.png'));
    fs.writeFileSync(path.join(root, 'palette.bmp'), encodeBmp(fewColours, 5, 3, true));
    assert.deepEqual(await loadImageFile(path.join(root, 'palette.bmp'), t), await png(fewColours, 'palette.png'));
    // Damaged ones are ImageFileErrors (skipped by datasets) that say what is wrong.
    fs.writeFileSync(path.join(root, 'short.ppm'), Buffer.concat([header('P6'), Buffer.from(rgb.subarray(0, 20))]));
    await assert.rejects(
      loadImageFile(path.join(root, 'short.ppm'), t),
      (err: Error) => err instanceof ImageFileError && /short\.ppm: truncated PPM data \(20 of 45 bytes\)/.test(err.message),
    );
  });

  it('skips a symbolic link loop with a warning instead of aborting the listing', async () => {
    const root = path.join(tmp, 'loops');
    await solid(path.join(root, 'good.png'), 5);
    fs.symlinkSync('self.png', path.join(root, 'self.png'));
    fs.symlinkSync('b.png', path.join(root, 'a.png'));
    fs.symlinkSync('a.png', path.join(root, 'b.png'));
    const warnings: string[] = [];
    assert.deepEqual(
      listImageFolder(root, 'x', (w) => warnings.push(w)),
      [path.join(root, 'good.png')],
    );
    assert.equal(warnings.length, 3);
    for (const name of ['self.png', 'a.png', 'b.png'])
      assert.ok(
        warnings.some((w) => w === `${path.join(root, name)} is a symbolic link loop; skipped.`),
        warnings.join('\n'),
      );
    // The list layout too.
    const list = path.join(root, 'list.txt');
    fs.writeFileSync(list, 'good.png\nself.png\n');
    const listed: string[] = [];
    assert.deepEqual(
      readImageList(list, root, 'x', (w) => listed.push(w)),
      [path.join(root, 'good.png')],
    );
    assert.match(listed[0], /list\.txt:2: 'self\.png' is a symbolic link loop/);
  });

  it('says "permission denied" for an unreadable image, not "unsupported image format"', async (t) => {
    const dir = path.join(tmp, 'locked');
    await solid(path.join(dir, 'locked.png'), 9);
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(path.join(dir, 'locked.png'), 0o000);
    const expected = /Cannot read image .*locked\.png: permission denied \(EACCES\)/;
    if (process.getuid?.() !== 0) {
      await assert.rejects(loadImageFile(path.join(dir, 'locked.png'), transform()), expected);
      return;
    }
    // Root reads anything: check as an unprivileged user where runuser exists (Linux), else there is nothing to test.
    const script = `require('./munit-core/data/image-file.ts').decodeImageFile(${JSON.stringify(path.join(dir, 'locked.png'))}, 3).then(() => console.log('read'), (e) => console.log(e.message))`;
    fs.chmodSync(tmp, 0o755);
    const run = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, '--import', 'tsx', '-e', script], {
      cwd: path.join(__dirname, '..', '..'),
      encoding: 'utf8',
    });
    fs.chmodSync(tmp, 0o700);
    if (run.error || run.status !== 0) {
      t.skip(`cannot run as an unprivileged user here: ${(run.error?.message ?? run.stderr).trim().split('\n')[0]}`);
      return;
    }
    assert.match(run.stdout, expected);
  });
});

describe('loaders', () => {
  let root: string;
  const levels = [10, 20, 30, 40, 50];
  before(async () => {
    root = path.join(tmp, 'solid');
    await solidDataset(root, { trainA: levels, trainB: levels, testA: levels, testB: [60, 70] });
  });

  async function withLoaders<T>(config: MunitConfig, seed: number, body: (l: Loaders) => Promise<T>, train = true): Promise<T> {
    const loaders = createLoaders(config, undefined, { seed, train });
    try {
      return await body(loaders);
    } finally {
      await closeLoaders(loaders);
    }
  }

  it('gives NHWC batches of the crop size (train) and new_size (test), dropping the last incomplete batch', async () => {
    const config = configFor(root, { batch_size: 2, new_size: 8, crop_image_height: 4, crop_image_width: 6, input_dim_b: 1 });
    await withLoaders(config, 1, async (l) => {
      assert.deepEqual(l.train_a.shape, [2, 4, 6, 3]);
      assert.deepEqual(l.test_a.shape, [2, 8, 8, 3]);
      assert.deepEqual(l.train_b.shape, [2, 4, 6, 1]);
      const batch = await l.train_b.next();
      assert.deepEqual(batch.shape, [2, 4, 6, 1]);
      batch.dispose();
      assert.equal(l.train_a.batchesPerEpoch, 2);
      // Two epochs: each hands out 4 distinct images of the 5 (the 5th is dropped), in a new order.
      const epochs = [[], []] as number[][];
      for (const epoch of epochs) for (let b = 0; b < 2; b++) epoch.push(...(await levelsOf(l.train_a)));
      for (const epoch of epochs) assert.equal(new Set(epoch).size, 4);
      assert.notDeepEqual(epochs[0], epochs[1]);
      // Test splits keep file order.
      assert.deepEqual([...(await levelsOf(l.test_a)), ...(await levelsOf(l.test_a)), ...(await levelsOf(l.test_a))], [10, 20, 30, 40, 10, 20]);
    });
  });

  it('shuffles deterministically per seed and independently per domain', async () => {
    const config = configFor(root);
    const sequence = (seed: number) =>
      withLoaders(config, seed, async (l) => {
        const a: number[] = [];
        const b: number[] = [];
        for (let i = 0; i < 10; i++) a.push(...(await levelsOf(l.train_a)));
        for (let i = 0; i < 10; i++) b.push(...(await levelsOf(l.train_b)));
        return { a, b };
      });
    const first = await sequence(7);
    assert.deepEqual(await sequence(7), first);
    assert.notDeepEqual(first.a, first.b, 'same files, different order in each domain');
    assert.notDeepEqual((await sequence(8)).a, first.a);
    // Without train, file order.
    const plain = await withLoaders(config, 7, async (l) => [...(await levelsOf(l.train_a)), ...(await levelsOf(l.train_a))], false);
    assert.deepEqual(plain, [10, 20]);
  });

  it('flips some training images and never test images', async () => {
    const flipRoot = path.join(tmp, 'flip');
    for (const folder of ['trainA', 'trainB', 'testA', 'testB']) await halves(path.join(flipRoot, folder, 'h.png'));
    const config = configFor(flipRoot);
    const flips = (loader: ImageLoader) => async () => {
      let count = 0;
      for (let i = 0; i < 24; i++) count += (await levelsOf(loader))[0] === 255 ? 1 : 0; // first pixel white = flipped
      return count;
    };
    const counts = await withLoaders(config, 3, async (l) => ({ train: await flips(l.train_a)(), test: await flips(l.test_a)() }));
    assert.ok(counts.train > 3 && counts.train < 21, `about half of 24 flipped, got ${counts.train}`);
    assert.equal(counts.test, 0);
  });

  it('decodes ahead: batches are ready before next() is called, and refilled after', async () => {
    const loaders = createLoaders(configFor(root), undefined, { seed: 0, train: true, prefetch: 3 });
    const loader = loaders.train_a;
    try {
      assert.equal(loader.queuedBatches, 3, 'decoding started in the constructor');
      await loader.settled();
      assert.equal(loader.readyBatches, 3);
      await expectNoLeakedTensors(async () => {
        const batch = await expectNoLeakedTensors(() => loader.next(), 1, 'the batch taken, and nothing else');
        batch.dispose();
      });
      assert.equal(loader.queuedBatches, 3, 'the batch taken was replaced at once');
    } finally {
      await closeLoaders(loaders);
    }
  });

  it('resumes from state(): the same batches follow', async () => {
    const config = configFor(root, { batch_size: 2 });
    const { state, expected } = await withLoaders(config, 5, async (l) => {
      for (let i = 0; i < 3; i++) await levelsOf(l.train_a); // into the second epoch
      const saved = l.train_a.state();
      assert.equal(saved.epoch, 1);
      assert.equal(saved.batch, 1);
      const next: number[][] = [];
      for (let i = 0; i < 5; i++) next.push(await levelsOf(l.train_a));
      return { state: saved, expected: next };
    });
    const resumed = await withLoaders(config, 999, async (l) => {
      l.train_a.restore(state);
      const next: number[][] = [];
      for (let i = 0; i < 5; i++) next.push(await levelsOf(l.train_a));
      return next;
    });
    assert.deepEqual(resumed, expected);
  });

  it('takes mixed files: colour JPEG, grey and RGBA PNG of non-square sizes', async () => {
    const mixed = path.join(tmp, 'mixed');
    for (const folder of ['trainA', 'trainB', 'testA', 'testB']) {
      await writeImage(
        path.join(mixed, folder, 'a.jpg'),
        Uint8Array.from({ length: 16 * 10 * 3 }, (_, i) => i % 256),
        16,
        10,
        3,
      );
      await writeImage(
        path.join(mixed, folder, 'b.png'),
        Uint8Array.from({ length: 10 * 16 }, (_, i) => (i * 3) % 256),
        10,
        16,
        1,
      );
      await writeImage(
        path.join(mixed, folder, 'c.png'),
        Uint8Array.from({ length: 12 * 12 * 4 }, (_, i) => (i * 5) % 256),
        12,
        12,
        4,
      );
    }
    const config = configFor(mixed, { batch_size: 3, new_size: 8, crop_image_height: 8, crop_image_width: 8, input_dim_a: 1 });
    await withLoaders(config, 2, async (l) => {
      for (const split of ['train_a', 'train_b'] as const) {
        const batch = await l[split].next();
        const values = await batch.data();
        assert.deepEqual(batch.shape, [3, 8, 8, split === 'train_a' ? 1 : 3]);
        assert.ok(values.every((v) => v >= -1 && v <= 1));
        batch.dispose();
      }
    });
  });
});

describe('demo dataset', () => {
  it('is deterministic, has the four folders with the right counts and sizes, and a multimodal domain B', async () => {
    const options = { count: 40, testCount: 4, seed: 11 };
    const [one, two, other] = ['demo1', 'demo2', 'demo3'].map((d) => path.join(tmp, d));
    const summary = await generateDemoDataset(one, options);
    await generateDemoDataset(two, options);
    await generateDemoDataset(other, { ...options, seed: 12 });
    const counts = { trainA: 40, trainB: 40, testA: 4, testB: 4 };
    for (const [folder, n] of Object.entries(counts)) {
      const files = fs.readdirSync(path.join(one, folder)).sort();
      assert.equal(files.length, n);
      const meta = await sharp(path.join(one, folder, files[0])).metadata();
      assert.deepEqual([meta.width, meta.height, meta.channels], [32, 32, folder.endsWith('A') ? 1 : 3]);
      for (const f of files) {
        assert.ok(fs.readFileSync(path.join(one, folder, f)).equals(fs.readFileSync(path.join(two, folder, f))), `${folder}/${f} identical`);
      }
    }
    assert.ok(!fs.readFileSync(path.join(one, 'trainB', '00000.png')).equals(fs.readFileSync(path.join(other, 'trainB', '00000.png'))));
    await assert.rejects(generateDemoDataset(one, options), /already holds files/);

    // Domain B: the mean colour of the shape (pixels far from the background corner) varies widely for one shape kind.
    const byShape = new Map<string, string[]>();
    for (const img of summary.images.trainB) byShape.set(img.shape, [...(byShape.get(img.shape) ?? []), img.file]);
    const [, files] = [...byShape].sort((x, y) => y[1].length - x[1].length)[0];
    assert.ok(files.length >= 4);
    const colours = await Promise.all(files.map(shapeColour));
    const spread = Math.max(...colours.flatMap((c) => colours.map((d) => Math.hypot(c[0] - d[0], c[1] - d[1], c[2] - d[2]))));
    assert.ok(spread > 100, `fill colours of one shape differ (spread ${spread.toFixed(0)})`);
    // Domain A: dark outlines on white.
    const { data } = await sharp(summary.images.trainA[0].file).raw().toBuffer({ resolveWithObject: true });
    assert.equal(data[0], 255);
    assert.ok(Math.min(...data) < 40);
  });

  it('comes with a config that parses cleanly and loads', async () => {
    const root = path.join(tmp, 'demo1');
    const { config, diagnostics } = parseConfig(demoConfigYaml(root));
    assert.deepEqual(diagnostics, []);
    const loaders = createLoaders(config, undefined, { seed: 0, train: true });
    try {
      assert.deepEqual(loaders.train_a.shape, [1, 32, 32, 1]);
      const batch = await loaders.train_b.next();
      assert.deepEqual(batch.shape, [1, 32, 32, 3]);
      batch.dispose();
    } finally {
      await closeLoaders(loaders);
    }
  });
});

/** Mean RGB of the pixels that differ clearly from the top-left (background) pixel. */
async function shapeColour(file: string): Promise<[number, number, number]> {
  const { data } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  const sum = [0, 0, 0];
  let n = 0;
  for (let i = 0; i < data.length; i += 3) {
    if (Math.hypot(data[i] - data[0], data[i + 1] - data[1], data[i + 2] - data[2]) < 60) continue;
    for (let k = 0; k < 3; k++) sum[k] += data[i + k];
    n++;
  }
  return [sum[0] / n, sum[1] / n, sum[2] / n];
}

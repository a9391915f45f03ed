// Bundles the command line, the server (with its engine worker), the extension and the panels into dist/.
// `node esbuild.mjs [--watch]`. Type checking is separate: `npm run typecheck`. `node esbuild.mjs --bench <dir>`
// bundles the benchmark with the same runtime into <dir> instead, for a machine without node_modules (test/bench/device.sh).
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';

const watch = process.argv.includes('--watch');
const dist = path.resolve('dist');

/**
 * Native or optional packages stay outside the bundle and are required at run time (webgpu, ESM-only, is imported
 * with import() and finds its dawn.node itself). tfjs-node(-gpu) brings its own
 * copy of tfjs-core; that is fine because tfjs keeps its engine and kernel registries on globalThis. The extension's
 * `vscode` module is provided by the extension host.
 */
const external = ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'sharp', 'webgpu', 'vscode', 'onnxruntime-node', 'koffi'];

/** Node bundles. The server runs training in a worker thread, which is its own bundle. */
const nodeEntries = [
  { in: 'munit-core/cli.ts', out: 'munit' },
  { in: 'server/main.ts', out: 'server' },
  { in: 'server/engine-worker.ts', out: 'engine-worker' },
  { in: 'extension/extension.ts', out: 'extension' },
];

/** The wasm backend loads its binaries from beside the bundle (see munit-core/backend.ts). */
function copyWasmBinaries(out) {
  const from = path.resolve('node_modules/@tensorflow/tfjs-backend-wasm/dist');
  for (const file of fs.readdirSync(from).filter((f) => f.endsWith('.wasm'))) {
    fs.copyFileSync(path.join(from, file), path.join(out, file));
  }
}

/**
 * sharp (native libvips) cannot be bundled: its runtime goes to dist/node_modules, where `require('sharp')` from the
 * bundles finds it, so the VSIX carries it. Its native half is this machine's platform (@img/sharp-<os>-<arch>).
 */
function copySharp(out) {
  const packages = ['sharp', ...fs.readdirSync('node_modules/@img').map((p) => `@img/${p}`), 'detect-libc', 'semver'];
  const target = path.join(out, 'node_modules');
  fs.rmSync(target, { recursive: true, force: true });
  for (const name of packages) fs.cpSync(path.join('node_modules', name), path.join(target, name), { recursive: true, dereference: true });
}

/**
 * onnxruntime-node (the compiled engine) is native too: its JavaScript, onnxruntime-common and the runtime of this
 * machine's platform only (45 MB of the 290 MB it ships for five platforms) go beside sharp.
 */
function copyOnnxRuntime(out) {
  const target = path.join(out, 'node_modules');
  const ort = path.join('node_modules', 'onnxruntime-node');
  // Source maps and type declarations are not needed to run (and source maps stay out of the VSIX).
  const options = { recursive: true, dereference: true, filter: (f) => !/\.(map|d\.ts)$/.test(f) };
  for (const item of ['package.json', 'dist', path.join('bin', 'napi-v6', process.platform, process.arch)]) {
    fs.cpSync(path.join(ort, item), path.join(target, 'onnxruntime-node', item), options);
  }
  fs.cpSync(path.join('node_modules', 'onnxruntime-common'), path.join(target, 'onnxruntime-common'), options);
  // koffi calls onnxruntime's C API (munit-core/onnx/direct-session.ts): its loader and this platform's binary.
  const koffi = path.join('node_modules', 'koffi');
  for (const item of ['package.json', 'index.js', path.join('build', 'koffi', `${process.platform}_${process.arch}`)]) {
    fs.cpSync(path.join(koffi, item), path.join(target, 'koffi', item), options);
  }
}

/**
 * Dawn for Node (the `webgpu` package): the engine chain asks it for a hardware adapter before it picks onnxruntime's
 * WebGPU provider, and tfjs' webgpu backend runs on it. Its loader and this platform's dawn.node (21 MB on linux-x64,
 * of the 132 MB it ships); the loader needs nothing else.
 */
function copyWebGpu(out) {
  const from = path.join('node_modules', 'webgpu');
  const dir = `${process.platform}-${process.platform === 'darwin' ? 'universal' : process.arch}`;
  for (const item of ['package.json', 'index.js', path.join('dist', dir)]) {
    fs.cpSync(path.join(from, item), path.join(out, 'node_modules', 'webgpu', item), { recursive: true, dereference: true });
  }
}

const options = {
  entryPoints: nodeEntries,
  outdir: dist,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external,
  logLevel: 'info',
};

/**
 * The panels: one browser bundle per folder of webviews/ with a main.ts, as dist/webviews/<folder>.js (a classic
 * script: the webview loads it with <script nonce src>). CSS (uPlot's) is imported as text into lit styles.
 */
const webviewOptions = {
  entryPoints: fs
    .readdirSync('webviews')
    .filter((dir) => fs.existsSync(path.join('webviews', dir, 'main.ts')))
    .map((dir) => ({ in: `webviews/${dir}/main.ts`, out: dir })),
  outdir: path.join(dist, 'webviews'),
  bundle: true,
  platform: 'browser',
  target: 'es2022',
  format: 'iife',
  minify: true,
  loader: { '.css': 'text' },
  logLevel: 'info',
};

/** Everything a bundle in `out` needs at run time beside it. */
function copyRuntime(out) {
  copyWasmBinaries(out);
  copySharp(out);
  copyOnnxRuntime(out);
  copyWebGpu(out);
}

const benchAt = process.argv.indexOf('--bench');
if (benchAt > 0) {
  const out = path.resolve(process.argv[benchAt + 1] ?? '');
  fs.mkdirSync(out, { recursive: true });
  copyRuntime(out);
  await esbuild.build({ ...options, entryPoints: [{ in: 'munit-core/bench.ts', out: 'bench' }], outdir: out, sourcemap: false });
  process.exit(0);
}

/** `--webviews` builds the panels only (their tests use it). */
const builds = process.argv.includes('--webviews') ? [webviewOptions] : [options, webviewOptions];
fs.mkdirSync(dist, { recursive: true });
if (process.argv.includes('--webviews')) copyWasmBinaries(dist);
else copyRuntime(dist);
if (watch) {
  for (const build of builds) await (await esbuild.context(build)).watch();
} else {
  await Promise.all(builds.map((build) => esbuild.build(build)));
}

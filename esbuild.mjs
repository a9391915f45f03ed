// Bundles the command line (and, as they arrive, the server and the extension) into dist/.
// `node esbuild.mjs [--watch]`. Type checking is separate: `npm run typecheck`.
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
const external = ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'sharp', 'webgpu', 'vscode'];

const entries = [
  { in: 'munit-core/cli.ts', out: 'munit' },
  { in: 'extension/extension.ts', out: 'extension' },
];

/** The wasm backend loads its binaries from beside the bundle (see munit-core/backend.ts). */
function copyWasmBinaries() {
  const from = path.resolve('node_modules/@tensorflow/tfjs-backend-wasm/dist');
  for (const file of fs.readdirSync(from).filter((f) => f.endsWith('.wasm'))) {
    fs.copyFileSync(path.join(from, file), path.join(dist, file));
  }
}

const options = {
  entryPoints: entries,
  outdir: dist,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external,
  logLevel: 'info',
};

fs.mkdirSync(dist, { recursive: true });
copyWasmBinaries();
if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}

// Packaging: `npm run package` (vsce, from test/e2e/host) makes a VSIX from the .vscodeignore allowlist, and
// code-server installs it. The VSIX must hold every bundle the extension runs and nothing else.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { startServer } from '../server/lsp.js';
import { CODE_SERVER, REPO } from './harness.js';

/** Files in dist/ the extension does not need at run time. */
const NOT_SHIPPED = (file: string) => file.endsWith('.map') || file === 'munit.js';

function filesUnder(dir: string, prefix = ''): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}

test('the VSIX holds the bundles, sharp, onnxruntime and Dawn, installs into code-server, and its server starts', { timeout: 180_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'munit-vsix-'));
  try {
    const vsix = path.join(tmp, 'munit-studio.vsix');
    execFileSync('npm', ['run', 'package', '--', '--out', vsix], { cwd: REPO, stdio: 'pipe' });
    const megabytes = fs.statSync(vsix).size / 2 ** 20;
    console.log(`VSIX: ${megabytes.toFixed(2)} MB`);
    // About 36 MB: the bundles, the wasm binaries, sharp with libvips, onnxruntime (CPU and WebGPU) and Dawn for this
    // platform.
    assert.ok(megabytes < 48, `the VSIX is ${megabytes.toFixed(1)} MB`);

    const extensions = path.join(tmp, 'extensions');
    execFileSync(process.execPath, [CODE_SERVER, '--install-extension', vsix, '--extensions-dir', extensions, '--user-data-dir', path.join(tmp, 'user')], {
      stdio: 'pipe',
      env: { ...process.env, TMPDIR: tmp },
    });
    const [installed] = fs.readdirSync(extensions).filter((d) => d.startsWith('munit-studio.munit-studio-'));
    assert.ok(installed, `installed extension in ${fs.readdirSync(extensions).join(', ')}`);
    const shipped = filesUnder(path.join(extensions, installed)).filter((f) => !f.startsWith('.'));
    const expected = filesUnder(path.join(REPO, 'dist'))
      .filter((f) => !NOT_SHIPPED(path.basename(f)))
      .map((f) => `dist/${f}`);
    assert.deepEqual(shipped.filter((f) => f.startsWith('dist/')).sort(), expected.sort());
    assert.ok(shipped.includes('package.json') && shipped.some((f) => f.toLowerCase() === 'readme.md'), shipped.join(', '));
    assert.deepEqual(
      shipped.filter((f) => !f.startsWith('dist/') && !['package.json', 'readme.md', 'changelog.md'].includes(f.toLowerCase())),
      [],
    );

    // The compiled engine's native runtime loads from the extension folder, outside the repository.
    const ort = path.join(extensions, installed, 'dist', 'node_modules', 'onnxruntime-node');
    const backends = execFileSync(process.execPath, ['-e', `console.log(JSON.stringify(require(${JSON.stringify(ort)}).listSupportedBackends()))`], {
      cwd: tmp,
      encoding: 'utf8',
    });
    assert.ok(
      (JSON.parse(backends) as { name: string }[]).some((b) => b.name === 'cpu'),
      backends,
    );
    // koffi (the C API binding that writes outputs in place) loads from there too, with onnxruntime's library.
    const koffi = path.join(extensions, installed, 'dist', 'node_modules', 'koffi');
    const lib = path.join(ort, 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime.so.1');
    const version = execFileSync(
      process.execPath,
      [
        '-e',
        `const k = require(${JSON.stringify(koffi)}); const api = k.load(${JSON.stringify(lib)}).func('void *OrtGetApiBase()')(); console.log(k.call(k.decode(api, k.array('void *', 2))[1], k.proto('const char *V()')))`,
      ],
      { cwd: tmp, encoding: 'utf8' },
    );
    assert.equal(version.trim(), '1.30.0');
    // Dawn (the webgpu package), which the engine chain asks for a hardware adapter, loads from there and answers.
    const webgpu = path.join(extensions, installed, 'dist', 'node_modules', 'webgpu', 'index.js');
    const adapter = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { create } = await import(${JSON.stringify(webgpu)}); const a = await create([]).requestAdapter(); console.log(a ? 'adapter ' + a.info.device : 'no adapter')`,
      ],
      { cwd: tmp, encoding: 'utf8' },
    );
    assert.match(adapter.trim().split('\n').pop()!, /^(adapter .+|no adapter)$/);

    // The installed server runs from the extension folder alone (it is outside the repository, so only
    // dist/node_modules can provide sharp): initialize, then a request that decodes an image.
    const workspace = fs.mkdtempSync(path.join(tmp, 'ws-'));
    const server = await startServer(workspace, {}, path.join(extensions, installed, 'dist/server.js'));
    try {
      assert.match(server.initializeResult.munit!.backend, /^wasm/);
      assert.match(server.initializeResult.munit!.engine, /^onnxruntime cpu/);
      const demo = await server.connection.sendRequest('munit/createDemoProject', { folder: path.join(workspace, 'demo') });
      assert.ok((demo as { trainImages: number }).trainImages > 0);
    } finally {
      await server.close();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

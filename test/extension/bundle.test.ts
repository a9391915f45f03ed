// The extension bundle shares munit-core's tfjs-free modules (run folder layout, config parsing, backend names), and
// must never pull in tfjs: the extension host would load the whole engine to read a file name.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import * as esbuild from 'esbuild';

test('the extension bundle holds no tfjs and no onnxruntime', async () => {
  const result = await esbuild.build({
    entryPoints: ['extension/extension.ts'],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    external: ['vscode'],
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(result.metafile.inputs);
  assert.ok(inputs.includes('munit-core/run-folder.ts'), 'the check sees the shared modules');
  assert.deepEqual(
    inputs.filter((f) => /@tensorflow|onnxruntime|munit-core\/(backend\.ts|layers\/|networks\/|trainer\.ts)/.test(f)),
    [],
  );
});

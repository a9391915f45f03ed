// Runs test/extension/ inside a real extension host (code-server), the way @vscode/test-electron would on a desktop:
// the suite is bundled, passed to the workbench as extensionTestsPath, and reports through codeAutomationLog/Exit.
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as esbuild from 'esbuild';
import { openWorkbench, REPO, within } from './harness.js';

test('extension-host tests pass in code-server', { timeout: 180_000 }, async () => {
  const bundle = path.join(os.tmpdir(), `munit-extension-tests-${process.pid}`, 'index.js');
  await esbuild.build({
    entryPoints: [path.join(REPO, 'test/extension/index.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    external: ['vscode'],
    logLevel: 'warning',
  });
  const workbench = await openWorkbench({ extensionTestsPath: bundle, settings: { 'munit.backend': 'wasm' } });
  try {
    const code = await within(workbench.automationExit, 150_000, () => `the exit code; log so far:\n${workbench.automationLog.join('\n')}`);
    const log = workbench.automationLog.join('\n');
    assert.equal(code, 0, log);
    assert.match(log, /(\d+) of \1 extension-host tests passed/);
    // The log also holds the workbench's own console output; the test lines are what matter here.
    console.log(workbench.automationLog.filter((line) => /^(ok|not ok) - |extension-host tests passed/.test(line)).join('\n'));
  } finally {
    await workbench.close();
  }
});

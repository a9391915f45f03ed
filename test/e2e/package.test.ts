// Packaging: `npm run package` (vsce, from test/e2e/host) makes a VSIX from the .vscodeignore allowlist, and
// code-server installs it. The VSIX must hold every bundle the extension runs and nothing else.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { CODE_SERVER, REPO } from './harness.js';

/** Files in dist/ the extension does not need at run time. */
const NOT_SHIPPED = (file: string) => file.endsWith('.map') || file === 'munit.js';

function filesUnder(dir: string, prefix = ''): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

test('the VSIX holds the bundles and installs into code-server', { timeout: 120_000 }, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'munit-vsix-'));
  try {
    const vsix = path.join(tmp, 'munit-studio.vsix');
    execFileSync('npm', ['run', 'package', '--', '--out', vsix], { cwd: REPO, stdio: 'pipe' });
    const megabytes = fs.statSync(vsix).size / 2 ** 20;
    console.log(`VSIX: ${megabytes.toFixed(2)} MB`);
    assert.ok(megabytes < 5, `the VSIX is ${megabytes.toFixed(1)} MB`);

    const extensions = path.join(tmp, 'extensions');
    execFileSync(process.execPath, [CODE_SERVER, '--install-extension', vsix, '--extensions-dir', extensions, '--user-data-dir', path.join(tmp, 'user')], {
      stdio: 'pipe',
      env: { ...process.env, TMPDIR: tmp },
    });
    const [installed] = fs.readdirSync(extensions).filter((d) => d.startsWith('munit-studio.munit-studio-'));
    assert.ok(installed, `installed extension in ${fs.readdirSync(extensions).join(', ')}`);
    const shipped = filesUnder(path.join(extensions, installed)).filter((f) => !f.startsWith('.'));
    const expected = filesUnder(path.join(REPO, 'dist')).filter((f) => !NOT_SHIPPED(path.basename(f))).map((f) => `dist/${f}`);
    assert.deepEqual(shipped.filter((f) => f.startsWith('dist/')).sort(), expected.sort());
    assert.ok(shipped.includes('package.json') && shipped.some((f) => f.toLowerCase() === 'readme.md'), shipped.join(', '));
    assert.deepEqual(shipped.filter((f) => !f.startsWith('dist/') && !['package.json', 'readme.md', 'changelog.md'].includes(f.toLowerCase())), []);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

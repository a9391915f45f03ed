// Checks made from inside the extension host with the full vscode API: what the extension contributes and registers,
// and the language client's state through a restart.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MunitContext } from '../../extension/context.js';
import { test } from './runner.js';

const EXTENSION_ID = 'munit-studio.munit-studio';

interface Manifest {
  contributes: {
    commands: { command: string; category: string }[];
    menus: { commandPalette: { command: string; when: string }[] };
    configuration: { properties: Record<string, { default: unknown; markdownDescription?: string }> };
  };
}

async function activated(): Promise<{ munit: MunitContext; manifest: Manifest }> {
  const extension = vscode.extensions.getExtension<MunitContext>(EXTENSION_ID);
  assert.ok(extension, `${EXTENSION_ID} is loaded`);
  const munit = await extension.activate();
  return { munit, manifest: extension.packageJSON as Manifest };
}

function until<T>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      const value = probe();
      if (value !== undefined) {
        clearInterval(timer);
        resolve(value);
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(timer);
        reject(new Error(`timed out waiting for ${what}`));
      }
    }, 100);
  });
}

test('every contributed command is registered, in the MUNIT category', async () => {
  const { manifest } = await activated();
  const registered = new Set(await vscode.commands.getCommands(true));
  const contributed = manifest.contributes.commands;
  assert.ok(contributed.length >= 14);
  for (const { command, category } of contributed) {
    assert.ok(registered.has(command), `${command} is registered`);
    assert.equal(category, 'MUNIT');
  }
});

test('settings are contributed with their defaults and descriptions', async () => {
  const { manifest } = await activated();
  const config = vscode.workspace.getConfiguration('munit');
  const expected: Record<string, unknown> = {
    backend: 'auto',
    engine: 'auto',
    onnxProvider: 'auto',
    'server.maxHeapMB': 4096,
    outputFolder: 'outputs',
    'trace.server': 'off',
    'hover.styles': 3,
  };
  for (const [key, value] of Object.entries(expected)) {
    assert.equal(config.inspect(key)?.defaultValue, value, `munit.${key} default`);
    assert.ok(manifest.contributes.configuration.properties[`munit.${key}`].markdownDescription, `munit.${key} is described`);
  }
});

test('commands that act on a job are hidden by context keys the extension sets', async () => {
  const { manifest } = await activated();
  const when = Object.fromEntries(manifest.contributes.menus.commandPalette.map((m) => [m.command, m.when]));
  assert.equal(when['munit.stopTraining'], 'munit.training');
  assert.equal(when['munit.pauseTraining'], 'munit.training && !munit.paused');
  assert.equal(when['munit.resumeTraining'], 'munit.paused');
  assert.equal(when['munit.tuneRunningJob'], 'munit.training');
});

test('the client reaches the server, which reports its backend', async () => {
  const { munit } = await activated();
  await until('the server to run', () => (munit.serverState === 'running' ? true : undefined));
  assert.match(munit.serverInfo?.backend ?? '', /wasm/);
  assert.equal(munit.jobs.active, undefined);
});

test('MUNIT: Restart Server replaces the server and the client comes back running', async () => {
  const { munit } = await activated();
  const states: string[] = [];
  const listener = munit.onDidChangeServerState((state) => states.push(state));
  try {
    await vscode.commands.executeCommand('munit.restartServer');
    assert.equal(munit.serverState, 'running');
    assert.deepEqual(states.filter((s, i) => s !== states[i - 1]).slice(0, 1), ['stopped']);
    assert.ok(states.includes('running'));
  } finally {
    listener.dispose();
  }
});

test('Start Training with a broken config reports the validation error and starts no job', async () => {
  const { munit } = await activated();
  const folder = vscode.workspace.workspaceFolders![0].uri;
  const config = vscode.Uri.joinPath(folder, 'broken.yaml');
  await vscode.workspace.fs.writeFile(config, new TextEncoder().encode('gen:\n  dim: 16\ndis:\n  dim: 16\nmax_iter: -3\ndata_root: ./nowhere\n'));
  // A failed command logs `<command>: <message>` to the MUNIT channel and shows the same message as a notification.
  const errors: string[] = [];
  const error = munit.output.error;
  munit.output.error = (message: string | Error, ...args: unknown[]) => {
    errors.push(String(message));
    error.call(munit.output, message, ...args);
  };
  let status: unknown;
  try {
    status = await vscode.commands.executeCommand('munit.startTraining', config.fsPath);
  } finally {
    munit.output.error = error;
  }
  assert.equal(status, undefined, 'no job status');
  assert.equal(munit.jobs.active, undefined);
  assert.equal(errors.length, 1, `one error reported: ${JSON.stringify(errors)}`);
  // The validation's message: the file, the bad key and its value.
  assert.match(errors[0], /^munit\.startTraining: .*broken\.yaml/);
  assert.match(errors[0], /max_iter: must be at least 1, but it is -3/);
});

test('Open PyTorch Run imports a reference run into the workspace and opens its loss curves', async () => {
  await activated();
  const extension = vscode.extensions.getExtension(EXTENSION_ID)!;
  const folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
  const copy = path.join(folder, 'pytorch-run');
  fs.cpSync(path.join(extension.extensionPath, 'test/fixtures/torch/run'), copy, { recursive: true });
  const result = (await vscode.commands.executeCommand('munit.openPyTorchRun', vscode.Uri.file(path.join(copy, 'outputs/tiny')))) as
    { runFolder: string; iteration: number; metrics: number } | undefined;
  assert.ok(result, 'the import returned its result');
  assert.equal(result.iteration, 2);
  assert.ok(result.metrics > 0);
  assert.ok(fs.readdirSync(path.join(result.runFolder, 'checkpoints')).includes('gen_00000002.safetensors'));
  await until('the loss curves of the imported run', () =>
    vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.label.includes('Loss Curves') && t.label.includes('tiny')) ? true : undefined,
  );
});

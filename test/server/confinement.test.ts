// Nothing outside the workspace, through any path: real symbolic links in a temporary workspace, a folder beside it
// standing for "outside", and the real server process trying to read or write there through every route found.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  Diagnostic,
  DidChangeConfigurationNotification,
  DidOpenTextDocumentNotification,
  NotificationType,
  PublishDiagnosticsNotification,
  PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol';
import { demoConfigYaml, generateDemoDataset } from '../../munit-core/data/demo-dataset.js';
import * as P from '../../server/protocol.js';
import { ServerSession, startServer } from './lsp.js';

const SIZE = 32;
let base: string;
let workspace: string;
let outside: string;
let dataRoot: string;
let server: ServerSession;
let version = 1;

/** Every file under `dir`, relative; what a test compares before and after to see nothing was written there. */
const listing = (dir: string) => (fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]).sort() : []);
const messageOf = (d: Diagnostic) => (typeof d.message === 'string' ? d.message : d.message.value);

function writeConfig(file: string, data: string, extra = ''): string {
  const text = demoConfigYaml('PLACEHOLDER', SIZE).replace(/^data_root:.*$/m, data) + `\n${extra}\n`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text.replace(/^snapshot_save_iter:.*$/m, 'snapshot_save_iter: 1000'));
  return file;
}

async function diagnosticsOf(file: string): Promise<Diagnostic[]> {
  const uri = pathToFileURL(file).href;
  void server.connection.sendNotification(DidOpenTextDocumentNotification.type, {
    textDocument: { uri, languageId: 'yaml', version: version++, text: fs.readFileSync(file, 'utf8') },
  });
  const type = new NotificationType<PublishDiagnosticsParams>(PublishDiagnosticsNotification.method);
  return (await server.waitFor(type, (p) => p.uri === uri)).diagnostics;
}

const setOutputFolder = (outputFolder: string) =>
  server.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: { munit: { outputFolder } } });

describe('the server keeps to the workspace', () => {
  before(async () => {
    base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'munit-confine-')));
    workspace = path.join(base, 'ws');
    outside = path.join(base, 'outside');
    fs.mkdirSync(workspace);
    fs.mkdirSync(outside);
    dataRoot = path.join(workspace, 'data');
    await generateDemoDataset(dataRoot, { size: SIZE, count: 2, testCount: 1, seed: 2 });
    await generateDemoDataset(path.join(outside, 'data'), { size: SIZE, count: 2, testCount: 1, seed: 3 });
    server = await startServer(workspace);
  });

  after(async () => {
    await server?.close();
  });

  it('does not write a demo project through a dangling demo.yaml link or a data link to outside', async () => {
    fs.mkdirSync(path.join(outside, 'empty-data'));
    const before = listing(outside);
    const dangling = path.join(workspace, 'demo-dangling');
    fs.mkdirSync(dangling);
    fs.symlinkSync(path.join(outside, 'demo.yaml'), path.join(dangling, 'demo.yaml'));
    fs.mkdirSync(path.join(dangling, 'data'));
    await assert.rejects(server.connection.sendRequest(P.CreateDemoProject.type, { folder: dangling }), /demo\.yaml: .*outside the workspace/);
    const linked = path.join(workspace, 'demo-linked');
    fs.mkdirSync(linked);
    fs.symlinkSync(path.join(outside, 'empty-data'), path.join(linked, 'data'));
    await assert.rejects(server.connection.sendRequest(P.CreateDemoProject.type, { folder: linked }), /data: .*outside the workspace/);
    assert.deepEqual(listing(outside), before, 'nothing was written outside');
  });

  it('does not train into, or load checkpoints from, a run folder linked to outside', async () => {
    const configPath = writeConfig(path.join(workspace, 'linked-run.yaml'), `data_root: ${dataRoot}`);
    fs.mkdirSync(path.join(workspace, 'outputs'), { recursive: true });
    fs.mkdirSync(path.join(outside, 'run', 'checkpoints'), { recursive: true });
    fs.symlinkSync(path.join(outside, 'run'), path.join(workspace, 'outputs', 'linked-run'));
    const before = listing(outside);
    await assert.rejects(server.connection.sendRequest(P.StartTraining.type, { configPath }), /run folder: .*outside the workspace/);
    await assert.rejects(server.connection.sendRequest(P.Architecture.type, { configPath }), /run folder: .*outside the workspace/);
    // A link inside the run folder (its checkpoints) is not trusted either.
    const inner = writeConfig(path.join(workspace, 'inner-link.yaml'), `data_root: ${dataRoot}`);
    fs.mkdirSync(path.join(workspace, 'outputs', 'inner-link'));
    fs.symlinkSync(path.join(outside, 'run', 'checkpoints'), path.join(workspace, 'outputs', 'inner-link', 'checkpoints'));
    await assert.rejects(server.connection.sendRequest(P.StartTraining.type, { configPath: inner }), /checkpoints.*outside the workspace/);
    assert.deepEqual(listing(outside), before);
  });

  it('confines munit.outputFolder to the workspace, and never makes it a place to read', async () => {
    const configPath = writeConfig(path.join(workspace, 'out.yaml'), `data_root: ${dataRoot}`);
    const before = listing(outside);
    await setOutputFolder('../outside');
    await assert.rejects(
      server.connection.sendRequest(P.StartTraining.type, { configPath }),
      /munit\.outputFolder: .*outside the workspace.*Set munit\.outputFolder/,
    );
    await setOutputFolder(outside);
    await assert.rejects(server.connection.sendRequest(P.StartTraining.type, { configPath }), /munit\.outputFolder: .*outside the workspace/);
    await assert.rejects(server.connection.sendRequest(P.Architecture.type, { runFolder: path.join(outside, 'run') }), /runFolder: .*outside the workspace/);
    await setOutputFolder('outputs');
    assert.deepEqual(listing(outside), before);
  });

  it('refuses data outside the workspace: diagnostics, training and the config preview', async () => {
    const configPath = writeConfig(path.join(workspace, 'outside-data.yaml'), `data_root: ${path.join(outside, 'data')}`);
    const diags = await diagnosticsOf(configPath);
    assert.ok(
      diags.some((d) => d.code === 'data-path' && /data_root: .*outside the workspace/.test(messageOf(d))),
      JSON.stringify(diags),
    );
    await assert.rejects(server.connection.sendRequest(P.StartTraining.type, { configPath }), /data_root: .*outside the workspace/);
    const preview = await server.connection.sendRequest(P.ConfigPreview.type, { configPath, text: fs.readFileSync(configPath, 'utf8') });
    assert.match(preview.problems.join('\n'), /outside the workspace/);
    assert.deepEqual([preview.data, preview.translations], [[], []], 'no pictures of outside images');
    // Through a link inside the workspace, and through one image linked out of a data folder inside.
    fs.symlinkSync(path.join(outside, 'data'), path.join(workspace, 'data-link'));
    assert.ok(
      (await diagnosticsOf(writeConfig(path.join(workspace, 'via-link.yaml'), `data_root: ${path.join(workspace, 'data-link')}`))).some((d) =>
        /leads to .*outside the workspace/.test(messageOf(d)),
      ),
    );
    const mixed = path.join(workspace, 'mixed');
    fs.cpSync(dataRoot, mixed, { recursive: true });
    const outsideImage = path.join(outside, 'data', 'trainA', fs.readdirSync(path.join(outside, 'data', 'trainA'))[0]);
    fs.symlinkSync(outsideImage, path.join(mixed, 'trainA', 'zz-linked.png'));
    const mixedConfig = writeConfig(path.join(workspace, 'mixed.yaml'), `data_root: ${mixed}`);
    await assert.rejects(server.connection.sendRequest(P.StartTraining.type, { configPath: mixedConfig }), /zz-linked\.png.*outside the workspace/);
  });

  it('never quotes a file in a diagnostic: a list file outside is refused, one inside is not shown', async () => {
    const secret = 'SECRET-LINE-do-not-show';
    fs.writeFileSync(path.join(outside, 'list.txt'), `${secret}\n`);
    fs.writeFileSync(path.join(workspace, 'list.txt'), `${secret}\n`);
    const lists = (list: string) =>
      ['train_a', 'test_a', 'train_b', 'test_b'].map((s) => `data_folder_${s}: ${dataRoot}/trainA\ndata_list_${s}: ${list}`).join('\n');
    for (const list of [path.join(outside, 'list.txt'), path.join(workspace, 'list.txt'), '/etc/passwd']) {
      const name = `list-${path.basename(path.dirname(list))}.yaml`;
      const diags = await diagnosticsOf(writeConfig(path.join(workspace, name), lists(list)));
      assert.ok(
        diags.some((d) => /data_list_test_a/.test(messageOf(d))),
        JSON.stringify(diags),
      );
      for (const d of diags) {
        assert.ok(!messageOf(d).includes(secret) && !messageOf(d).includes('root:'), messageOf(d));
      }
    }
  });

  it("resolves a relative data_root from the config's own folder, not the server's working directory", async () => {
    // The server runs in the workspace folder, whose ./data is complete; the config's folder has its own, also
    // complete, and a broken ./data in the working directory would be reported if it were looked at first.
    const sub = path.join(workspace, 'sub');
    await generateDemoDataset(path.join(sub, 'data'), { size: SIZE, count: 2, testCount: 1, seed: 4 });
    fs.renameSync(path.join(dataRoot, 'testB'), path.join(dataRoot, 'testB-away'));
    try {
      const diags = await diagnosticsOf(writeConfig(path.join(sub, 'relative.yaml'), 'data_root: ./data'));
      assert.deepEqual(diags.filter((d) => d.code === 'data-path').map(messageOf), []);
    } finally {
      fs.renameSync(path.join(dataRoot, 'testB-away'), path.join(dataRoot, 'testB'));
    }
  });

  it('imports a PyTorch run without reading TensorBoard logs outside the workspace', async () => {
    // The workspace is the reference's outputs/ folder itself: logs/<name> is beside it, outside.
    const fixture = path.join(__dirname, '../fixtures/torch/run');
    fs.cpSync(path.join(fixture, 'outputs/tiny'), path.join(workspace, 'tiny'), { recursive: true });
    fs.cpSync(path.join(fixture, 'logs/tiny'), path.join(base, 'logs/tiny'), { recursive: true });
    const imported = await server.connection.sendRequest(P.ImportRun.type, { source: path.join(workspace, 'tiny') });
    assert.equal(imported.metrics, 0);
    assert.match(imported.warnings.join('\n'), /TensorBoard logs beside the run are not read: .*outside the workspace/);
    assert.ok(imported.runFolder.startsWith(workspace + path.sep));
    await assert.rejects(
      server.connection.sendRequest(P.ImportRun.type, { source: path.join(workspace, 'tiny'), logs: path.join(base, 'logs/tiny') }),
      /logs: .*outside the workspace/,
    );
  });
});

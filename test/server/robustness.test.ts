// The server against hostile input, as an outsider's client would send it: broken framing and JSON over a raw pipe,
// messages out of protocol order, configs whose data paths cannot be stat'ed, documents that are not local files,
// malformed params, and an editor without our extension (plain lenses, server-side commands).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CodeLensRequest,
  CompletionRequest,
  DidOpenTextDocumentNotification,
  ExecuteCommandRequest,
  HoverRequest,
  InitializeRequest,
  LogMessageNotification,
  NotificationType,
  PublishDiagnosticsNotification,
  PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol';
import { demoConfigYaml, generateDemoDataset } from '../../munit-core/data/demo-dataset.js';
import { codeLenses } from '../../server/config-language.js';
import * as P from '../../server/protocol.js';
import { ServerSession, startServer } from './lsp.js';

const ROOT = path.resolve(__dirname, '../..');
const TSX = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const SIZE = 32;

let workspace: string;
let dataRoot: string;

const frame = (body: string | object) => {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
};

interface Raw {
  child: ChildProcess;
  write(bytes: string): void;
  /** Messages the server wrote, parsed from its framed stdout. */
  messages: Record<string, unknown>[];
  /** Resolves with the first message (already received or later) that `accept` takes. */
  message(accept: (m: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
  stderr(): string;
}

/** The server from the sources over stdio, spoken to byte by byte. */
function spawnRaw(): Raw {
  const child = spawn(process.execPath, ['--import', TSX, path.join(ROOT, 'server/main.ts'), '--stdio'], {
    cwd: workspace,
    env: { ...process.env, MUNIT_BACKEND: 'wasm' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const messages: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  let out = Buffer.alloc(0);
  child.stdout!.on('data', (d: Buffer) => {
    out = Buffer.concat([out, d]);
    for (;;) {
      const end = out.indexOf('\r\n\r\n');
      if (end < 0) break;
      const length = Number(/Content-Length: (\d+)/.exec(out.subarray(0, end).toString())![1]);
      if (out.length < end + 4 + length) break;
      messages.push(JSON.parse(out.subarray(end + 4, end + 4 + length).toString()));
      out = out.subarray(end + 4 + length);
    }
    for (const w of [...waiters]) w();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    messages,
    exited,
    stderr: () => stderr,
    write: (bytes) => void child.stdin!.write(bytes),
    message(accept, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no such message within ${timeoutMs} ms; got ${JSON.stringify(messages)}; stderr:\n${stderr.slice(-2000)}`)),
          timeoutMs,
        );
        const check = () => {
          const found = messages.find(accept);
          if (!found) return;
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(check), 1);
          resolve(found);
        };
        waiters.push(check);
        check();
      });
    },
  };
}

const initialize = (id: number) => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { processId: null, rootUri: pathToFileURL(workspace).href, capabilities: {} },
});

/** Exits within the time, with status 1 and the reason on stderr. */
async function expectExit(raw: Raw, reason: RegExp, withinMs: number): Promise<void> {
  const timeout = new Promise<'wedged'>((resolve) => setTimeout(() => resolve('wedged'), withinMs).unref());
  const code = await Promise.race([raw.exited, timeout]);
  if (code === 'wedged') raw.child.kill('SIGKILL');
  assert.equal(code, 1, `the server should exit with 1, got ${code}; stderr:\n${raw.stderr()}`);
  assert.match(raw.stderr(), reason);
}

before(async () => {
  workspace = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'munit-robust-')));
  dataRoot = path.join(workspace, 'data');
  await generateDemoDataset(dataRoot, { size: SIZE, count: 2, testCount: 1, seed: 1 });
});

describe('broken framing on stdio', () => {
  it('exits with a logged reason instead of wedging: missing, non-numeric, negative, huge or wrong Content-Length', async () => {
    const valid = JSON.stringify(initialize(1));
    const cases: [string, string, RegExp, number][] = [
      ['no header at all', valid, /expected a header line/, 30_000],
      ['a header without Content-Length', `Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n${valid}`, /no Content-Length/, 30_000],
      ['a non-numeric length', `Content-Length: abc\r\n\r\n${valid}`, /"abc" is not a byte count/, 30_000],
      ['a negative length', `Content-Length: -5\r\n\r\n${valid}`, /"-5" is not a byte count/, 30_000],
      ['2^40', `Content-Length: ${2 ** 40}\r\n\r\n${valid}`, /over the limit/, 30_000],
      // Too short: the rest of the body is read as the next header.
      ['a length too short', `Content-Length: ${valid.length - 10}\r\n\r\n${valid}${frame(initialize(2))}`, /expected a header line/, 30_000],
      // Too long, then silence: the message can never complete.
      ['a length too long', `Content-Length: ${valid.length + 100}\r\n\r\n${valid}`, /only \d+ bytes came/, 45_000],
    ];
    await Promise.all(
      cases.map(async ([, bytes, reason, within]) => {
        const raw = spawnRaw();
        raw.write(bytes);
        await expectExit(raw, reason, within);
      }),
    );
  });
});

describe('protocol order and bad JSON on stdio', () => {
  let raw: Raw;
  before(() => {
    raw = spawnRaw();
  });
  after(async () => {
    raw.child.kill('SIGKILL');
    await raw.exited;
  });

  it('answers a truncated JSON body with a Parse error and keeps reading', async () => {
    raw.write(frame('{"jsonrpc":"2.0","id":7,"method":"initial'));
    const reply = await raw.message((m) => m.id === null && (m.error as { code: number } | undefined)?.code === -32700);
    assert.match((reply.error as { message: string }).message, /not valid JSON/);
    raw.write(frame([1, 2]));
    const invalid = await raw.message((m) => (m.error as { code: number } | undefined)?.code === -32600);
    assert.match((invalid.error as { message: string }).message, /batches are not supported/);
  });

  it('refuses requests before initialize with -32002, then initializes once', async () => {
    raw.write(
      frame({ jsonrpc: '2.0', id: 10, method: 'textDocument/hover', params: { textDocument: { uri: 'file:///x.yaml' }, position: { line: 0, character: 0 } } }),
    );
    raw.write(frame({ jsonrpc: '2.0', id: 11, method: 'munit/listJobs' }));
    for (const id of [10, 11]) {
      const reply = await raw.message((m) => m.id === id);
      assert.equal((reply.error as { code: number }).code, -32002, JSON.stringify(reply));
    }
    raw.write(frame(initialize(12)));
    const init = await raw.message((m) => m.id === 12);
    assert.ok(init.result, JSON.stringify(init));
    raw.write(frame({ jsonrpc: '2.0', method: 'initialized', params: {} }));
    raw.write(frame({ ...initialize(13), params: { ...initialize(13).params, rootUri: 'file:///' } }));
    const second = await raw.message((m) => m.id === 13);
    assert.equal((second.error as { code: number }).code, -32600);
    assert.match((second.error as { message: string }).message, /initialize was already received/);
    // The workspace is still the first one: / is not a place to read.
    raw.write(frame({ jsonrpc: '2.0', id: 14, method: 'munit/architecture', params: { configPath: '/etc/hostname' } }));
    assert.match(((await raw.message((m) => m.id === 14)).error as { message: string }).message, /outside the workspace/);
    // Declared without params or with optional ones only: answered without `params`.
    raw.write(frame({ jsonrpc: '2.0', id: 15, method: 'munit/listJobs' }));
    assert.deepEqual((await raw.message((m) => m.id === 15)).result, []);
    for (const [id, method] of [
      [16, 'munit/stopTraining'],
      [17, 'munit/pauseTraining'],
    ] as const) {
      raw.write(frame({ jsonrpc: '2.0', id, method }));
      const reply = await raw.message((m) => m.id === id);
      assert.equal((reply.error as { code: number }).code, -32803, JSON.stringify(reply));
      assert.match((reply.error as { message: string }).message, /no training job is running/);
    }
  });

  it('refuses requests after shutdown and exits 0 on exit', async () => {
    raw.write(frame({ jsonrpc: '2.0', id: 20, method: 'shutdown' }));
    await raw.message((m) => m.id === 20);
    raw.write(frame({ jsonrpc: '2.0', id: 21, method: 'munit/listJobs' }));
    assert.equal(((await raw.message((m) => m.id === 21)).error as { code: number }).code, -32600);
    raw.write(frame({ jsonrpc: '2.0', method: 'exit' }));
    assert.equal(await raw.exited, 0);
  });
});

describe('the server over stdio with hostile documents and params', () => {
  let server: ServerSession;
  let version = 1;
  const diagnosticsType = new NotificationType<PublishDiagnosticsParams>(PublishDiagnosticsNotification.method);
  const open = (uri: string, text: string) =>
    void server.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'yaml', version: version++, text } });
  const config = (overrides: string) => `${demoConfigYaml(dataRoot, SIZE).replace(/^data_root:.*$/m, '')}\n${overrides}\n`;
  const alive = async () => {
    const keys = await server.connection.sendRequest(CompletionRequest.type, {
      textDocument: { uri: 'untitled:Untitled-1' },
      position: { line: 0, character: 0 },
    });
    assert.ok(Array.isArray(keys));
  };

  before(async () => {
    server = await startServer(workspace);
  });
  after(async () => {
    await server?.close();
  });

  it('reports data paths that cannot be stat-ed (ENOTDIR, ELOOP, ENAMETOOLONG) as diagnostics and stays up', async () => {
    fs.writeFileSync(path.join(workspace, 'x.png'), 'not a folder');
    fs.symlinkSync('loop-b', path.join(workspace, 'loop-a'));
    fs.symlinkSync('loop-a', path.join(workspace, 'loop-b'));
    const cases = {
      enotdir: `data_root: ${path.join(workspace, 'x.png', 'sub')}`,
      eloop: `data_root: ${path.join(workspace, 'loop-a', 'data')}`,
      enametoolong: `data_root: ${path.join(workspace, 'n'.repeat(300))}`,
      listEnotdir: ['train_a', 'test_a', 'train_b', 'test_b']
        .map((s) => `data_folder_${s}: ${workspace}/x.png/f\ndata_list_${s}: ${workspace}/loop-a/l.txt`)
        .join('\n'),
    };
    for (const [name, overrides] of Object.entries(cases)) {
      const uri = pathToFileURL(path.join(workspace, `${name}.yaml`)).href;
      open(uri, config(overrides));
      const { diagnostics } = await server.waitFor(diagnosticsType, (p) => p.uri === uri);
      assert.ok(
        diagnostics.some((d) => d.code === 'data-path'),
        `${name}: ${JSON.stringify(diagnostics)}`,
      );
    }
    await alive();
    assert.equal(server.process.exitCode, null);
  });

  it('handles documents that are not local files: untitled:, file://host/, vscode-notebook-cell:', async () => {
    for (const uri of ['untitled:Untitled-1', 'file://fileserver/share/munit.yaml', 'vscode-notebook-cell:/home/u/n.ipynb#W0sZmlsZQ%3D%3D']) {
      open(uri, config(`data_root: ./data\nlr_polcy: step`));
      const { diagnostics } = await server.waitFor(diagnosticsType, (p) => p.uri === uri);
      assert.ok(
        diagnostics.some((d) => d.code === 'unknown-key'),
        `${uri}: ${JSON.stringify(diagnostics)}`,
      );
      assert.ok(!diagnostics.some((d) => d.code === 'data-path'), 'no folder to look for data in');
      const lenses = await server.connection.sendRequest(CodeLensRequest.type, { textDocument: { uri } });
      assert.deepEqual(lenses, []);
      const hover = await server.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 0, character: 1 } });
      assert.ok(hover !== undefined);
    }
    await alive();
  });

  it('turns a failing language feature into a logged error and an empty answer', async () => {
    const uri = pathToFileURL(path.join(workspace, 'features.yaml')).href;
    open(uri, config(`data_root: ${dataRoot}`));
    await server.waitFor(diagnosticsType, (p) => p.uri === uri);
    const hover = await server.connection.sendRequest('textDocument/hover', { textDocument: { uri }, position: null });
    assert.equal(hover, null);
    const completion = await server.connection.sendRequest('textDocument/completion', { textDocument: { uri }, position: null });
    assert.deepEqual(completion, []);
    const logged = await server.waitFor(LogMessageNotification.type, (m) => /hover failed for/.test(m.message));
    assert.match(logged.message, /features\.yaml/);
    await alive();
  });

  it('validates direction, domain, style and params types with readable errors', async () => {
    const configPath = path.join(workspace, 'valid.yaml');
    fs.writeFileSync(configPath, config(`data_root: ${dataRoot}`));
    const image = path.join(dataRoot, 'testA', fs.readdirSync(path.join(dataRoot, 'testA'))[0]);
    const bad: [string, object, RegExp][] = [
      [P.Translate.method, { configPath, image, direction: 'x', style: { kind: 'random', count: 1 } }, /direction: "x" is not allowed; use "a2b" or "b2a"/],
      [P.Translate.method, { configPath, image, style: { kind: 'random', count: 1 } }, /direction: required/],
      [
        P.Translate.method,
        { configPath, image, direction: 'a2b', style: { kind: 'vector', values: 'abc' } },
        /style\.values: expected an array of finite numbers, got "abc"/,
      ],
      [P.Translate.method, { configPath, image, direction: 'a2b', style: { kind: 'random', count: 1.5 } }, /style\.count/],
      [P.Translate.method, { configPath, image, direction: 'a2b', style: { kind: 'mood' } }, /style\.kind: "mood" is not allowed/],
      [P.Architecture.method, { configPath, domain: 'z' }, /domain: "z" is not allowed; use "a" or "b"/],
      [P.GetActivations.method, { configPath, image, nodeId: 'x', style: [1, 'two'] }, /style: expected an array of finite numbers/],
      [P.StartTraining.method, { configPath, resume: 'yes' }, /resume: expected true or false/],
      [P.StartTraining.method, { configPath: 42 }, /configPath: expected a string, got 42/],
      [P.UpdateHyperparameters.method, { changes: 'lr=1' }, /changes: expected an object/],
      [P.Translate.method, undefined as never, /needs its parameters/],
    ];
    for (const [method, params, message] of bad) {
      await assert.rejects(server.connection.sendRequest(method, params), (err: { code: number; message: string }) => {
        assert.equal(err.code, -32602, `${method} ${JSON.stringify(params)}: ${err.message}`);
        assert.match(err.message, message);
        return true;
      });
    }
    await alive();
  });

  it('offers plain code lenses backed by its own commands to editors without the extension', async () => {
    assert.deepEqual((server.initializeResult.capabilities.executeCommandProvider as { commands: string[] }).commands, Object.values(P.SERVER_COMMANDS));
    const configPath = path.join(workspace, 'lens.yaml');
    const text = config(`data_root: ${dataRoot}`)
      .replace(/^max_iter:.*$/m, 'max_iter: 1000')
      .replace(/^log_iter:.*$/m, 'log_iter: 1');
    fs.writeFileSync(configPath, text);
    const uri = pathToFileURL(configPath).href;
    open(uri, text);
    const [lens] = (await server.connection.sendRequest(CodeLensRequest.type, { textDocument: { uri } }))!;
    assert.equal(lens.command!.title, 'Train', 'no codicon syntax in the title');
    const job = (await server.connection.sendRequest(ExecuteCommandRequest.type, {
      command: lens.command!.command,
      arguments: lens.command!.arguments,
    })) as P.JobStatus;
    assert.equal(job.state, 'running');
    const [stop] = (await server.connection.sendRequest(CodeLensRequest.type, { textDocument: { uri } }))!;
    assert.deepEqual([stop.command!.title, stop.command!.command, stop.command!.arguments], ['Stop training', P.SERVER_COMMANDS.stopTraining, [job.jobId]]);
    const stopped = (await server.connection.sendRequest(ExecuteCommandRequest.type, {
      command: stop.command!.command,
      arguments: stop.command!.arguments,
    })) as P.JobStatus;
    assert.equal(stopped.state, 'stopped');
    await assert.rejects(
      server.connection.sendRequest(ExecuteCommandRequest.type, { command: 'munit.startTraining', arguments: [configPath] }),
      /unknown command/,
    );
    await assert.rejects(
      server.connection.sendRequest(ExecuteCommandRequest.type, { command: P.SERVER_COMMANDS.startTraining, arguments: [] }),
      /expected the config file's path/,
    );
    // Our VS Code extension says it has the commands and codicons: it gets those.
    const vscodeLenses = codeLenses(configPath, { clientCommands: true });
    assert.deepEqual(
      vscodeLenses.map((l) => [l.command!.title, l.command!.command]),
      [
        ['$(play) Train', P.CLIENT_COMMANDS.startTraining],
        ['$(eye) Preview', P.CLIENT_COMMANDS.previewConfig],
      ],
    );
  });

  it('refuses a second initialize and keeps its workspace', async () => {
    await assert.rejects(
      server.connection.sendRequest(InitializeRequest.type, {
        processId: null,
        rootUri: 'file:///',
        workspaceFolders: [{ uri: 'file:///', name: 'root' }],
        capabilities: {},
      }),
      (err: { code: number; message: string }) => err.code === -32600 && /already received/.test(err.message),
    );
    await assert.rejects(server.connection.sendRequest(P.Architecture.type, { configPath: '/etc/hostname' }), /outside the workspace/);
  });
});

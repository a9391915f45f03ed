// The real server process over stdio: config language features, a training job with its notifications, live
// tuning, pause/resume/stop, model requests (architecture, translate, activations, config preview) and faults.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import {
  CodeActionRequest,
  CodeLensRequest,
  CompletionItem,
  CompletionRequest,
  Diagnostic,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  Hover,
  HoverRequest,
  NotificationType,
  PublishDiagnosticsNotification,
  PublishDiagnosticsParams,
  WorkDoneProgressBegin,
  WorkDoneProgressReport,
} from 'vscode-languageserver-protocol';
import { completeCheckpoints } from '../../munit-core/checkpoint.js';
import { demoConfigYaml, generateDemoDataset } from '../../munit-core/data/demo-dataset.js';
import * as P from '../../server/protocol.js';
import { ServerSession, startServer } from './lsp.js';

const SIZE = 32;
let workspace: string;
let dataRoot: string;
let server: ServerSession;

/** The demo config (32x32, dim 16, n_res 2, two discriminator scales) with `key: value` overrides. */
function writeConfig(name: string, overrides: Record<string, string | number>): string {
  let text = demoConfigYaml(dataRoot, SIZE);
  for (const [key, value] of Object.entries(overrides)) text = text.replace(new RegExp(`^(\\s*)${key}:.*$`, 'm'), `$1${key}: ${value}`);
  const file = path.join(workspace, `${name}.yaml`);
  fs.writeFileSync(file, text);
  return file;
}

const FAST = { image_save_iter: 1000, image_display_iter: 1000, snapshot_save_iter: 1000, log_iter: 1, display_size: 2 };

let version = 1;
function openDocument(file: string, text: string): string {
  const uri = pathToFileURL(file).href;
  void server.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'yaml', version: version++, text } });
  return uri;
}

const messageOf = (d: Diagnostic) => (typeof d.message === 'string' ? d.message : d.message.value);

function diagnosticsFor(uri: string, accept: (d: Diagnostic[]) => boolean): Promise<Diagnostic[]> {
  const type = new NotificationType<PublishDiagnosticsParams>(PublishDiagnosticsNotification.method);
  return server.waitFor(type, (p) => p.uri === uri && accept(p.diagnostics)).then((p) => p.diagnostics);
}

function metricsAt(jobId: string, iteration: number): Promise<P.MetricsParams> {
  return server.waitFor(P.Metrics.type, (p) => p.jobId === jobId && p.metrics.iteration >= iteration, 120_000);
}

function jobState(jobId: string, state: P.JobState): Promise<P.JobStatus> {
  return server.waitFor(P.JobStateChanged.type, (p) => p.jobId === jobId && p.state === state, 120_000);
}

async function pngSize(base64: string): Promise<[number, number]> {
  const meta = await sharp(Buffer.from(base64, 'base64')).metadata();
  assert.equal(meta.format, 'png');
  return [meta.width!, meta.height!];
}

describe('the MUNIT server over stdio', () => {
  before(async () => {
    workspace = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'munit-server-')));
    dataRoot = path.join(workspace, 'data');
    await generateDemoDataset(dataRoot, { size: SIZE, count: 8, testCount: 2, seed: 3 });
    server = await startServer(workspace);
  });

  after(async () => {
    await server?.close();
  });

  it('reports its backend and version in initialize', () => {
    assert.match(server.initializeResult.munit!.backend, /^wasm/);
    // The engine chain, with why each faster link was passed over (the tests force tfjs onto wasm).
    assert.match(
      server.initializeResult.munit!.engine,
      /^onnxruntime cpu, one compiled graph per update \(skipped onnxruntime cuda: provider not installed .*; onnxruntime webgpu: .+; tfjs tensorflow-gpu: tfjs runs on wasm\)$/,
    );
    assert.equal(server.initializeResult.serverInfo?.name, 'munit-server');
    assert.match(server.initializeResult.munit!.version, /^\d+\.\d+\.\d+/);
  });

  it('publishes diagnostics for a broken config, with a quick fix for a misspelt key', async () => {
    const file = path.join(workspace, 'broken.yaml');
    const text = demoConfigYaml(path.join(workspace, 'no-such-data'), SIZE).replace('lr_policy: step', 'lr_polcy: step').replace('gan_w: 1 ', 'gan_w: -2 ');
    const uri = openDocument(file, text);
    const diags = await diagnosticsFor(uri, (d) => d.length > 0);
    const unknown = diags.find((d) => d.code === 'unknown-key');
    assert.ok(unknown, JSON.stringify(diags));
    assert.match(messageOf(unknown), /lr_polcy/);
    assert.equal(
      unknown.range.start.line,
      text.split('\n').findIndex((l) => l.startsWith('lr_polcy')),
    );
    assert.ok(
      diags.some((d) => d.code === 'range' && /gan_w/.test(messageOf(d))),
      'negative gan_w is reported',
    );
    assert.ok(
      diags.some((d) => d.code === 'data-path' && /no-such-data/.test(messageOf(d))),
      'the missing data folder is reported',
    );
    const actions = (await server.connection.sendRequest(CodeActionRequest.type, {
      textDocument: { uri },
      range: unknown.range,
      context: { diagnostics: [unknown] },
    })) as { title: string; edit: { changes: Record<string, { newText: string }[]> } }[];
    assert.equal(actions[0].edit.changes[uri][0].newText, 'lr_policy');

    // Fixing the text clears the diagnostics.
    const fixed = demoConfigYaml(dataRoot, SIZE);
    void server.connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version: version++ },
      contentChanges: [{ text: fixed }],
    });
    assert.deepEqual(await diagnosticsFor(uri, (d) => d.length === 0), []);
  });

  it('leaves YAML files that are not MUNIT configs alone', async () => {
    const uri = openDocument(path.join(workspace, 'ci.yaml'), 'name: build\non:\n  push: {}\njobs:\n  test: {}\n');
    assert.deepEqual(await diagnosticsFor(uri, () => true), []);
    assert.equal(await server.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 0, character: 1 } }), null);
  });

  it('answers hover, completion and code lenses in a config', async () => {
    const text = demoConfigYaml(dataRoot, SIZE) + '\n\n';
    const uri = openDocument(path.join(workspace, 'lang.yaml'), text);
    const lines = text.split('\n');
    const reconLine = lines.findIndex((l) => l.startsWith('recon_x_w'));
    const hover = (await server.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: reconLine, character: 2 } })) as Hover;
    const value = (hover.contents as { value: string }).value;
    assert.match(value, /recon_x_w/);
    assert.match(value, /Default \(the reference's\): `10`/);

    const dimLine = lines.findIndex((l) => l.startsWith('  dim:'));
    const dimHover = (await server.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: dimLine, character: 3 } })) as Hover;
    assert.match((dimHover.contents as { value: string }).value, /gen\.dim/);

    const ganLine = lines.findIndex((l) => l.includes('gan_type:'));
    const col = lines[ganLine].indexOf(':') + 2;
    const values = (await server.connection.sendRequest(CompletionRequest.type, {
      textDocument: { uri },
      position: { line: ganLine, character: col },
    })) as CompletionItem[];
    assert.deepEqual(values.map((v) => v.label).sort(), ['lsgan', 'nsgan']);

    // On the empty last line: top-level keys the file does not have yet, none it has.
    const keys = (await server.connection.sendRequest(CompletionRequest.type, {
      textDocument: { uri },
      position: { line: lines.length - 1, character: 0 },
    })) as CompletionItem[];
    const labels = keys.map((k) => k.label);
    assert.ok(labels.includes('vgg_model_path'), labels.join(' '));
    assert.ok(!labels.includes('recon_x_w'));

    // A client without our extension: a plain title and the server's own command.
    const lenses = (await server.connection.sendRequest(CodeLensRequest.type, { textDocument: { uri } })) as { command: { title: string; command: string } }[];
    assert.deepEqual(
      lenses.map((l) => [l.command.title, l.command.command]),
      [['Train', P.SERVER_COMMANDS.startTraining]],
    );
  });

  it('refuses paths outside the workspace and unknown requests, and stays up', async () => {
    await assert.rejects(server.connection.sendRequest(P.Architecture.type, { configPath: '/etc/passwd' }), /outside the workspace/);
    await assert.rejects(server.connection.sendRequest('munit/noSuchThing', {}), /Unhandled method|not found/i);
    await assert.rejects(server.connection.sendRequest(P.StartTraining.type, { configPath: path.join(workspace, 'missing.yaml') }), /does not exist/);
    const broken = writeConfig('broken-data', { data_root: path.join(workspace, 'nowhere') });
    await assert.rejects(server.connection.sendRequest(P.StartTraining.type, { configPath: broken }), /data_root.*does not exist/s);
    const jobs: P.JobStatus[] = await server.connection.sendRequest(P.ListJobs.type, undefined);
    assert.ok(jobs.every((j) => j.configPath !== broken));
  });

  it('describes the architecture: style encoder without instance norm, AdaIN fed by the MLP, scales with pooling', async () => {
    const configPath = writeConfig('arch', FAST);
    const { graph, origin } = await server.connection.sendRequest(P.Architecture.type, { configPath, domain: 'b' });
    assert.equal(origin.kind, 'untrained');
    const groups = new Map(graph.groups.map((g) => [g.id, g]));
    const nodesOf = (group: string) => graph.nodes.filter((n) => n.group === group || n.group.startsWith(group + '/'));
    assert.match(groups.get('gen_b/enc_style')!.note ?? '', /no instance norm/);
    assert.ok(nodesOf('gen_b/enc_style').length > 0 && nodesOf('gen_b/enc_style').every((n) => n.norm !== 'in'));
    assert.ok(nodesOf('gen_b/enc_content').some((n) => n.norm === 'in'));
    const adainNodes = graph.nodes.filter((n) => n.norm === 'adain');
    assert.equal(adainNodes.length, 2 * 2, 'two AdaIN layers per residual block, n_res = 2');
    for (const n of adainNodes)
      assert.ok(
        graph.edges.some((e) => e.kind === 'adain' && e.to === n.id && e.from.startsWith('gen_b/mlp')),
        n.id,
      );
    assert.ok(graph.nodes.some((n) => n.kind === 'upsample' && n.norm === 'ln'));
    const scales = graph.groups.filter((g) => /^dis_b\/scale_\d+$/.test(g.id));
    assert.equal(scales.length, 2);
    assert.ok(graph.nodes.some((n) => n.kind === 'pool' && n.group.startsWith('dis_b')));
    assert.deepEqual(graph.nodes.find((n) => n.kind === 'output' && n.group.startsWith('gen_b'))?.outputShape, [3, SIZE, SIZE]);
  });

  describe('a training job', () => {
    let written: string | undefined;
    const jobConfig = () => (written ??= writeConfig('job', { ...FAST, max_iter: 400, image_display_iter: 3, snapshot_save_iter: 4 }));
    /**
     * The job of this block, running: each test asks for it, so that it stands alone (run by itself, or after a
     * failed one). In order, the first test starts it and the others find it running.
     */
    const runningJob = async (): Promise<P.JobStatus> => {
      const jobs: P.JobStatus[] = await server.connection.sendRequest(P.ListJobs.type, undefined);
      const found = jobs.find((j) => j.configPath === jobConfig() && P.isActiveJob(j.state) && j.state !== 'stopping');
      if (found?.state === 'paused') return server.connection.sendRequest(P.ResumeTraining.type, { jobId: found.jobId });
      return found ?? server.connection.sendRequest(P.StartTraining.type, { configPath: jobConfig() });
    };

    it('starts and streams metrics with every loss term, and samples as labelled PNG grids', async () => {
      const job = await runningJob();
      assert.equal(job.state, 'running');
      assert.equal(job.runFolder, path.join(workspace, 'outputs', 'job'));
      const m = await metricsAt(job.jobId, 2);
      for (const term of ['loss_dis_total', 'loss_gen_total', 'loss_gen_recon_x_a', 'loss_gen_adv_b'])
        assert.ok(Number.isFinite(m.metrics.losses[term as 'loss_gen_total']), term);
      assert.ok(m.metrics.seconds_per_iter > 0 && m.metrics.lr === 0.0002);
      const samples = await server.waitFor(P.Samples.type, (s) => s.jobId === job.jobId, 120_000);
      assert.deepEqual(samples.grids.map((g) => g.name).sort(), ['a2b_test', 'a2b_train', 'b2a_test', 'b2a_train']);
      const [w, h] = await pngSize(samples.grids[0].png);
      assert.ok(w > 2 * SIZE && h >= 4 * SIZE, `${w}x${h}`);
      const progress = server.received.get('$/progress') as { value: WorkDoneProgressBegin | WorkDoneProgressReport }[] | undefined;
      assert.ok(
        progress?.some((p) => p.value.kind === 'begin' && p.value.cancellable === true),
        'work-done progress began, cancellable',
      );
    });

    it('answers hover and completion while a step is in flight', async () => {
      const job = await runningJob();
      const uri = openDocument(path.join(workspace, 'during.yaml'), demoConfigYaml(dataRoot, SIZE));
      for (let k = 0; k < 3; k++) {
        await server.next(P.Metrics.type, (p) => p.jobId === job.jobId);
        // The next iteration is now in flight in the engine worker.
        const next = server.next(P.Metrics.type, (p) => p.jobId === job.jobId, 120_000).then(() => 'metrics');
        const answered = Promise.all([
          server.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 10, character: 1 } }),
          server.connection.sendRequest(CompletionRequest.type, { textDocument: { uri }, position: { line: 0, character: 0 } }),
        ]).then(() => 'answers');
        assert.equal(await Promise.race([answered, next]), 'answers', 'the language features answered before the next iteration finished');
      }
    });

    it('translates and shows activations with the live weights', async () => {
      await runningJob();
      const configPath = jobConfig();
      const image = path.join(dataRoot, 'testA', fs.readdirSync(path.join(dataRoot, 'testA'))[0]);
      const t = await server.connection.sendRequest(P.Translate.type, { configPath, image, direction: 'a2b', style: { kind: 'random', count: 3, seed: 1 } });
      assert.equal(t.origin.kind, 'live');
      assert.equal(t.outputs.length, 3);
      assert.equal(t.styleDim, 8);
      assert.deepEqual(await pngSize(t.outputs[0].png), [SIZE, SIZE]);
      const again = await server.connection.sendRequest(P.Translate.type, {
        configPath,
        image,
        direction: 'a2b',
        style: { kind: 'vector', values: t.outputs[1].style },
      });
      assert.deepEqual(
        again.outputs[0].style.map((v) => v.toFixed(5)),
        t.outputs[1].style.map((v) => v.toFixed(5)),
      );
      await assert.rejects(
        server.connection.sendRequest(P.Translate.type, { configPath, image, direction: 'a2b', style: { kind: 'vector', values: [1, 2] } }),
        /8 finite numbers/,
      );

      const { graph } = await server.connection.sendRequest(P.Architecture.type, { configPath, domain: 'a' });
      const node = graph.nodes.find((n) => n.kind === 'code' && n.outputShape.length === 3 && n.inspectable)!;
      const { activations } = await server.connection.sendRequest(P.GetActivations.type, { configPath, image, nodeId: node.id });
      assert.equal(activations.channels.length, node.outputShape[0]);
      assert.ok(activations.tiles);
      await pngSize(activations.tiles.png);
      const adain = graph.nodes.find((n) => n.norm === 'adain')!;
      const a2 = await server.connection.sendRequest(P.GetActivations.type, { configPath, image, nodeId: adain.id, style: t.outputs[0].style });
      assert.ok(a2.activations.adain && a2.activations.adain[0].gamma.length > 0);
    });

    it('applies a loss weight changed live from the next iteration and records it', async () => {
      const job = await runningJob();
      const result = await server.connection.sendRequest(P.UpdateHyperparameters.type, {
        jobId: job.jobId,
        changes: { recon_x_w: 3, image_display_iter: 1000 },
      });
      assert.equal(result.settings.recon_x_w, 3);
      const inForce = await server.connection.sendRequest(P.GetHyperparameters.type, { jobId: job.jobId });
      assert.deepEqual([inForce.recon_x_w, inForce.image_display_iter, inForce.lr, inForce.gan_w], [3, 1000, 0.0002, 1]);
      const withChange = await server.waitFor(P.Metrics.type, (p) => p.jobId === job.jobId && p.changes !== undefined);
      assert.deepEqual(withChange.changes, { recon_x_w: 3, image_display_iter: 1000 });
      assert.ok(withChange.metrics.iteration >= result.fromIteration);
      // The generator total is the weighted sum of its terms; with recon_x_w = 3 now.
      const l = withChange.metrics.losses;
      const expected =
        l.loss_gen_adv_a +
        l.loss_gen_adv_b +
        3 * (l.loss_gen_recon_x_a + l.loss_gen_recon_x_b) +
        (l.loss_gen_recon_s_a + l.loss_gen_recon_s_b) +
        (l.loss_gen_recon_c_a + l.loss_gen_recon_c_b);
      assert.ok(Math.abs(l.loss_gen_total - expected) < 1e-3 * Math.max(1, expected), `${l.loss_gen_total} vs ${expected}`);
      const lines = fs
        .readFileSync(path.join(job.runFolder, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((s) => JSON.parse(s));
      assert.ok(lines.some((x) => x.changes?.recon_x_w === 3 && x.iteration === result.fromIteration));
      await assert.rejects(server.connection.sendRequest(P.UpdateHyperparameters.type, { changes: { lr: -1 } }), /lr/);
      await assert.rejects(server.connection.sendRequest(P.UpdateHyperparameters.type, { changes: { max_iter: 5 } as never }), /cannot be changed/);
    });

    it('pauses, resumes and stops with a checkpoint', async () => {
      const job = await runningJob();
      const paused = await server.connection.sendRequest(P.PauseTraining.type, { jobId: job.jobId });
      assert.equal(paused.state, 'paused');
      const count = server.received.get(P.Metrics.method)!.length;
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(server.received.get(P.Metrics.method)!.length, count, 'no iterations while paused');
      await server.connection.sendRequest(P.ResumeTraining.type, { jobId: job.jobId });
      const last = (server.received.get(P.Metrics.method)!.at(-1) as P.MetricsParams).metrics.iteration;
      await metricsAt(job.jobId, last + 2);
      const stopped = await server.connection.sendRequest(P.StopTraining.type, { jobId: job.jobId });
      assert.equal(stopped.state, 'stopped');
      assert.equal(completeCheckpoints(path.join(job.runFolder, 'checkpoints')).at(-1), stopped.iteration);
      const done = (server.received.get('$/progress') as { value: { kind: string } }[]).filter((p) => p.value.kind === 'end');
      assert.ok(done.length >= 1, 'the progress ended');
    });

    it('answers from the checkpoint after the job, and previews an edited config', async () => {
      // After the stop above; alone, a job that has run and stopped with a checkpoint.
      const jobs: P.JobStatus[] = await server.connection.sendRequest(P.ListJobs.type, undefined);
      const active = jobs.find((j) => j.configPath === jobConfig() && P.isActiveJob(j.state));
      if (active) await server.connection.sendRequest(P.StopTraining.type, { jobId: active.jobId });
      if (!completeCheckpoints(path.join(workspace, 'outputs', 'job', 'checkpoints')).length) {
        const job = await server.connection.sendRequest(P.StartTraining.type, { configPath: jobConfig() });
        await metricsAt(job.jobId, 1);
        await server.connection.sendRequest(P.StopTraining.type, { jobId: job.jobId });
      }
      const configPath = jobConfig();
      const image = path.join(dataRoot, 'testB', fs.readdirSync(path.join(dataRoot, 'testB'))[0]);
      const t = await server.connection.sendRequest(P.Translate.type, { configPath, image, direction: 'b2a', style: { kind: 'random', count: 1 } });
      assert.equal(t.origin.kind, 'checkpoint');
      assert.deepEqual(await pngSize(t.input), [SIZE, SIZE]);
      const text = fs.readFileSync(configPath, 'utf8').replace(/^new_size: \d+/m, 'new_size: 48');
      const preview = await server.connection.sendRequest(P.ConfigPreview.type, { configPath, text });
      assert.deepEqual(preview.problems, []);
      assert.equal(preview.origin?.kind, 'checkpoint');
      assert.equal(preview.translations.length, 2);
      assert.equal(preview.data.length, 2);
      const broken = await server.connection.sendRequest(P.ConfigPreview.type, { configPath, text: text.replace('gan_w: 1', 'gan_w: lots') });
      assert.match(broken.problems.join('\n'), /gan_w/);
      assert.deepEqual(broken.translations, []);
    });
  });

  it('imports a PyTorch run with its history and translates with it', async () => {
    const copy = path.join(workspace, 'pytorch-run');
    fs.cpSync(path.join(__dirname, '../fixtures/torch/run'), copy, { recursive: true });
    const imported = await server.connection.sendRequest(P.ImportRun.type, { source: path.join(copy, 'outputs/tiny') });
    assert.equal(imported.iteration, 2);
    assert.ok(imported.metrics > 0, 'TensorBoard history became metrics.jsonl lines');
    assert.ok(imported.runFolder.startsWith(workspace));
    const image = path.join(dataRoot, 'testB', fs.readdirSync(path.join(dataRoot, 'testB'))[0]);
    const t = await server.connection.sendRequest(P.Translate.type, {
      runFolder: imported.runFolder,
      image,
      direction: 'b2a',
      style: { kind: 'random', count: 2 },
    });
    assert.deepEqual([t.origin.kind, t.origin.iteration], ['checkpoint', 2]);
    await assert.rejects(server.connection.sendRequest(P.ImportRun.type, { source: '/tmp' }), /outside the workspace/);
  });

  it('stops a job whose loss turns NaN, names the term and iteration, and keeps the last checkpoint', async () => {
    const configPath = writeConfig('nan', { ...FAST, max_iter: 400, snapshot_save_iter: 2 });
    const job = await server.connection.sendRequest(P.StartTraining.type, { configPath });
    await metricsAt(job.jobId, 2);
    // 1e39 is a finite number to JavaScript but infinite in float32: the weighted loss overflows.
    await server.connection.sendRequest(P.UpdateHyperparameters.type, { jobId: job.jobId, changes: { recon_x_w: 1e39 } });
    const failed = await jobState(job.jobId, 'failed');
    assert.match(failed.message ?? '', /iteration \d+/);
    assert.match(failed.message ?? '', /loss_gen/);
    const checkpoints = completeCheckpoints(path.join(job.runFolder, 'checkpoints'));
    assert.ok(checkpoints.length > 0);
    const image = path.join(dataRoot, 'testA', fs.readdirSync(path.join(dataRoot, 'testA'))[0]);
    const t = await server.connection.sendRequest(P.Translate.type, { configPath, image, direction: 'a2b', style: { kind: 'random', count: 1 } });
    assert.equal(t.origin.iteration, checkpoints.at(-1));
  });

  it('reports an engine that cannot start, and gives up restarting it instead of looping', async () => {
    const started = Date.now();
    await assert.rejects(startServer(workspace, { MUNIT_BACKEND: 'no-such-backend' }), /unknown backend 'no-such-backend'/);
    assert.ok(Date.now() - started < 60_000);
  });

  it('loses at most the work since the last checkpoint when killed, and resumes from it', async () => {
    const configPath = writeConfig('killed', { ...FAST, max_iter: 400, snapshot_save_iter: 3 });
    const second = await startServer(workspace);
    try {
      const job = await second.connection.sendRequest(P.StartTraining.type, { configPath });
      await second.waitFor(P.Metrics.type, (p) => p.metrics.iteration >= 7, 120_000);
      second.process.kill('SIGKILL');
      await new Promise((r) => second.process.once('exit', r));
      const saved = completeCheckpoints(path.join(job.runFolder, 'checkpoints'));
      assert.ok(saved.length >= 2 && saved.every((it) => it % 3 === 0), `complete checkpoints: ${saved}`);
      const leftovers = fs.readdirSync(path.join(job.runFolder, 'checkpoints')).filter((f) => !/^(gen|dis|optimizer)_\d{8}\.safetensors$/.test(f));
      assert.deepEqual(leftovers, [], 'no half-written files under their final names');
      const resumed = await server.connection.sendRequest(P.StartTraining.type, { configPath, resume: true });
      assert.equal(resumed.iteration, saved.at(-1));
      const m = await metricsAt(resumed.jobId, saved.at(-1)! + 1);
      assert.equal(m.metrics.iteration, saved.at(-1)! + 1);
      await server.connection.sendRequest(P.StopTraining.type, { jobId: resumed.jobId });
    } finally {
      await second.close();
    }
  });
});

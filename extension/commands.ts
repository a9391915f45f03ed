// The `munit.*` commands (titles and `when` clauses in package.json): each maps to a munit/* request or a panel.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CHECKPOINTS_FOLDER } from '../munit-core/run-folder.js';
import * as P from '../server/protocol.js';
import type { MunitContext } from './context.js';
import type { PanelSource } from './panels/panel-host.js';
import { readSettings } from './settings.js';

export function registerCommands(munit: MunitContext): void {
  const commands: Record<string, (...args: unknown[]) => unknown> = {
    'munit.startTraining': (arg) => startTraining(munit, arg),
    'munit.stopTraining': () => jobRequest(munit, P.StopTraining.type),
    'munit.pauseTraining': () => jobRequest(munit, P.PauseTraining.type),
    'munit.resumeTraining': () => jobRequest(munit, P.ResumeTraining.type),
    'munit.createDemoProject': () => createDemoProject(munit),
    'munit.openPyTorchRun': (arg) => openPyTorchRun(munit, arg),
    'munit.openLossCurves': async (arg) => showPanel(munit, 'lossCurves', arg),
    'munit.showArchitecture': async (arg) => showPanel(munit, 'architecture', arg),
    'munit.showSamples': async (arg) => showPanel(munit, 'samples', arg),
    'munit.inspectActivations': async (arg) => showPanel(munit, 'activations', arg),
    'munit.translateImage': (arg) => translateImage(munit, arg),
    'munit.tuneRunningJob': () => tuneRunningJob(munit),
    'munit.previewConfig': async (arg) => {
      const configPath = await munit.configs.resolve(arg, 'Config to preview');
      if (!configPath) return;
      await munit.configs.use(configPath);
      munit.panels.configPreview.show({ configPath });
    },
    'munit.restartServer': () =>
      vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Restarting the MUNIT server' }, () => munit.startServer()),
    'munit.showLogs': () => munit.output.show(true),
  };
  for (const [id, run] of Object.entries(commands)) {
    munit.extension.subscriptions.push(vscode.commands.registerCommand(id, (...args: unknown[]) => reportFailure(munit, id, () => run(...args))));
  }
}

/** A failed request (e.g. a config that does not validate) becomes one error notification with the server's message. */
async function reportFailure(munit: MunitContext, id: string, run: () => unknown): Promise<unknown> {
  try {
    return await run();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    munit.output.error(`${id}: ${message}`);
    void vscode.window.showErrorMessage(`MUNIT: ${message}`);
    return undefined;
  }
}

async function startTraining(munit: MunitContext, arg: unknown): Promise<P.JobStatus | undefined> {
  const configPath = await munit.configs.resolve(arg, 'Config to train');
  if (!configPath) return undefined;
  const checkpoints = path.join(munit.configs.runFolder(configPath), CHECKPOINTS_FOLDER);
  let resume = false;
  if (fs.existsSync(checkpoints) && fs.readdirSync(checkpoints).some((f) => f.startsWith('gen_'))) {
    const choice = await vscode.window.showQuickPick(
      [
        { label: 'Resume', detail: 'Continue from the newest checkpoint of the run', resume: true },
        { label: 'Start over', detail: 'Train from freshly initialised weights (the run folder is reused)', resume: false },
      ],
      { placeHolder: `${path.basename(configPath)} has checkpoints` },
    );
    if (!choice) return undefined;
    resume = choice.resume;
  }
  await munit.configs.use(configPath);
  const status = await munit.request(P.StartTraining.type, { configPath, resume });
  munit.jobs.setState(status);
  munit.panels.lossCurves.show({ configPath });
  return status;
}

async function jobRequest(munit: MunitContext, type: typeof P.StopTraining.type): Promise<P.JobStatus> {
  const status = await munit.request(type, { jobId: munit.jobs.active?.jobId });
  munit.jobs.setState(status);
  return status;
}

async function createDemoProject(munit: MunitContext): Promise<P.CreateDemoProjectResult | undefined> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  const root = folders.length === 1 ? folders[0] : await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Workspace folder for the demo project' });
  if (!root) return undefined;
  const folder = path.join(root.uri.fsPath, 'munit-demo');
  const existing = path.join(folder, 'demo.yaml');
  if (fs.existsSync(existing)) {
    void vscode.window.showInformationMessage(`${vscode.workspace.asRelativePath(folder)} already holds a demo project.`);
    await vscode.window.showTextDocument(vscode.Uri.file(existing));
    return undefined;
  }
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'MUNIT: drawing the demo data set (outlines and textured shapes)' },
    () => munit.request(P.CreateDemoProject.type, { folder }),
  );
  await munit.configs.use(result.configPath);
  await vscode.window.showTextDocument(vscode.Uri.file(result.configPath));
  void vscode.window
    .showInformationMessage(`MUNIT demo project: ${result.trainImages} training images per domain and ${path.basename(result.configPath)}.`, 'Start Training')
    .then((choice) => choice && vscode.commands.executeCommand('munit.startTraining', result.configPath));
  return result;
}

/** The model a panel or translation is about: the argument, the running job's config, the most recent config, or one
 * the person picks. */
async function modelSource(munit: MunitContext, arg: unknown, placeHolder: string): Promise<PanelSource | undefined> {
  if (arg !== undefined) {
    const configPath = await munit.configs.resolve(arg, placeHolder);
    return configPath ? { configPath } : undefined;
  }
  const configPath = munit.jobs.active?.configPath ?? munit.configs.recent ?? (await munit.configs.pick(placeHolder));
  return configPath ? { configPath } : undefined;
}

/** A run of the reference PyTorch code: converted by the server into a run folder here, then shown as any run. */
async function openPyTorchRun(munit: MunitContext, arg: unknown): Promise<P.ImportRunResult | undefined> {
  const source =
    arg instanceof vscode.Uri
      ? arg.fsPath
      : (
          await vscode.window.showOpenDialog({
            title: 'A PyTorch MUNIT run folder (outputs/<name>), its checkpoints folder, or a gen_*.pt file',
            canSelectFolders: true,
            canSelectFiles: true,
            filters: { 'PyTorch checkpoints': ['pt'] },
            defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
          })
        )?.[0]?.fsPath;
  if (!source) return undefined;
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `MUNIT: importing ${path.basename(source)} (weights, Adam state, TensorBoard history)` },
    () => munit.request(P.ImportRun.type, { source }),
  );
  for (const warning of result.warnings) munit.output.warn(`import: ${warning}`);
  munit.panels.lossCurves.show({ runFolder: result.runFolder });
  void vscode.window.showInformationMessage(
    `Imported iteration ${result.iteration} into ${vscode.workspace.asRelativePath(result.runFolder)} (${result.metrics} logged iterations)` +
      (result.warnings.length ? `; ${result.warnings.length} warnings in the MUNIT log.` : '.'),
  );
  return result;
}

async function showPanel(munit: MunitContext, kind: 'lossCurves' | 'architecture' | 'samples' | 'activations', arg: unknown): Promise<void> {
  const source = await modelSource(munit, arg, 'Config whose model to show');
  if (source) munit.panels[kind].show(source);
}

async function translateImage(munit: MunitContext, arg: unknown): Promise<string[] | undefined> {
  const image =
    arg instanceof vscode.Uri
      ? arg.fsPath
      : (
          await vscode.window.showOpenDialog({
            title: 'Image to translate',
            filters: { Images: ['png', 'jpg', 'jpeg'] },
            defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
          })
        )?.[0]?.fsPath;
  if (!image) return undefined;
  const found = await munit.configs.forImage(image);
  const configPath = found?.configPath ?? (await munit.configs.pick('Config whose model translates the image'));
  if (!configPath) return undefined;
  const direction = await vscode.window.showQuickPick(
    [
      { label: 'A → B', direction: 'a2b' as const, picked: found?.domain !== 'b' },
      { label: 'B → A', direction: 'b2a' as const, picked: found?.domain === 'b' },
    ].sort((x, y) => Number(y.picked) - Number(x.picked)),
    { placeHolder: `Translate ${path.basename(image)}` },
  );
  if (!direction) return undefined;
  const count = Math.max(1, readSettings().hoverStyles);
  const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `MUNIT: translating ${path.basename(image)}` }, () =>
    munit.request(P.Translate.type, { configPath, image, direction: direction.direction, style: { kind: 'random', count } }),
  );
  await munit.configs.use(configPath);
  // Written beside the run's other outputs, named like `munit translate` names them.
  const folder = path.join(munit.configs.runFolder(configPath), 'translations');
  fs.mkdirSync(folder, { recursive: true });
  const stem = path.basename(image).replace(/\.[^.]+$/, '');
  const files = result.outputs.map((output, i) => {
    const file = path.join(folder, `${stem}_${direction.direction}_${i}.png`);
    fs.writeFileSync(file, Buffer.from(output.png, 'base64'));
    return file;
  });
  await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(files[0]), { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: true });
  void vscode.window.showInformationMessage(
    `Translated ${path.basename(image)} ${direction.label} with ${files.length} random styles (${result.origin.kind} weights, iteration ${result.origin.iteration}) into ${vscode.workspace.asRelativePath(folder)}.`,
  );
  return files;
}

/** A quick change of one setting of the running job, or the tuning panel for sliders and style previews. */
async function tuneRunningJob(munit: MunitContext): Promise<P.UpdateHyperparametersResult | undefined> {
  const job = munit.jobs.active;
  if (!job) {
    void vscode.window.showInformationMessage('No MUNIT training job is running.');
    return undefined;
  }
  const picked = await pickTunable(munit, job);
  if (!picked) return undefined;
  if (!picked.key) {
    munit.panels.tuning.show({ configPath: job.configPath });
    return undefined;
  }
  const key = picked.key;
  const text = await vscode.window.showInputBox({
    prompt: `New value of ${key} (applied from the next iteration and recorded in metrics.jsonl)`,
    value: picked.description,
    // A new sample grid or loss point must not throw away what the user is typing.
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() !== '' && Number.isFinite(Number(v)) ? undefined : 'Enter a number'),
  });
  if (text === undefined) return undefined;
  const result = await munit.request(P.UpdateHyperparameters.type, { jobId: job.jobId, changes: { [key]: Number(text) } });
  void vscode.window.showInformationMessage(`${key} = ${result.settings[key]} from iteration ${result.fromIteration}.`);
  return result;
}

type TunableItem = vscode.QuickPickItem & { key: (typeof P.TUNABLE_KEYS)[number] | undefined };

/** The pick opens at once; the current values fill in when the server answers (it may be mid-iteration). */
function pickTunable(munit: MunitContext, job: P.JobStatus): Promise<TunableItem | undefined> {
  const panelItem: TunableItem = { label: '$(settings) Open the Tuning panel', description: 'sliders, style previews', key: undefined };
  const items = (settings?: P.TunableSettings): TunableItem[] => [
    panelItem,
    ...P.TUNABLE_KEYS.map((key) => ({ label: key, description: settings ? String(settings[key]) : undefined, key })),
  ];
  const pick = vscode.window.createQuickPick<TunableItem>();
  pick.placeholder = `Change a setting of ${path.basename(job.runFolder)} from the next iteration`;
  pick.ignoreFocusOut = true;
  pick.items = items();
  pick.busy = true;
  void munit
    .request(P.GetHyperparameters.type, { jobId: job.jobId })
    .then(
      (settings) => {
        const active = pick.activeItems[0]?.key;
        pick.items = items(settings);
        const again = pick.items.find((item) => item.key !== undefined && item.key === active);
        if (again) pick.activeItems = [again];
      },
      () => undefined,
    )
    .finally(() => (pick.busy = false));
  return new Promise((resolve) => {
    let chosen: TunableItem | undefined;
    pick.onDidAccept(() => {
      chosen = pick.selectedItems[0];
      pick.hide();
    });
    pick.onDidHide(() => {
      pick.dispose();
      resolve(chosen);
    });
    pick.show();
  });
}

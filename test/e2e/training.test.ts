// What a person does with the extension, in a real VS Code (code-server + Chromium), in one window: create the demo
// project and train it from the command palette, watch the status bar and the panels, hover an image, tune the job,
// stop it, and survive a killed server. Each test first establishes what it needs (the demo project, a running job, a
// checkpoint, an open panel), so that one failed step does not take down the ones after it; in order, each finds it
// done already.
// Screenshots go to test-results/e2e/.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Frame, Locator } from 'playwright-core';
import { eventually, openWorkbench, pickQuickItem, runCommand, screenshot, webviewFrame, type Workbench } from './harness.js';

/** The demo config, shortened for a test: frequent logs, grids and checkpoints; stopped by the test long before max_iter. */
function shortenConfig(text: string): string {
  const set = (key: string, value: number) => (t: string) => t.replace(new RegExp(`^${key}: \\d+`, 'm'), `${key}: ${value}`);
  return [set('max_iter', 500), set('log_iter', 2), set('image_display_iter', 4), set('image_save_iter', 4), set('snapshot_save_iter', 4)].reduce(
    (t, f) => f(t),
    text,
  );
}

describe('MUNIT in VS Code', { timeout: 420_000 }, () => {
  let wb: Workbench;
  let status: Locator;
  const config = () => path.join(wb.workspace, 'munit-demo/demo.yaml');
  const runFolder = () => path.join(wb.workspace, 'outputs/demo');
  /** The iteration the status bar shows while training, e.g. 12 in `MUNIT 12/500 · 0.4 it/s · loss 15.2`. */
  const shownIteration = async () => Number(/(\d+)\/500/.exec((await status.textContent()) ?? '')?.[1] ?? NaN);

  before(async () => {
    wb = await openWorkbench({
      settings: { 'munit.backend': 'wasm', 'munit.hover.styles': 2 },
      files: { 'notes.txt': 'munit-demo/data/testA/00003.png\n' },
    });
    status = wb.page.locator('[id="munit-studio.munit-studio.munit.status"]');
  });

  after(async () => {
    await wb?.close();
  });

  const createDemoProject = async () => {
    await runCommand(wb.page, 'MUNIT: Create Demo Project');
    await eventually('demo.yaml', () => (fs.existsSync(config()) ? true : undefined), 120_000);
    fs.writeFileSync(config(), shortenConfig(fs.readFileSync(config(), 'utf8')));
  };
  const idle = () => status.locator('.codicon-circuit-board');
  const pausedIcon = () => status.locator('.codicon-debug-pause');
  /** The demo project, and the server up: idle, or with a job running or paused. */
  const demoProject = async () => {
    if (!fs.existsSync(config())) await createDemoProject();
    const up = async () => (await idle().count()) > 0 || (await pausedIcon().count()) > 0 || Number.isFinite(await shownIteration());
    await eventually('the server', async () => ((await up()) ? true : undefined), 120_000);
  };
  /** A job that has logged at least two iterations: resumed if paused, started if none runs. */
  const training = async () => {
    await demoProject();
    if (await pausedIcon().count()) await runCommand(wb.page, 'MUNIT: Resume Training');
    else if (await idle().count()) {
      // Start Training trains the config in the active editor.
      await openFile(wb, 'demo.yaml');
      await runCommand(wb.page, 'MUNIT: Start Training');
    }
    await eventually('a running job', async () => ((await shownIteration()) >= 2 ? true : undefined), 120_000);
  };
  /**
   * The server idle. The status bar can be between states for a moment (a restarted server reporting in, a job that
   * just ended), so this waits for idle, and stops a job only while one is shown running or paused.
   */
  const noJob = async () => {
    await eventually(
      'no job running',
      async () => {
        if (await idle().count()) return true;
        if ((await pausedIcon().count()) || Number.isFinite(await shownIteration())) await runCommand(wb.page, 'MUNIT: Stop Training', undefined, 10_000);
        return undefined;
      },
      120_000,
    );
  };
  const checkpointFiles = () => {
    const dir = path.join(runFolder(), 'checkpoints');
    return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  };
  /** A generator checkpoint of at least this iteration. */
  const hasCheckpoint = (from = 1) => checkpointFiles().some((f) => Number(/^gen_(\d{8})\.safetensors$/.exec(f)?.[1] ?? 0) >= from);
  /**
   * No job running, and a checkpoint of iteration 12 or later (with log_iter 2, at least six logged points), so that
   * model requests answer from the checkpoint and the loss curves have a history.
   */
  const checkpointOnly = async () => {
    if (!hasCheckpoint(12)) {
      await training();
      await eventually('a checkpoint of iteration 12', () => (hasCheckpoint(12) ? true : undefined), 180_000);
    }
    await noJob();
  };
  const panelOpen = async (tab: string, command: string) => {
    if (!(await wb.page.locator('.tabs-container .tab', { hasText: tab }).count())) await runCommand(wb.page, command);
  };

  // What the window looked like at the end of each step, for whoever reads a failure.
  afterEach(async (t) => {
    await screenshot(wb.page, `steps/${t.name.replace(/[^\w]+/g, '-').slice(0, 60)}`);
  });

  test('Create Demo Project writes the data and the config and opens it', async () => {
    await createDemoProject();
    assert.equal(fs.readdirSync(path.join(wb.workspace, 'munit-demo/data/trainA')).length, 1000);
    await wb.page.locator('.tabs-container .tab', { hasText: 'demo.yaml' }).waitFor();
    await status.locator('.codicon-circuit-board').waitFor({ timeout: 60_000 });
    await screenshot(wb.page, 'demo-project');
  });

  test('Stop Training is hidden while nothing trains', async () => {
    await demoProject();
    await noJob();
    await wb.page.keyboard.press('F1');
    await wb.page.locator('.quick-input-widget input').fill('>MUNIT: Stop Training');
    await wb.page.waitForTimeout(1000);
    assert.equal(await wb.page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Stop Training' }).count(), 0);
    await wb.page.keyboard.press('Escape');
  });

  test('Start Training from the palette: metrics reach the status bar and the loss curves', async () => {
    await demoProject();
    await noJob();
    await runCommand(wb.page, 'MUNIT: Start Training');
    await eventually('metrics in the status bar', async () => ((await shownIteration()) >= 2 ? true : undefined), 120_000);
    assert.match((await status.textContent()) ?? '', /MUNIT \d+\/500 · [\d.]+ it\/s · loss [\d.]+/);
    const curves = await webviewFrame(wb.page, 'Loss Curves: demo', 'Loss Curves');
    const points = () => curves.locator('munit-loss-curves').evaluate((el) => (el as unknown as { chart?: { data: unknown[][] } }).chart?.data[0]?.length ?? 0);
    const first = await eventually('points on the chart', async () => ((await points()) >= 1 ? points() : undefined), 60_000);
    await eventually('live points added', async () => ((await points()) > first ? true : undefined), 60_000);
    await status.hover();
    await wb.page.locator('.monaco-hover', { hasText: 'loss_gen_total' }).waitFor({ timeout: 10_000 });
    await screenshot(wb.page, 'loss-curves');
  });

  test('Pause and Resume Training hold and continue the job, each offered only when it applies', async () => {
    await training();
    await runCommand(wb.page, 'MUNIT: Pause Training');
    await pausedIcon().waitFor({ timeout: 60_000 });
    // The iteration in flight when the pause arrived still finishes and may be logged.
    await wb.page.waitForTimeout(3000);
    const paused = await shownIteration();
    await wb.page.waitForTimeout(4000);
    assert.equal(await shownIteration(), paused, 'no iterations while paused');
    await runCommand(wb.page, 'MUNIT: Resume Training');
    await eventually('iterations after resuming', async () => ((await shownIteration()) > paused ? true : undefined), 60_000);
  });

  test('Tune Running Job changes a loss weight, applied live and recorded in metrics.jsonl', async () => {
    await training();
    await runCommand(wb.page, 'MUNIT: Tune Running Job', /^recon_x_w/);
    // The value box replaces the pick in the same widget: wait for its prompt, not just for an input.
    await wb.page.locator('.quick-input-widget', { hasText: 'New value of recon_x_w' }).waitFor({ state: 'visible', timeout: 30_000 });
    const input = wb.page.locator('.quick-input-widget input');
    await input.fill('5');
    await input.press('Enter');
    const recorded = await eventually(
      'the change in metrics.jsonl',
      () => {
        const lines = fs
          .readFileSync(path.join(runFolder(), 'metrics.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { iteration: number; changes?: { recon_x_w?: number } });
        return lines.find((l) => l.changes?.recon_x_w === 5);
      },
      60_000,
    );
    assert.ok(recorded);
    // The loss curves mark the change once its iteration is logged.
    await eventually(
      'a logged iteration after the change',
      async () => ((await shownIteration()) > (recorded as { iteration: number }).iteration ? true : undefined),
      60_000,
    );
    await webviewFrame(wb.page, 'Loss Curves: demo', 'Loss Curves');
    await wb.page.waitForTimeout(1500);
    await screenshot(wb.page, 'loss-curves-tuned');
  });

  test('Show Architecture draws the groups of both networks', async () => {
    await demoProject();
    await runCommand(wb.page, 'MUNIT: Show Architecture');
    const frame = await webviewFrame(wb.page, 'Architecture: demo', 'Architecture');
    const group = (id: string) => frame.locator(`[data-group-id="${id}"]`);
    await group('gen_a/enc_style').waitFor({ timeout: 60_000 });
    assert.match((await group('gen_a/enc_style').textContent()) ?? '', /no instance norm/);
    for (const id of ['gen_a/enc_content', 'gen_a/mlp', 'gen_a/dec', 'dis_a/scale_0', 'dis_a/scale_1']) {
      assert.equal(await group(id).count(), 1, `group ${id}`);
    }
    await screenshot(wb.page, 'architecture');
  });

  test('clicking a layer in the architecture opens its activations', async () => {
    await demoProject();
    await panelOpen('Architecture: demo', 'MUNIT: Show Architecture');
    const architecture = await webviewFrame(wb.page, 'Architecture: demo', 'Architecture');
    await architecture.locator('.node.inspectable[data-node-id^="gen_a/enc_content"]').first().click();
    const activations = await webviewFrame(wb.page, 'Activations: demo', 'Activations');
    const tiles = activations.locator('munit-activations img.tiles');
    await tiles.waitFor({ timeout: 60_000 });
    // The maps of the clicked layer, decoded, with a row of statistics per channel.
    assert.match((await tiles.getAttribute('alt')) ?? '', /^feature maps of gen_a\/enc_content/);
    await eventually('the tiles decoded', async () => ((await tiles.evaluate((el) => (el as HTMLImageElement).naturalWidth)) > 0 ? true : undefined), 30_000);
    assert.ok((await activations.locator('munit-activations .stats tbody tr').count()) >= 8, 'a statistics row per channel');
    await screenshot(wb.page, 'activations');
  });

  test('Show Samples, Preview Config and the Tuning panel show their data', async () => {
    await training();
    await eventually('a numbered sample grid', () => (fs.existsSync(path.join(runFolder(), 'images/gen_a2b_train_00000004.png')) ? true : undefined), 120_000);
    // [command, page title, what shows that the host sent the panel its data]
    const panels: [string, string, string][] = [
      ['MUNIT: Show Samples', 'Samples', 'munit-samples img'],
      ['MUNIT: Preview Config', 'Config Preview', 'munit-config-preview img'],
    ];
    for (const [command, title, shown] of panels) {
      // Preview Config is offered for YAML editors only.
      if (title === 'Config Preview') await wb.page.locator('.tabs-container .tab', { hasText: 'demo.yaml' }).click();
      await runCommand(wb.page, command);
      const frame = await webviewFrame(wb.page, `${title}: demo`, title);
      const image = frame.locator(shown).first();
      await image.waitFor({ state: 'attached', timeout: 60_000 });
      await eventually(
        `${title}: an image decoded`,
        async () => ((await image.evaluate((el) => (el as HTMLImageElement).naturalWidth)) > 0 ? true : undefined),
        30_000,
      );
      // The sample grids are the four of the newest saved iteration, labelled.
      if (title === 'Samples') {
        const labels = await frame.locator('munit-samples img').evaluateAll((els) => els.map((el) => el.getAttribute('alt') ?? ''));
        assert.deepEqual(labels.map((l) => l.replace(/ at iteration \d+$/, '')).sort(), ['a2b_test', 'a2b_train', 'b2a_test', 'b2a_train'], labels.join(', '));
      }
      await screenshot(wb.page, title.toLowerCase().replace(' ', '-'));
    }
    await runCommand(wb.page, 'MUNIT: Tune Running Job', 'Open the Tuning panel');
    const tuning = await webviewFrame(wb.page, 'Tuning: demo', 'Tuning');
    await tuning.locator('munit-tuning', { hasText: 'recon_x_w' }).waitFor({ timeout: 30_000 });
    await screenshot(wb.page, 'tuning');
  });

  test('hovering an image path shows its translations', async () => {
    await training();
    await openFile(wb, 'notes.txt');
    await hoverImagePath(wb);
    const hover = wb.page.locator('.monaco-hover', { hasText: '00003.png' });
    await hover.locator('img[alt="style 2"]').waitFor({ timeout: 60_000 });
    assert.match((await hover.textContent()) ?? '', /A → B with 2 random styles \(demo\.yaml, live weights, iteration \d+\)/);
    await screenshot(wb.page, 'hover');
  });

  test('Translate Image... writes translations of a picked image', async () => {
    await demoProject();
    await runCommand(wb.page, 'MUNIT: Translate Image...');
    // code-server's open dialog is a quick input that takes a path, once it has shown its starting folder.
    const input = wb.page.locator('.quick-input-widget input');
    await eventually('the open dialog', async () => ((await input.inputValue()).endsWith('/workspace/') ? true : undefined), 30_000);
    await input.fill(path.join(wb.workspace, 'munit-demo/data/testA/00005.png'));
    await wb.page.locator('.quick-input-widget .monaco-list-row', { hasText: '00005.png' }).waitFor();
    await input.press('Enter');
    await pickQuickItem(wb.page, 'A → B');
    const first = path.join(runFolder(), 'translations/00005_a2b_0.png');
    await eventually('the translations', () => (fs.existsSync(first) && fs.existsSync(first.replace('_0.png', '_1.png')) ? true : undefined), 60_000);
    assert.deepEqual([...fs.readFileSync(first).subarray(1, 4)], [...Buffer.from('PNG')]);
  });

  test('Stop Training stops the job and hides the command again', async () => {
    await training();
    await wb.page.keyboard.press('Escape');
    await runCommand(wb.page, 'MUNIT: Stop Training');
    await idle().waitFor({ timeout: 120_000 });
    assert.ok(hasCheckpoint(), checkpointFiles().join(', '));
  });

  test('a killed server is restarted by the client and answers again', async () => {
    await checkpointOnly();
    const [server] = wb.processes(/dist\/server\.js.*--node-ipc/);
    assert.ok(server, 'the language server runs below code-server');
    process.kill(server.pid, 'SIGKILL');
    await wb.page.locator('.notifications-toasts', { hasText: 'stopped unexpectedly' }).waitFor({ timeout: 30_000 });
    await status.locator('.codicon-circuit-board').waitFor({ timeout: 60_000 });
    const [restarted] = wb.processes(/dist\/server\.js.*--node-ipc/);
    assert.ok(restarted && restarted.pid !== server.pid, 'a new server process');
    // The new server answers a model request: the hover translates with the checkpoint the stopped job saved.
    await openFile(wb, 'notes.txt');
    await hoverImagePath(wb);
    await wb.page.locator('.monaco-hover', { hasText: /checkpoint weights, iteration \d+/ }).waitFor({ timeout: 60_000 });
    await screenshot(wb.page, 'after-restart');
  });

  test('changing the server heap size offers a restart that applies it', async () => {
    await runCommand(wb.page, 'Preferences: Open User Settings');
    const search = wb.page.locator('.settings-editor .suggest-input-container textarea').first();
    await search.fill('munit.server.maxHeapMB');
    await wb.page.locator('.setting-item-number', { hasText: 'Max Heap MB' }).locator('input').fill('3072');
    const toast = wb.page.locator('.notification-toast', { hasText: 'after a restart' });
    await toast.getByRole('button', { name: 'Restart now' }).click({ timeout: 30_000 });
    await eventually('a server with the new heap size', () => wb.processes(/--max-old-space-size=3072.*dist\/server\.js/)[0], 60_000);
    await status.locator('.codicon-circuit-board').waitFor({ timeout: 60_000 });
  });

  test('after a window reload the panels come back with their runs', async () => {
    await checkpointOnly();
    await panelOpen('Loss Curves: demo', 'MUNIT: Open Loss Curves');
    await panelOpen('Architecture: demo', 'MUNIT: Show Architecture');
    // The command, not a browser reload: it lets the workbench save its editors first, as a person's reload does.
    const reloaded = wb.page.waitForEvent('load');
    await runCommand(wb.page, 'Developer: Reload Window');
    await reloaded;
    await wb.page.locator('.monaco-workbench .part.statusbar').waitFor({ timeout: 60_000 });
    const curves = await restoredPanel(wb, 'Loss Curves: demo', 'Loss Curves', 'munit-loss-curves', 'Architecture: demo');
    const points = () => curves.locator('munit-loss-curves').evaluate((el) => (el as unknown as { chart?: { data: unknown[][] } }).chart?.data[0]?.length ?? 0);
    await eventually('the restored history on the chart', async () => ((await points()) >= 5 ? true : undefined), 60_000);
    const architecture = await restoredPanel(wb, 'Architecture: demo', 'Architecture', '[data-group-id="gen_a/enc_style"]', 'Loss Curves: demo');
    await architecture.getByText(/checkpoint weights, iteration \d+/).waitFor({ timeout: 30_000 });
    await screenshot(wb.page, 'after-reload');
  });

  test('no script errors or content-security-policy violations in the window or the panels', () => {
    assert.deepEqual(wb.pageErrors, []);
  });
});

/** A panel restored after a reload, showing `shown`. code-server sometimes hands a restored webview the previous page's
 * service worker ("Found unexpected service worker controller" in the console) and its script never loads; showing
 * another tab and then the panel again gives it a fresh frame, as it would for a person who clicks around. */
async function restoredPanel(wb: Workbench, tab: string, pageTitle: string, shown: string, otherTab: string): Promise<Frame> {
  for (let attempt = 0; ; attempt++) {
    // The page may not load at all (no frame with its title) or load without content: both get a fresh frame.
    const frame = await webviewFrame(wb.page, tab, pageTitle, 20_000).catch(() => undefined);
    if (
      frame &&
      (await frame
        .locator(shown)
        .first()
        .waitFor({ state: 'attached', timeout: 20_000 })
        .then(
          () => true,
          () => false,
        ))
    )
      return frame;
    if (attempt === 4) throw new Error(`the restored panel '${tab}' stayed empty`);
    await wb.page.locator('.tabs-container .tab', { hasText: otherTab }).first().click();
  }
}

async function openFile(wb: Workbench, name: string): Promise<void> {
  await wb.page.keyboard.press('Escape');
  await wb.page.keyboard.press('Control+P');
  await wb.page.locator('.quick-input-widget input').fill(name);
  await pickQuickItem(wb.page, name);
  await wb.page.locator('.tabs-container .tab.active', { hasText: name }).first().waitFor();
}

async function hoverImagePath(wb: Workbench): Promise<void> {
  const word = wb.page.locator('.editor-instance .view-line span', { hasText: '00003.png' }).last();
  await word.waitFor();
  const box = (await word.boundingBox())!;
  // Near its start: a narrow editor group may show only the beginning of the line.
  await wb.page.mouse.move(box.x + 12, box.y + box.height / 2);
}

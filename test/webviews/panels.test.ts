// The panels, built as shipped and run in Chromium under the webview CSP, driven by host messages as the extension
// sends them: what they draw, what they post back, what they save for a reload; no page errors, no CSP violations.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PANELS, panelScriptPath } from '../../webviews/panels.js';
import type { PanelKind, PanelState } from '../../webviews/protocol.js';
import { ADAIN_NODE, CONV_NODE, LOSS_TERMS, lossHistory, makeFixtures, type Fixtures } from './fixtures.js';
import { buildBundles, PanelHarness, type PanelPage } from './harness.js';

let harness: PanelHarness;
let fixtures: Fixtures;
let dir: string;

before(async () => {
  buildBundles();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'munit-panels-'));
  [harness, fixtures] = await Promise.all([PanelHarness.start(), makeFixtures(dir)]);
});

after(async () => {
  await harness?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Opens a panel, runs the test body, and checks that nothing went wrong in the page meanwhile. */
async function withPanel(kind: PanelKind, body: (panel: PanelPage) => Promise<void>, state?: object): Promise<void> {
  const panel = await harness.open(kind, state);
  try {
    await body(panel);
    assert.deepEqual(await panel.violations(), []);
  } finally {
    await panel.page.close();
  }
}

describe('panel bundles', () => {
  it('are built for every panel', () => {
    for (const kind of Object.keys(PANELS) as PanelKind[]) {
      const file = path.join(...panelScriptPath(kind));
      const size = fs.statSync(file).size;
      console.log(`${file}: ${(size / 1024).toFixed(1)} KiB`);
      assert.ok(size > 1000, file);
    }
  });

  it('say what to do when there is no data yet', async () => {
    await Promise.all(
      (Object.keys(PANELS) as PanelKind[]).map((kind) =>
        withPanel(kind, async (panel) => {
          const text = await panel.page.locator('.empty').first().innerText();
          assert.match(text, /MUNIT: /, `${kind}: ${text}`);
        }),
      ),
    );
  });
});

describe('loss curves', () => {
  const chart = (panel: PanelPage) =>
    panel.page.evaluate(() => {
      const el = document.querySelector('munit-loss-curves') as HTMLElement & {
        chart?: { data: unknown[][]; series: { show?: boolean; label?: string }[]; scales: Record<string, { distr?: number }>; ctx: CanvasRenderingContext2D };
      };
      const c = el.chart!;
      const { width, height } = c.ctx.canvas;
      const pixels = c.ctx.getImageData(0, 0, width, height).data;
      let painted = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) painted++;
      // Total variation of the first term's raw series and of its smoothed one (no named functions in here: tsx
      // would wrap them in a helper the page does not have).
      const [rawVariation, smoothVariation] = [c.data[1]!, c.data[2]!].map((ys) => {
        let sum = 0;
        for (let i = 1; i < ys.length; i++) if (ys[i] != null && ys[i - 1] != null) sum += Math.abs((ys[i] as number) - (ys[i - 1] as number));
        return sum;
      });
      return {
        rawVariation,
        smoothVariation,
        points: c.data[0]!.length,
        series: c.series.map((s) => ({ label: s.label!, show: s.show !== false })),
        distr: c.scales.y!.distr,
        painted,
      };
    });

  it('draws runs, overlays a second one, toggles terms, switches to log scale and marks live changes', async () => {
    await withPanel('lossCurves', async (panel) => {
      await panel.notify('history', { runs: [lossHistory('/runs/demo', 2000, 1, 8000)] });
      await panel.page.waitForFunction(() => (document.querySelector('munit-loss-curves') as { chart?: unknown }).chart);
      const first = await chart(panel);
      assert.equal(first.points, 2000);
      assert.equal(first.series.length, 1 + 2 * LOSS_TERMS.length);
      assert.ok(first.painted > 5000, `painted pixels: ${first.painted}`);

      // Live points arrive one at a time and are appended.
      const live = lossHistory('/runs/demo', 2010, 1).entries.slice(2000);
      for (const entry of live) await panel.notify('metrics', { jobId: 'job-1', runFolder: '/runs/demo', ...entry });
      await panel.page.waitForFunction(
        () => (document.querySelector('munit-loss-curves') as unknown as { chart: { data: unknown[][] } }).chart.data[0]!.length === 2010,
      );
      // The x axis follows the live points (it is not zoomed in).
      await panel.page.waitForFunction(() => {
        const c = (document.querySelector('munit-loss-curves') as unknown as { chart: { data: number[][]; scales: { x: { max: number } } } }).chart;
        return c.scales.x.max === c.data[0]!.at(-1);
      });

      await panel.notify('history', { runs: [lossHistory('/runs/older', 1500, 7)] });
      await panel.page.waitForFunction(
        () => (document.querySelector('munit-loss-curves') as unknown as { chart: { series: unknown[] } }).chart.series.length > 40,
      );
      const overlaid = await chart(panel);
      assert.equal(overlaid.series.length, 1 + 2 * 2 * LOSS_TERMS.length);
      await panel.page.locator('.smoothing input').fill('0.95');
      await panel.page.locator('.smoothing output', { hasText: '0.95' }).waitFor();
      await panel.page.evaluate(() => new Promise(requestAnimationFrame));
      const smoothed = await chart(panel);
      assert.ok(smoothed.smoothVariation < overlaid.smoothVariation / 2, `${smoothed.smoothVariation} vs ${overlaid.smoothVariation}`);
      assert.equal(smoothed.rawVariation, overlaid.rawVariation);

      // The readout: values under the cursor.
      const box = (await panel.page.locator('.chart').boundingBox())!;
      await panel.page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.4);
      await panel.page.locator('.runs', { hasText: /iteration \d+/ }).waitFor();
      await panel.screenshot();

      await panel.page.locator('vscode-checkbox[data-term="loss_gen_total"]').click();
      const toggled = await chart(panel);
      const total = toggled.series.filter((s) => s.label.endsWith('loss_gen_total'));
      assert.equal(total.length, 2);
      assert.ok(total.every((s) => !s.show));
      assert.ok(toggled.painted < overlaid.painted, 'hiding a term paints less');

      await panel.page.locator('vscode-checkbox', { hasText: 'Log scale' }).click();
      await panel.page.waitForFunction(
        () => (document.querySelector('munit-loss-curves') as unknown as { chart: { scales: { y: { distr: number } } } }).chart.scales.y.distr === 3,
      );

      const state = await panel.savedState<PanelState<'lossCurves'>>();
      assert.deepEqual(state.runFolders, ['/runs/demo', '/runs/older']);
      assert.deepEqual(state.hidden, ['loss_gen_total']);
      assert.equal(state.smoothing, 0.95);
      assert.equal(state.logScale, true);
    });
  });

  it('restores its saved settings after a reload', async () => {
    const saved: PanelState<'lossCurves'> = { runFolders: ['/runs/demo'], hidden: ['loss_dis_a'], smoothing: 0.9, logScale: true };
    await withPanel(
      'lossCurves',
      async (panel) => {
        await panel.notify('history', { runs: [lossHistory('/runs/demo', 300, 3)] });
        await panel.page.waitForFunction(() => (document.querySelector('munit-loss-curves') as { chart?: unknown }).chart);
        const c = await chart(panel);
        assert.equal(c.distr, 3);
        assert.ok(c.series.filter((s) => s.label.includes('loss_dis_a')).every((s) => !s.show));
        assert.equal(await panel.page.locator('input[type=range]').inputValue(), '0.9');
      },
      saved,
    );
  });

  it('loads 100,000 points', async () => {
    await withPanel('lossCurves', async (panel) => {
      const ms = await panel.page.evaluate(async (terms) => {
        const entries = [];
        for (let i = 1; i <= 100_000; i++) {
          const losses = Object.fromEntries(terms.map((t, k) => [t, (1 + k) * (1 + Math.exp(-i / 20000)) + Math.sin(i * (k + 1))]));
          entries.push({ metrics: { iteration: i, lr: 1e-4, seconds_per_iter: 0.1, losses, time: '' } });
        }
        const start = performance.now();
        window.postMessage({ method: 'history', params: { runs: [{ runFolder: '/runs/long', label: 'long', entries }] } }, '*');
        const el = document.querySelector('munit-loss-curves') as unknown as { chart?: { data: unknown[][] } };
        while (el.chart?.data[0]?.length !== 100_000) await new Promise(requestAnimationFrame);
        await new Promise(requestAnimationFrame);
        return performance.now() - start;
      }, LOSS_TERMS);
      console.log(`100,000 points x ${LOSS_TERMS.length} terms: drawn in ${ms.toFixed(0)} ms`);
      assert.equal((await chart(panel)).points, 100_000);
    });
  });
});

describe('architecture', () => {
  it('lays out every group, marks the style encoder and AdaIN, collapses groups and asks to inspect a layer', async () => {
    await withPanel('architecture', async (panel) => {
      const { graph } = fixtures.architecture;
      await panel.notify('graph', fixtures.architecture);
      const groups = panel.page.locator('[data-group-id]');
      await groups.first().waitFor();
      assert.deepEqual((await groups.evaluateAll((els) => els.map((e) => e.getAttribute('data-group-id')))).sort(), graph.groups.map((g) => g.id).sort());
      assert.equal(await panel.page.locator('[data-node-id]').count(), graph.nodes.length);
      assert.match((await panel.page.locator('[data-group-id="gen_a/enc_style"] .header').textContent()) ?? '', /no instance norm/);
      assert.equal(await panel.page.locator('path.edge.adain').count(), graph.edges.filter((e) => e.kind === 'adain').length);
      assert.ok((await panel.page.locator('.node .norm-ln').count()) >= 2, 'LayerNorm upsampling');

      await panel.page.locator(`[data-node-id="${CONV_NODE}"]`).click();
      const [inspect] = await panel.waitForPosted('inspectNode');
      assert.deepEqual(inspect!.params, { nodeId: CONV_NODE });

      await panel.page.locator('[data-group-id="dis_a"] .header').click();
      await panel.page.waitForFunction(() => !document.querySelector('munit-architecture')!.shadowRoot!.querySelector('[data-node-id^="dis_a/"]'));
      assert.equal(await panel.page.locator('[data-group-id="dis_a/scale_0"]').count(), 0);
      assert.match((await panel.page.locator('[data-group-id="dis_a"]').textContent()) ?? '', /8\.3M params/);
      assert.deepEqual((await panel.savedState<PanelState<'architecture'>>()).collapsed, ['dis_a']);

      // Zoom (wheel) into the MLP and its AdaIN edges into the decoder.
      await panel.page.locator('vscode-button', { hasText: 'Fit' }).click();
      const mlp = (await panel.page.locator('[data-group-id="gen_a/mlp"]').boundingBox())!;
      await panel.page.mouse.move(mlp.x + mlp.width / 2, mlp.y + mlp.height);
      await panel.page.mouse.wheel(0, -600);
      await panel.page.waitForFunction(() =>
        /scale\((?!0\.[0-4])/.test(document.querySelector('munit-architecture')!.shadowRoot!.querySelector('svg.canvas > g')!.getAttribute('transform')!),
      );
      await panel.screenshot();
    });
  });
});

describe('samples', () => {
  it('shows the newest grids, steps back with the slider and follows live grids again at the end', async () => {
    await withPanel('samples', async (panel) => {
      const [s500, s1500, s2500] = fixtures.samples;
      await panel.notify('history', { steps: [s500, s1500] });
      const image = panel.page.locator('img');
      await image.waitFor();
      const src = () => image.getAttribute('src');
      assert.equal(await src(), `data:image/png;base64,${s1500!.grids[0]!.png}`);

      await panel.page.locator('input[type=range]').fill('0');
      assert.equal(await src(), `data:image/png;base64,${s500!.grids[0]!.png}`);
      assert.equal((await panel.savedState<PanelState<'samples'>>()).followLive, false);

      // Not following: a live grid is added to the slider but the shown one stays.
      await panel.notify('samples', s2500);
      await panel.page.getByText('1 of 3').waitFor();
      assert.equal(await src(), `data:image/png;base64,${s500!.grids[0]!.png}`);

      await panel.page.locator('input[type=range]').fill('2');
      assert.equal(await src(), `data:image/png;base64,${s2500!.grids[0]!.png}`);
      assert.equal((await panel.savedState<PanelState<'samples'>>()).followLive, true);
      await panel.screenshot();
    });
  });
});

describe('activations', () => {
  it('asks for a layer of an image and shows its tiles, statistics and AdaIN gamma/beta', async () => {
    await withPanel('activations', async (panel) => {
      await panel.answer({ getActivations: fixtures.convActivations });
      await panel.notify('graph', fixtures.architecture);
      await panel.notify('images', { images: fixtures.images });
      await panel.notify('select', { nodeId: CONV_NODE });
      const [request] = await panel.waitForPosted('getActivations');
      assert.deepEqual(request!.params, { image: fixtures.images[0], nodeId: CONV_NODE, domain: 'a' });
      await panel.page.locator('img.tiles').waitFor();
      const channels = fixtures.convActivations.activations.channels;
      assert.equal(await panel.page.locator('tbody tr').count(), channels.length);

      await panel.page.locator('th[data-column="mean"]').click();
      const means = await panel.page.locator('tbody tr td:nth-child(2)').allTextContents();
      const sorted = [...channels].sort((a, b) => b.mean - a.mean);
      assert.equal(Number(means[0]), Number(sorted[0]!.mean.toPrecision(4)));
      assert.deepEqual((await panel.savedState<PanelState<'activations'>>()).sort, { column: 'mean', descending: true });

      await panel.answer({ getActivations: fixtures.adainActivations });
      await panel.notify('select', { nodeId: ADAIN_NODE });
      await panel.page.locator('svg.bars').first().waitFor();
      const layers = fixtures.adainActivations.activations.adain ?? [];
      assert.ok(layers.length > 0, 'the fixture has AdaIN parameters');
      assert.equal(await panel.page.locator('svg.bars').count(), 2 * layers.length);
      await panel.screenshot();
    });
  });
});

describe('tuning', () => {
  it('applies edited settings and translates as the style sliders move', async () => {
    await withPanel('tuning', async (panel) => {
      const job = { jobId: 'job-1', configPath: '/demo.yaml', runFolder: '/outputs/demo', state: 'running', iteration: 1234, maxIter: 100000 };
      await panel.answer({
        translate: fixtures.translation,
        updateHyperparameters: { fromIteration: 1235, settings: { ...fixtures.settings, gan_w: 2 } },
      });
      await panel.notify('job', { job, settings: fixtures.settings });
      await panel.notify('images', { images: fixtures.images });

      // A random style first: it tells the panel style_dim and fills the sliders.
      const [random] = await panel.waitForPosted('translate');
      assert.deepEqual(random!.params, { image: fixtures.images[0], direction: 'a2b', style: { kind: 'random', count: 1 } });
      const sliders = panel.page.locator('.sliders input[type=range]');
      await sliders.first().waitFor();
      assert.equal(await sliders.count(), fixtures.translation.styleDim);

      await sliders.nth(2).fill('1.5');
      const [, moved] = await panel.waitForPosted('translate', 2);
      const values = (moved!.params as { style: { kind: string; values: number[] } }).style;
      assert.equal(values.kind, 'vector');
      assert.equal(values.values[2], 1.5);

      await panel.page.locator('vscode-textfield[name="gan_w"] input').fill('2');
      await panel.page.locator('vscode-button', { hasText: 'Apply' }).click();
      const [update] = await panel.waitForPosted('updateHyperparameters');
      assert.deepEqual(update!.params, { changes: { gan_w: 2 } });
      await panel.page.getByText('Applied from iteration 1235.').waitFor();
      await panel.screenshot();
    });
  });
});

describe('config preview', () => {
  it('shows that it is updating, then the problems, translations and data-pipeline images', async () => {
    await withPanel('configPreview', async (panel) => {
      await panel.notify('updating', { configPath: '/work/demo.yaml' });
      await panel.page.getByText('updating…').waitFor();
      await panel.notify('preview', { configPath: '/work/demo.yaml', result: fixtures.configPreview });
      await panel.page.getByText('updating…').waitFor({ state: 'detached' });
      assert.equal(await panel.page.locator('li.error').count(), fixtures.configPreview.problems.length);
      const { translations, data } = fixtures.configPreview;
      assert.equal(await panel.page.locator('figure img').count(), translations.length + data.length);
      assert.equal((await panel.savedState<PanelState<'configPreview'>>()).configPath, '/work/demo.yaml');
      await panel.screenshot();
    });
  });
});

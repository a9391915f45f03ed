// Loss curves: every loss term of one or more runs on one uPlot chart (canvas, so 100,000+ points stay smooth).
// Live points are appended to the columns and flushed to the chart once per animation frame; the chart itself is
// only re-created when the set of series, the y scale or the theme changes.
import uPlot from 'uplot';
import uplotCss from 'uplot/dist/uPlot.min.css';
import { css, html, svg, unsafeCSS } from 'lit';
import { state } from 'lit/decorators.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import type { LossCurvesContract, NotificationOf, RunHistory } from '../protocol.js';
import { emptyState } from '../shared/empty-state.js';
import { baseName, formatValue } from '../shared/format.js';
import { PanelElement } from '../shared/panel.js';
import { theme } from '../shared/theme.js';
import { seriesColor } from './palette.js';
import { RunSeries, type Column } from './runs.js';

type State = LossCurvesContract['state'];

export class LossCurvesView extends PanelElement<LossCurvesContract> {
  static override styles = [
    theme,
    unsafeCSS(uplotCss),
    css`
      :host {
        display: flex;
        flex-direction: column;
      }
      .chart {
        flex: 1 1 auto;
        min-height: 220px;
        overflow: hidden;
      }
      .runs {
        display: flex;
        flex-wrap: wrap;
        gap: 4px 18px;
        margin: 6px 0 4px;
      }
      .legend {
        flex: 0 1 auto;
        max-height: 30vh;
        overflow: auto;
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(300px, 1fr));
        gap: 0 16px;
      }
      .term {
        display: flex;
        justify-content: space-between;
        align-items: center;
        gap: 8px;
      }
      .values {
        font-variant-numeric: tabular-nums;
        color: var(--vscode-descriptionForeground);
        white-space: nowrap;
      }
      svg.swatch {
        vertical-align: middle;
        margin: 0 3px 0 6px;
      }
      button.remove {
        background: none;
        border: none;
        color: var(--vscode-descriptionForeground);
        cursor: pointer;
        font: inherit;
      }
      button.remove:hover {
        color: var(--vscode-foreground);
      }
      .smoothing input {
        width: 140px;
      }
      .smoothing output {
        min-width: 3em;
      }
    `,
  ];

  /** The data point under the cursor, for the readout; null when the cursor is off the chart. */
  @state() private accessor cursorIdx: number | null = null;
  /** The uPlot instance (public so tests can read what it draws). */
  chart: uPlot | undefined;
  private runs: RunSeries[] = [];
  /** Every loss term seen, in first-seen order (the trainer's order). */
  private terms: string[] = [];
  private needsChart = false;
  private frame = 0;
  /** The iterations the x axis showed after its last automatic fit; a narrower axis means the user zoomed in. */
  private shownRange?: [number, number];
  private needsSmoothing = false;
  private readonly resize = new ResizeObserver(() => this.fitChart());
  private readonly themeWatch = new MutationObserver(() => this.rebuildChart());

  protected initialState(): State {
    return { runFolders: [], hidden: [], smoothing: 0.6, logScale: false };
  }

  protected receive(message: NotificationOf<LossCurvesContract>): void {
    switch (message.method) {
      case 'history':
        for (const history of message.params.runs) this.replaceRun(history);
        this.rebuildChart();
        break;
      case 'metrics': {
        const { runFolder, metrics, changes } = message.params;
        const known = this.runs.find((r) => r.runFolder === runFolder);
        const run = known ?? this.replaceRun({ runFolder, label: baseName(runFolder), entries: [] });
        run.append({ metrics, changes });
        // A new run or a new loss term changes the set of series; anything else is just more data.
        if (!known || this.addTerms(run)) this.rebuildChart();
        else this.scheduleFlush();
        break;
      }
    }
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // VS Code switches themes by changing the body's classes; canvas colours must be re-read then.
    this.themeWatch.observe(document.body, { attributes: true, attributeFilter: ['class'] });
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.themeWatch.disconnect();
    this.resize.disconnect();
    this.chart?.destroy();
    this.chart = undefined;
  }

  override render() {
    if (this.runs.length === 0) {
      return emptyState(
        'No loss curves yet',
        html`Start training (<em>MUNIT: Start Training</em>) to see live curves, or <a href="#" @click=${this.addRun}>open a past run's metrics</a>.`,
      );
    }
    return html`
      <div class="toolbar">
        <label class="smoothing"
          >Smoothing
          <input type="range" min="0" max="0.99" step="0.01" .value=${String(this.ui.smoothing)} @input=${this.onSmoothing} />
          <output>${this.ui.smoothing.toFixed(2)}</output></label
        >
        <vscode-checkbox label="Log scale" .checked=${this.ui.logScale} @change=${this.onLogScale}></vscode-checkbox>
        <vscode-button secondary @click=${this.addRun}>Add run…</vscode-button>
      </div>
      <div class="chart"></div>
      ${this.renderLegend()}
    `;
  }

  /** The runs (each with its colour family and a remove button), then one entry per loss term with its values
   * under the cursor; compact, so the chart keeps most of the panel. */
  private renderLegend() {
    const data = this.chart?.data;
    const idx = this.cursorIdx;
    const at = (series: number) => (data && idx !== null ? data[series]?.[idx] : undefined);
    const runCount = this.runs.length;
    const termCount = this.terms.length;
    return html`<div class="runs">
        <span class="muted">iteration ${at(0) ?? '–'}</span>
        ${this.runs.map(
          (run, r) =>
            html`<span
              >${swatch(seriesColor(r, runCount, 0, 1))}${run.label}<button class="remove" title="Remove ${run.label}" @click=${() => this.removeRun(run)}>
                ×
              </button></span
            >`,
        )}
      </div>
      <div class="legend">
        ${this.terms.map(
          (term, t) =>
            html`<div class="term">
              <vscode-checkbox
                data-term=${term}
                label=${term}
                .checked=${!this.ui.hidden.includes(term)}
                @change=${() => this.toggleTerm(term)}
              ></vscode-checkbox>
              <span class="values"
                >${this.runs.map((_, r) => html`${swatch(seriesColor(r, runCount, t, termCount))}${formatValue(at(this.seriesIndex(r, t) + 1))} `)}</span
              >
            </div>`,
        )}
      </div>`;
  }

  protected override updated(): void {
    const box = this.renderRoot.querySelector<HTMLElement>('.chart');
    if (!box) {
      this.chart?.destroy();
      this.chart = undefined;
      return;
    }
    if (this.needsChart || this.chart?.root.parentElement !== box) this.createChart(box);
  }

  private replaceRun(history: RunHistory): RunSeries {
    const run = new RunSeries(history.runFolder, history.label, this.ui.smoothing);
    for (const entry of history.entries) run.append(entry);
    const i = this.runs.findIndex((r) => r.runFolder === history.runFolder);
    if (i >= 0) this.runs[i] = run;
    else this.runs.push(run);
    this.addTerms(run);
    this.setUi({ runFolders: this.runs.map((r) => r.runFolder) });
    return run;
  }

  /** Adds the run's terms not seen yet; true if there were any. */
  private addTerms(run: RunSeries): boolean {
    const fresh = [...run.raw.keys()].filter((term) => !this.terms.includes(term));
    this.terms.push(...fresh);
    return fresh.length > 0;
  }

  private removeRun(run: RunSeries): void {
    this.runs = this.runs.filter((r) => r !== run);
    this.host.post('removeRun', { runFolder: run.runFolder });
    this.setUi({ runFolders: this.runs.map((r) => r.runFolder) });
    this.rebuildChart();
  }

  private readonly addRun = (event: Event) => {
    event.preventDefault();
    this.host.post('addRun', {});
  };

  private rebuildChart(): void {
    this.needsChart = true;
    this.requestUpdate();
  }

  /** Series 0 is the iterations; then per run and term a faint raw series followed by its smoothed one. */
  private seriesIndex(run: number, term: number): number {
    return 1 + 2 * (run * this.terms.length + term);
  }

  private showRaw(term: string): boolean {
    return this.ui.smoothing > 0 && !this.ui.hidden.includes(term);
  }

  private createChart(box: HTMLElement): void {
    this.needsChart = false;
    this.chart?.destroy();
    const style = getComputedStyle(this);
    const foreground = style.getPropertyValue('--vscode-foreground').trim() || 'gray';
    const grid = style.getPropertyValue('--vscode-charts-lines').trim() || 'rgba(128,128,128,0.3)';
    const marker = style.getPropertyValue('--vscode-charts-yellow').trim() || 'orange';
    const font = `11px ${style.getPropertyValue('--vscode-font-family').trim() || 'sans-serif'}`;
    const axis = { stroke: foreground, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, font };
    const series: uPlot.Series[] = [{ label: 'iteration' }];
    const runCount = this.runs.length;
    this.runs.forEach((run, r) =>
      this.terms.forEach((term, t) => {
        const visible = !this.ui.hidden.includes(term);
        const common = { spanGaps: true, points: { show: false } };
        const raw = seriesColor(r, runCount, t, this.terms.length, 0.25);
        const smooth = seriesColor(r, runCount, t, this.terms.length);
        series.push({ ...common, label: `${run.label} ${term} (raw)`, stroke: raw, width: 1, show: this.showRaw(term) });
        series.push({ ...common, label: `${run.label} ${term}`, stroke: smooth, width: 1.5, show: visible });
      }),
    );
    const options: uPlot.Options = {
      width: box.clientWidth,
      height: box.clientHeight,
      series,
      legend: { show: false },
      scales: { x: { time: false }, y: this.ui.logScale ? { distr: 3, log: 10 } : {} },
      axes: [
        { ...axis, label: 'iteration', labelFont: font },
        { ...axis, size: 60 },
      ],
      cursor: { drag: { x: true, y: false }, points: { show: false } },
      hooks: {
        setCursor: [(u) => (this.cursorIdx = u.cursor.idx ?? null)],
        draw: [(u) => this.drawChangeMarkers(u, marker, font)],
      },
    };
    const data = this.chartData();
    this.chart = new uPlot(options, data, box);
    this.shownRange = data[0].length > 0 ? [data[0][0]!, data[0][data[0].length - 1]!] : undefined;
    this.resize.disconnect();
    this.resize.observe(box);
  }

  private fitChart(): void {
    const box = this.chart?.root.parentElement;
    if (box && box.clientWidth > 0) this.chart!.setSize({ width: box.clientWidth, height: box.clientHeight });
  }

  /** Vertical dashed lines where settings were changed live, labelled with the new values. */
  private drawChangeMarkers(u: uPlot, colour: string, font: string): void {
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    const ratio = uPlot.pxRatio;
    ctx.save();
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.setLineDash([4 * ratio, 4 * ratio]);
    ctx.lineWidth = ratio;
    ctx.font = font.replace(/^\d+px/, `${11 * ratio}px`);
    let n = 0;
    for (const run of this.runs) {
      for (const change of run.changes) {
        const x = Math.round(u.valToPos(change.iteration, 'x', true));
        if (x < left || x > left + width) continue;
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, top + height);
        ctx.stroke();
        // Stagger the labels so neighbouring changes do not print over each other.
        ctx.fillText(change.text, x + 3 * ratio, top + (12 + 13 * (n++ % 3)) * ratio);
      }
    }
    ctx.restore();
  }

  private chartData(): uPlot.AlignedData {
    const positive = (column: Column): Column => (this.ui.logScale ? column.map((v) => (v !== null && v > 0 ? v : null)) : column);
    const tables = this.runs.map((run): uPlot.AlignedData => {
      const gaps = () => new Array<number | null>(run.iterations.length).fill(null);
      const columns = this.terms.flatMap((term) => [positive(run.raw.get(term) ?? gaps()), positive(run.smoothed.get(term)?.values ?? gaps())]);
      return [run.iterations, ...columns];
    });
    return tables.length === 1 ? tables[0]! : uPlot.join(tables);
  }

  /** Coalesces live points and slider moves into one chart update per frame. */
  private scheduleFlush(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      if (this.needsSmoothing) {
        this.needsSmoothing = false;
        for (const run of this.runs) run.setSmoothing(this.ui.smoothing);
        this.applyVisibility();
      }
      const chart = this.chart;
      if (!chart) return;
      // Keep a zoomed-in view; otherwise follow the data. Compared with the range last shown, not with chart.data:
      // live points are appended to the same arrays, so chart.data already holds them.
      const zoomed = this.shownRange !== undefined && (chart.scales.x!.min! > this.shownRange[0] || chart.scales.x!.max! < this.shownRange[1]);
      const data = this.chartData();
      chart.setData(data, !zoomed);
      const xs = data[0];
      if (!zoomed && xs.length > 0) this.shownRange = [xs[0]!, xs[xs.length - 1]!];
      this.requestUpdate();
    });
  }

  private applyVisibility(): void {
    const chart = this.chart;
    if (!chart) return;
    chart.batch(() =>
      this.runs.forEach((_, r) =>
        this.terms.forEach((term, t) => {
          const i = this.seriesIndex(r, t);
          chart.setSeries(i, { show: this.showRaw(term) });
          chart.setSeries(i + 1, { show: !this.ui.hidden.includes(term) });
        }),
      ),
    );
  }

  private toggleTerm(term: string): void {
    const hidden = this.ui.hidden.includes(term) ? this.ui.hidden.filter((h) => h !== term) : [...this.ui.hidden, term];
    this.setUi({ hidden });
    this.applyVisibility();
  }

  private readonly onSmoothing = (event: Event) => {
    this.setUi({ smoothing: Number((event.target as HTMLInputElement).value) });
    this.needsSmoothing = true;
    this.scheduleFlush();
  };

  private readonly onLogScale = (event: Event) => {
    this.setUi({ logScale: (event.target as HTMLInputElement).checked });
    this.rebuildChart();
  };
}

function swatch(colour: string) {
  return html`<svg class="swatch" width="14" height="4" aria-hidden="true">${svg`<rect width="14" height="4" fill=${colour}></rect>`}</svg>`;
}

customElements.define('munit-loss-curves', LossCurvesView);

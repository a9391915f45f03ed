// Activations: pick an image and a layer; the host runs the model and answers with the layer's feature maps
// (tiled), per-channel statistics (a sortable table), the numbers themselves for 1-D outputs, and for AdaIN layers
// the gamma/beta the MLP made from the style code.
import { css, html, nothing } from 'lit';
import { state } from 'lit/decorators.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import type { ActivationsResult, ArchitectureGraph, ChannelStats } from '../../server/protocol.js';
import type { ActivationsContract, NotificationOf, StatColumn } from '../protocol.js';
import { emptyState } from '../shared/empty-state.js';
import { baseName, formatShape, formatValue, pngSrc } from '../shared/format.js';
import { PanelElement } from '../shared/panel.js';
import { upscale } from '../shared/pixels.js';
import { theme } from '../shared/theme.js';
import { barChart, barChartStyles } from './bar-chart.js';

type State = ActivationsContract['state'];

const COLUMNS: StatColumn[] = ['channel', 'mean', 'std', 'min', 'max'];

export class ActivationsView extends PanelElement<ActivationsContract> {
  static override styles = [
    theme,
    barChartStyles,
    css`
      vscode-single-select[combobox] {
        width: 24em;
      }
      th {
        cursor: pointer;
      }
      section {
        margin-bottom: 12px;
      }
      /* Maps and bars on the left, the statistics beside them in their own scroll area. */
      .result {
        display: grid;
        grid-template-columns: minmax(0, 1fr) auto;
        gap: 0 20px;
        align-items: start;
      }
      .stats {
        position: sticky;
        top: 0;
        max-height: calc(100vh - 110px);
        overflow: auto;
      }
    `,
  ];

  @state() private accessor images: string[] = [];
  @state() private accessor graph: ArchitectureGraph | undefined;
  @state() private accessor result: ActivationsResult | undefined;
  @state() private accessor busy = false;
  @state() private accessor error: string | undefined;
  /** Only the answer to the newest request is shown. */
  private requestSeq = 0;

  protected initialState(): State {
    return { sort: { column: 'channel', descending: false } };
  }

  protected receive(message: NotificationOf<ActivationsContract>): void {
    switch (message.method) {
      case 'images':
        this.images = message.params.images;
        if (!this.ui.image && this.images.length > 0) this.select({ image: this.images[0] });
        break;
      case 'graph':
        this.graph = message.params.graph;
        void this.fetch();
        break;
      case 'select':
        this.select(message.params);
        break;
    }
  }

  private select(changes: { image?: string; nodeId?: string }): void {
    const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
    this.setUi(defined);
    void this.fetch();
  }

  private async fetch(): Promise<void> {
    const { image, nodeId } = this.ui;
    if (!image || !nodeId || !this.graph) return;
    const seq = ++this.requestSeq;
    this.busy = true;
    this.error = undefined;
    try {
      const result = await this.host.request('getActivations', { image, nodeId, domain: this.graph.domain });
      if (seq === this.requestSeq) this.result = result;
    } catch (e) {
      if (seq === this.requestSeq) this.error = (e as Error).message;
    } finally {
      if (seq === this.requestSeq) this.busy = false;
    }
  }

  override render() {
    if (!this.graph) {
      return emptyState('Nothing to inspect yet', html`Run <em>MUNIT: Inspect Activations</em>, or click a layer in the architecture panel.`);
    }
    const images = this.ui.image && !this.images.includes(this.ui.image) ? [this.ui.image, ...this.images] : this.images;
    const nodes = this.graph.nodes.filter((n) => n.inspectable);
    return html`
      <div class="toolbar">
        <label
          >Image
          <vscode-single-select .value=${this.ui.image ?? ''} @change=${this.onImage}>
            ${images.map((path) => html`<vscode-option value=${path} description=${path}>${baseName(path)}</vscode-option>`)}
          </vscode-single-select></label
        >
        <vscode-button secondary @click=${this.pickImage}>Browse…</vscode-button>
        <label
          >Layer
          <vscode-single-select combobox filter="contains" .value=${this.ui.nodeId ?? ''} @change=${this.onNode}>
            ${nodes.map((n) => html`<vscode-option value=${n.id} description=${n.group}>${n.id.split('/').pop()} · ${n.label}</vscode-option>`)}
          </vscode-single-select></label
        >
        ${this.busy ? html`<span class="busy">computing…</span>` : nothing}
      </div>
      ${this.error ? html`<p class="error">${this.error}</p>` : nothing}
      ${this.result ? this.renderResult(this.result) : this.ui.nodeId ? nothing : html`<p class="muted">Pick a layer.</p>`}
    `;
  }

  private renderResult({ activations, origin }: ActivationsResult) {
    const { tiles, values, adain, channels, shape, nodeId } = activations;
    return html`
      <p class="muted">${nodeId}: ${formatShape(shape)} · ${origin.kind} weights, iteration ${origin.iteration}</p>
      <div class="result">
        <div>
          ${
            tiles
              ? html`<section>
                  <h2>Feature maps (${tiles.columns}×${tiles.rows} tiles, each min–max scaled)</h2>
                  <img class="pixels tiles" alt="feature maps of ${nodeId}" src=${pngSrc(tiles.png)} @load=${upscale} />
                </section>`
              : nothing
          }
          ${
            values
              ? html`<section>
                  <h2>Values</h2>
                  ${barChart(values)}
                </section>`
              : nothing
          }
          ${(adain ?? []).map(
            (layer) =>
              html`<section>
                <h2>AdaIN layer ${layer.layer}: gamma (scale) per channel</h2>
                ${barChart(layer.gamma)}
                <h2>AdaIN layer ${layer.layer}: beta (shift) per channel</h2>
                ${barChart(layer.beta)}
              </section>`,
          )}
        </div>
        <section class="stats">
          <h2>Per-channel statistics</h2>
          <table>
            <thead>
              <tr>
                ${COLUMNS.map((column) => html`<th data-column=${column} @click=${() => this.sortBy(column)}>${column}${this.sortMark(column)}</th>`)}
              </tr>
            </thead>
            <tbody>
              ${this.sortedChannels(channels).map(
                ({ channel, stats }) =>
                  html`<tr>
                    <td>${channel}</td>
                    <td>${formatValue(stats.mean)}</td>
                    <td>${formatValue(stats.std)}</td>
                    <td>${formatValue(stats.min)}</td>
                    <td>${formatValue(stats.max)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>
        </section>
      </div>
    `;
  }

  private sortedChannels(channels: ChannelStats[]) {
    const { column, descending } = this.ui.sort;
    const rows = channels.map((stats, channel) => ({ channel, stats }));
    const key = (row: (typeof rows)[number]) => (column === 'channel' ? row.channel : row.stats[column]);
    rows.sort((a, b) => (key(a) - key(b)) * (descending ? -1 : 1));
    return rows;
  }

  private sortMark(column: StatColumn): string {
    if (this.ui.sort.column !== column) return '';
    return this.ui.sort.descending ? ' ▾' : ' ▴';
  }

  private sortBy(column: StatColumn): void {
    const { sort } = this.ui;
    this.setUi({ sort: { column, descending: sort.column === column ? !sort.descending : column !== 'channel' } });
  }

  private readonly onImage = (event: Event) => this.select({ image: (event.target as HTMLSelectElement).value });

  private readonly onNode = (event: Event) => this.select({ nodeId: (event.target as HTMLSelectElement).value });

  private readonly pickImage = async () => {
    const image = await this.host.request('pickImage', {});
    if (image) this.select({ image });
  };
}

customElements.define('munit-activations', ActivationsView);

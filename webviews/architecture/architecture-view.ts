// The architecture panel: the model graph laid out by ELK, drawn as SVG, with groups that collapse into one box,
// pan (drag) and zoom (wheel) around the pointer, and a click on an inspectable layer to see its activations.
import { css, html, nothing, svg } from 'lit';
import { state } from 'lit/decorators.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import type { ArchitectureResult, Domain } from '../../server/protocol.js';
import type { ArchitectureContract, NotificationOf } from '../protocol.js';
import { emptyState } from '../shared/empty-state.js';
import { PanelElement } from '../shared/panel.js';
import { theme } from '../shared/theme.js';
import { layoutGraph, LINE_HEIGHT, type Layout, type PlacedEdge, type PlacedGroup, type PlacedNode } from './layout.js';

type State = ArchitectureContract['state'];

interface View {
  x: number;
  y: number;
  scale: number;
}

/** Pointer travel below which a press counts as a click, not a drag. */
const CLICK_SLOP = 4;

export class ArchitectureView extends PanelElement<ArchitectureContract> {
  static override styles = [
    theme,
    css`
      :host {
        display: flex;
        flex-direction: column;
      }
      svg.canvas {
        flex: 1 1 auto;
        min-height: 200px;
        cursor: grab;
        touch-action: none;
        user-select: none;
      }
      svg.canvas.dragging {
        cursor: grabbing;
      }
      text {
        fill: var(--vscode-foreground);
        font-family: var(--vscode-font-family);
        font-size: 12px;
      }
      text.detail {
        fill: var(--vscode-descriptionForeground);
      }
      .group > rect {
        fill: var(--vscode-sideBar-background, transparent);
        fill-opacity: 0.5;
        stroke: var(--vscode-panel-border, var(--vscode-contrastBorder, gray));
        stroke-dasharray: 4 3;
      }
      .group.collapsed > rect {
        stroke-dasharray: none;
        fill: var(--vscode-editorWidget-background);
        fill-opacity: 1;
      }
      .group .header {
        cursor: pointer;
      }
      .group .header .hit {
        fill: transparent;
      }
      .group .title {
        font-weight: 600;
      }
      .group .note {
        font-style: italic;
        fill: var(--vscode-descriptionForeground);
      }
      .node > rect.body {
        fill: var(--vscode-editorWidget-background);
        stroke: var(--vscode-editorWidget-border, var(--vscode-contrastBorder, gray));
      }
      .node.inspectable {
        cursor: pointer;
      }
      .node.inspectable:hover > rect.body {
        stroke: var(--vscode-focusBorder);
      }
      .norm-none {
        fill: var(--vscode-descriptionForeground);
      }
      .norm-in {
        fill: var(--vscode-charts-blue);
      }
      .norm-adain {
        fill: var(--vscode-charts-purple);
      }
      .norm-ln {
        fill: var(--vscode-charts-green);
      }
      .norm-bn {
        fill: var(--vscode-charts-orange);
      }
      path.edge {
        fill: none;
        stroke: var(--vscode-descriptionForeground);
        stroke-width: 1.2;
      }
      path.edge.adain {
        stroke: var(--vscode-charts-purple);
        stroke-dasharray: 5 3;
      }
      marker path {
        fill: var(--vscode-descriptionForeground);
      }
      marker.adain path {
        fill: var(--vscode-charts-purple);
      }
      .legend {
        display: flex;
        flex-wrap: wrap;
        gap: 4px 14px;
        margin-top: 6px;
      }
      .legend svg {
        vertical-align: middle;
        margin-right: 4px;
      }
    `,
  ];

  @state() private accessor layout: Layout | undefined;
  @state() private accessor view: View = { x: 0, y: 0, scale: 1 };
  private result: ArchitectureResult | undefined;
  /** Bumped per layout so an older, slower layout cannot overwrite a newer one. */
  private layoutRun = 0;
  private fitPending = true;
  private drag: { x: number; y: number; moved: boolean } | undefined;

  protected initialState(): State {
    return { domain: 'a', collapsed: [] };
  }

  protected receive(message: NotificationOf<ArchitectureContract>): void {
    if (message.method !== 'graph') return;
    this.result = message.params;
    this.setUi({ runFolder: message.params.origin.runFolder, domain: message.params.graph.domain });
    this.fitPending = true;
    void this.relayout();
  }

  private async relayout(): Promise<void> {
    if (!this.result) return;
    const run = ++this.layoutRun;
    const layout = await layoutGraph(this.result.graph, new Set(this.ui.collapsed));
    if (run !== this.layoutRun) return;
    this.layout = layout;
    if (this.fitPending) {
      this.fitPending = false;
      await this.updateComplete;
      this.fit();
    }
  }

  override render() {
    if (!this.result) {
      return emptyState('No architecture yet', html`Open a MUNIT config and run <em>MUNIT: Show Architecture</em> to see its networks here.`);
    }
    const { origin, graph } = this.result;
    return html`
      <div class="toolbar">
        <label
          >Domain
          <vscode-single-select .value=${graph.domain} @change=${this.onDomain}>
            <vscode-option value="a">a (gen_a, dis_a)</vscode-option>
            <vscode-option value="b">b (gen_b, dis_b)</vscode-option>
          </vscode-single-select></label
        >
        <vscode-button secondary @click=${this.fit}>Fit</vscode-button>
        <vscode-button secondary @click=${() => this.setCollapsed(graph.groups.map((g) => g.id))}>Collapse all</vscode-button>
        <vscode-button secondary @click=${() => this.setCollapsed([])}>Expand all</vscode-button>
        <span class="muted"
          >input ${graph.inputShape.join('×')} · ${origin.kind} weights, iteration ${origin.iteration}${this.layout ? nothing : ' · laying out…'}</span
        >
      </div>
      <svg class="canvas" @wheel=${this.onWheel} @pointerdown=${this.onPointerDown} @pointermove=${this.onPointerMove} @pointerup=${this.onPointerUp}>
        <defs>${arrowMarker('arrow-data', 'data')} ${arrowMarker('arrow-adain', 'adain')}</defs>
        ${
          this.layout
            ? svg`<g transform="translate(${this.view.x} ${this.view.y}) scale(${this.view.scale})">
              ${this.layout.groups.map((g) => this.renderGroup(g))}
              ${this.layout.edges.map(renderEdge)}
              ${this.layout.nodes.map((n) => this.renderNode(n))}
            </g>`
            : nothing
        }
      </svg>
      <div class="legend muted">
        ${(['none', 'in', 'adain', 'ln'] as const).map(
          (norm) =>
            html`<span
              ><svg width="10" height="10">${svg`<rect class="norm-${norm}" width="10" height="10"></rect>`}</svg>${
                { none: 'no normalisation', in: 'instance norm', adain: 'AdaIN (gamma/beta from the MLP)', ln: 'LayerNorm' }[norm]
              }</span
            >`,
        )}
        <span>dashed arrows: AdaIN parameters · click a layer for its activations · click a group title to collapse it</span>
      </div>
    `;
  }

  private renderGroup(placed: PlacedGroup) {
    const { group, collapsed, lines, headerHeight, x, y, width, height } = placed;
    return svg`<g class="group ${collapsed ? 'collapsed' : ''}" data-group-id=${group.id}>
      <rect x=${x} y=${y} width=${width} height=${height} rx="4"></rect>
      <g class="header" @click=${() => this.toggleGroup(group.id)}>
        <rect class="hit" x=${x} y=${y} width=${width} height=${headerHeight}></rect>
        ${lines.map((line, i) => svg`<text class=${i === 0 ? 'title' : 'note'} x=${x + 8} y=${y + 16 + i * LINE_HEIGHT}>${line}</text>`)}
      </g>
    </g>`;
  }

  private renderNode(placed: PlacedNode) {
    const { node, lines, x, y, width, height } = placed;
    return svg`<g class="node ${node.inspectable ? 'inspectable' : ''}" data-node-id=${node.id}
        @click=${() => this.inspect(node.id, node.inspectable)}>
      <title>${node.id}${node.statePath ? ` (${node.statePath})` : ''}</title>
      <rect class="body" x=${x} y=${y} width=${width} height=${height} rx="3"></rect>
      <rect class="norm-${node.norm}" x=${x} y=${y} width="4" height=${height}></rect>
      ${lines.map((line, i) => svg`<text class=${i === 0 ? '' : 'detail'} x=${x + 10} y=${y + 17 + i * LINE_HEIGHT}>${line}</text>`)}
    </g>`;
  }

  private inspect(nodeId: string, inspectable: boolean): void {
    // A drag that ends on a node is a pan, not a click.
    if (inspectable && !this.drag?.moved) this.host.post('inspectNode', { nodeId });
  }

  private toggleGroup(id: string): void {
    if (this.drag?.moved) return;
    const collapsed = this.ui.collapsed.includes(id) ? this.ui.collapsed.filter((c) => c !== id) : [...this.ui.collapsed, id];
    this.setCollapsed(collapsed);
  }

  private setCollapsed(collapsed: string[]): void {
    this.setUi({ collapsed });
    void this.relayout();
  }

  private readonly fit = () => {
    const canvas = this.renderRoot.querySelector('svg.canvas');
    if (!canvas || !this.layout) return;
    const { width, height } = canvas.getBoundingClientRect();
    const margin = 12;
    const scale = Math.min((width - 2 * margin) / this.layout.width, (height - 2 * margin) / this.layout.height, 1.5);
    this.view = {
      scale,
      x: (width - this.layout.width * scale) / 2,
      y: (height - this.layout.height * scale) / 2,
    };
  };

  private readonly onWheel = (event: WheelEvent) => {
    event.preventDefault();
    const rect = (event.currentTarget as Element).getBoundingClientRect();
    const px = event.clientX - rect.left;
    const py = event.clientY - rect.top;
    const { x, y, scale } = this.view;
    const next = Math.min(4, Math.max(0.05, scale * Math.exp(-event.deltaY * 0.0015)));
    // Keep the graph point under the pointer where it is.
    this.view = { scale: next, x: px - ((px - x) * next) / scale, y: py - ((py - y) * next) / scale };
  };

  private readonly onPointerDown = (event: PointerEvent) => {
    this.drag = { x: event.clientX, y: event.clientY, moved: false };
  };

  private readonly onPointerMove = (event: PointerEvent) => {
    const drag = this.drag;
    if (!drag || (event.buttons & 1) === 0) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < CLICK_SLOP) return;
    if (!drag.moved) {
      drag.moved = true;
      (event.currentTarget as Element).setPointerCapture(event.pointerId);
      (event.currentTarget as Element).classList.add('dragging');
    }
    drag.x = event.clientX;
    drag.y = event.clientY;
    this.view = { ...this.view, x: this.view.x + dx, y: this.view.y + dy };
  };

  private readonly onPointerUp = (event: PointerEvent) => {
    (event.currentTarget as Element).classList.remove('dragging');
    // The click that follows pointerup still needs to know whether this was a drag; forget it after that.
    setTimeout(() => (this.drag = undefined));
  };

  private readonly onDomain = (event: Event) => {
    const domain = (event.target as HTMLSelectElement).value as Domain;
    if (domain === this.result?.graph.domain) return;
    this.setUi({ domain });
    this.host.post('selectDomain', { domain });
  };
}

function renderEdge(edge: PlacedEdge) {
  const d = edge.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x},${p.y}`).join(' ');
  return svg`<path class="edge ${edge.kind}" d=${d} marker-end="url(#arrow-${edge.kind})">
    ${edge.size ? svg`<title>AdaIN gamma and beta: ${edge.size} numbers</title>` : nothing}
  </path>`;
}

function arrowMarker(id: string, kind: PlacedEdge['kind']) {
  return svg`<marker id=${id} class=${kind} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7"
    orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"></path></marker>`;
}

customElements.define('munit-architecture', ArchitectureView);

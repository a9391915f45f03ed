// One bar per channel around a zero line, scaled to the largest magnitude: gamma/beta of AdaIN layers, code values.
import { css, html, svg } from 'lit';
import { formatValue } from '../shared/format.js';

const HEIGHT = 60;

export const barChartStyles = css`
  svg.bars {
    display: block;
    width: 100%;
    height: ${HEIGHT}px;
    background: var(--vscode-editorWidget-background);
  }
  svg.bars .positive {
    fill: var(--vscode-charts-blue);
  }
  svg.bars .negative {
    fill: var(--vscode-charts-red);
  }
  svg.bars line {
    stroke: var(--vscode-descriptionForeground);
    stroke-width: 0.5;
  }
`;

export function barChart(values: readonly number[]) {
  const limit = Math.max(...values.map(Math.abs), 1e-12);
  const mid = HEIGHT / 2;
  const scale = (mid - 1) / limit;
  return html`<svg class="bars" viewBox="0 0 ${values.length} ${HEIGHT}" preserveAspectRatio="none" role="img">
      ${svg`<title>${values.length} values, from ${formatValue(Math.min(...values))} to ${formatValue(Math.max(...values))}</title>`}
      ${values.map((v, i) => {
        const h = Math.abs(v) * scale;
        return svg`<rect class=${v >= 0 ? 'positive' : 'negative'} x=${i + 0.1} width="0.8" y=${v >= 0 ? mid - h : mid} height=${h}></rect>`;
      })}
      ${svg`<line x1="0" x2=${values.length} y1=${mid} y2=${mid}></line>`}
    </svg>
    <div class="muted">${values.length} channels · largest |value| ${formatValue(limit)}</div>`;
}

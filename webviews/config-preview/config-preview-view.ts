// Config preview: beside a MUNIT config being edited, what the edit produces: its problems, test images translated
// with the edited inference settings, and what the data pipeline makes of the first training images.
import { css, html, nothing } from 'lit';
import { state } from 'lit/decorators.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import type { ConfigPreviewResult } from '../../server/protocol.js';
import type { ConfigPreviewContract, NotificationOf } from '../protocol.js';
import { emptyState } from '../shared/empty-state.js';
import { baseName, pngSrc } from '../shared/format.js';
import { PanelElement } from '../shared/panel.js';
import { theme } from '../shared/theme.js';

type State = ConfigPreviewContract['state'];

export class ConfigPreviewView extends PanelElement<ConfigPreviewContract> {
  static override styles = [
    theme,
    css`
      .images {
        display: flex;
        flex-wrap: wrap;
        gap: 12px;
      }
      .images img {
        width: 160px;
      }
      ul.problems {
        padding-left: 1.2em;
      }
      header {
        position: sticky;
        top: -8px;
        background: var(--vscode-editor-background);
        padding-bottom: 4px;
      }
    `,
  ];

  @state() private accessor result: ConfigPreviewResult | undefined;
  @state() private accessor updating = false;

  protected initialState(): State {
    return {};
  }

  protected receive(message: NotificationOf<ConfigPreviewContract>): void {
    this.setUi({ configPath: message.params.configPath });
    if (message.method === 'updating') {
      this.updating = true;
    } else {
      this.updating = false;
      this.result = message.params.result;
    }
  }

  override render() {
    const { result, updating } = this;
    if (!result && !updating) {
      return emptyState(
        'No preview yet',
        html`Open a MUNIT config and run <em>MUNIT: Preview Config</em> (or use the code lens): as you edit, this shows what the edited settings make of your
          images.`,
      );
    }
    return html`
      <header>
        <h2>${this.ui.configPath ? baseName(this.ui.configPath) : 'Config'}: preview of the edited text</h2>
        ${updating ? html`<vscode-progress-bar indeterminate aria-label="updating"></vscode-progress-bar><span class="busy">updating…</span>` : nothing}
      </header>
      ${result ? this.renderResult(result) : nothing}
    `;
  }

  private renderResult(result: ConfigPreviewResult) {
    return html`
      ${
        result.problems.length > 0
          ? html`<h2 class="error">Problems</h2>
              <ul class="problems">
                ${result.problems.map((p) => html`<li class="error">${p}</li>`)}
              </ul>`
          : html`<p class="muted">No problems.</p>`
      }
      ${images(
        'Translations with the edited inference settings',
        result.translations,
        result.origin ? `${result.origin.kind} weights, iteration ${result.origin.iteration}` : undefined,
      )}
      ${images('Data pipeline: the first training images after resize, crop and flip', result.data)}
    `;
  }
}

function images(title: string, items: { label: string; png: string }[], detail?: string) {
  if (items.length === 0) return nothing;
  return html`<h2>${title}</h2>
    ${detail ? html`<p class="muted">${detail}</p>` : nothing}
    <div class="images">
      ${items.map(
        (item) =>
          html`<figure>
            <figcaption>${item.label}</figcaption>
            <img class="pixels" alt=${item.label} src=${pngSrc(item.png)} />
          </figure>`,
      )}
    </div>`;
}

customElements.define('munit-config-preview', ConfigPreviewView);

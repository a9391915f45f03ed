// The labelled sample grids over the iterations of a run, one step slider for all of them; while "follow live" is
// on, each new set of grids from the running job is shown as it arrives.
import { css, html } from 'lit';
import { state } from 'lit/decorators.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import type { SamplesParams } from '../../server/protocol.js';
import type { NotificationOf, SamplesContract } from '../protocol.js';
import { emptyState } from '../shared/empty-state.js';
import { pngSrc } from '../shared/format.js';
import { PanelElement } from '../shared/panel.js';
import { upscale } from '../shared/pixels.js';
import { theme } from '../shared/theme.js';

type State = SamplesContract['state'];

export class SamplesView extends PanelElement<SamplesContract> {
  static override styles = [
    theme,
    css`
      .step {
        flex: 1 1 300px;
      }
      .step input {
        flex: 1 1 auto;
      }
      .iteration {
        white-space: nowrap;
        min-width: 8em;
      }
    `,
  ];

  /** One entry per iteration, in order. */
  @state() private accessor steps: SamplesParams[] = [];

  protected initialState(): State {
    return { followLive: true };
  }

  protected receive(message: NotificationOf<SamplesContract>): void {
    const incoming = message.method === 'history' ? message.params.steps : [message.params];
    const byIteration = new Map(this.steps.map((s) => [s.iteration, s]));
    for (const step of incoming) byIteration.set(step.iteration, step);
    this.steps = [...byIteration.values()].sort((a, b) => a.iteration - b.iteration);
    this.setUi({ runFolder: this.steps[0]!.runFolder });
  }

  /** The step shown: the saved iteration if it is there, else the newest. */
  private shownIndex(): number {
    const i = this.steps.findIndex((s) => s.iteration === this.ui.iteration);
    return i >= 0 && !this.ui.followLive ? i : this.steps.length - 1;
  }

  override render() {
    if (this.steps.length === 0) {
      return emptyState(
        'No sample grids yet',
        html`They appear every <code>image_display_iter</code> iterations once training runs (<em>MUNIT: Start Training</em>), and from the numbered grids of a
          past run.`,
      );
    }
    const index = this.shownIndex();
    const step = this.steps[index]!;
    return html`
      <div class="toolbar">
        <label class="step"
          ><span class="iteration">Iteration ${step.iteration}</span>
          <input type="range" min="0" max=${this.steps.length - 1} .value=${String(index)} @input=${this.onStep} aria-label="Iteration"
        /></label>
        <span class="muted">${index + 1} of ${this.steps.length}</span>
        <vscode-checkbox label="Follow live" .checked=${this.ui.followLive} @change=${this.onFollow}></vscode-checkbox>
      </div>
      <p class="muted">Rows: the inputs, their reconstructions, translations with fixed style codes, translations with random style codes.</p>
      ${step.grids.map(
        (grid) =>
          html`<figure>
            <figcaption>${grid.name}</figcaption>
            <img class="pixels" alt="${grid.name} at iteration ${step.iteration}" src=${pngSrc(grid.png)} @load=${upscale} />
          </figure>`,
      )}
    `;
  }

  private readonly onStep = (event: Event) => {
    const step = this.steps[Number((event.target as HTMLInputElement).value)]!;
    // Moving back in time stops following the live job; moving to the newest step resumes it.
    this.setUi({ iteration: step.iteration, followLive: step === this.steps[this.steps.length - 1] });
  };

  private readonly onFollow = (event: Event) => {
    this.setUi({ followLive: (event.target as HTMLInputElement).checked });
  };
}

customElements.define('munit-samples', SamplesView);

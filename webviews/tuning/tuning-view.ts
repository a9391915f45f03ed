// Tuning: the running job's loss weights, learning rate and intervals, changed live (the loss curves mark the
// iteration where a change took effect), and the style code as one slider per dimension with the translation of an
// image updating as the sliders move.
import { css, html, nothing } from 'lit';
import { state } from 'lit/decorators.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import type { Direction, JobStatus, StyleChoice, TranslateResult, TunableSettings } from '../../server/protocol.js';
import type { NotificationOf, TuningContract } from '../protocol.js';
import { emptyState } from '../shared/empty-state.js';
import { baseName, pngSrc } from '../shared/format.js';
import { PanelElement } from '../shared/panel.js';
import { theme } from '../shared/theme.js';

type State = TuningContract['state'];
type Key = keyof TunableSettings;

/** Style codes are drawn from N(0, 1); three standard deviations either way covers nearly all of them. */
const STYLE_RANGE = 3;
/** Long enough to skip intermediate slider positions, short enough to feel live. */
const TRANSLATE_DEBOUNCE_MS = 120;

/** The settings in three groups, told apart by their names (so no list of keys is restated here). */
const SECTIONS: { title: string; matches: (key: string) => boolean }[] = [
  { title: 'Learning rate', matches: (k) => k === 'lr' },
  { title: 'Loss weights', matches: (k) => k.endsWith('_w') },
  { title: 'Intervals (iterations)', matches: (k) => k.endsWith('_iter') },
];

export class TuningView extends PanelElement<TuningContract> {
  static override styles = [
    theme,
    css`
      .fields {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(170px, 1fr));
        gap: 6px 16px;
      }
      .fields vscode-textfield {
        width: 100%;
      }
      .fields label {
        display: flex;
        flex-direction: column;
        gap: 2px;
      }
      .sliders {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(220px, 1fr));
        gap: 2px 16px;
      }
      .sliders label {
        display: grid;
        grid-template-columns: 2.5em 1fr 3.5em;
        align-items: center;
        gap: 6px;
        font-variant-numeric: tabular-nums;
      }
      .preview {
        display: flex;
        gap: 16px;
        flex-wrap: wrap;
      }
      .preview img {
        width: 192px;
      }
      section {
        margin-bottom: 18px;
      }
    `,
  ];

  @state() private accessor job: JobStatus | null = null;
  @state() private accessor settings: TunableSettings | null = null;
  /** Field texts the person typed, by key, until applied. */
  @state() private accessor edits: Partial<Record<Key, string>> = {};
  @state() private accessor applied: string | undefined;
  @state() private accessor images: string[] = [];
  @state() private accessor translation: TranslateResult | undefined;
  @state() private accessor busy = false;
  @state() private accessor error: string | undefined;
  private debounce: ReturnType<typeof setTimeout> | undefined;
  /** A translation asked for while another was running: only the newest waits, older ones are dropped. */
  private queued: StyleChoice | undefined;

  protected initialState(): State {
    return { direction: 'a2b', style: [] };
  }

  protected receive(message: NotificationOf<TuningContract>): void {
    switch (message.method) {
      case 'job':
        this.job = message.params.job;
        this.settings = message.params.settings;
        break;
      case 'images':
        this.images = message.params.images;
        if (!this.ui.image && this.images.length > 0) this.setImage(this.images[0]!);
        else if (this.ui.image && !this.translation) this.retranslate();
        break;
    }
  }

  override render() {
    return html`${this.renderSettings()}${this.renderStyle()}`;
  }

  // ---- Live settings ----------------------------------------------------------------------------

  private renderSettings() {
    const { job, settings } = this;
    if (!job || !settings) {
      return html`<section>
        <h2>Running job</h2>
        ${emptyState(
          'No training job is running',
          html`Start one with <em>MUNIT: Start Training</em>; its loss weights, learning rate and intervals can then be changed here while it trains.`,
        )}
      </section>`;
    }
    const keys = Object.keys(settings) as Key[];
    const changes = this.parsedEdits();
    return html`<section>
      <h2>Running job: ${baseName(job.runFolder)}</h2>
      <p class="muted">${job.state} · iteration ${job.iteration} of ${job.maxIter} · changes apply from the next iteration</p>
      ${SECTIONS.map(
        (section) =>
          html`<h2>${section.title}</h2>
            <div class="fields">
              ${keys.filter(section.matches).map(
                // Text fields: a number field would flag lr = 0.0001 as off its step; valid() checks the values.
                (key) =>
                  html`<label
                    >${key}
                    <vscode-textfield
                      name=${key}
                      .value=${this.edits[key] ?? String(settings[key])}
                      ?invalid=${this.edits[key] !== undefined && !valid(key, this.edits[key]!)}
                      @input=${(e: Event) => this.edit(key, (e.target as HTMLInputElement).value)}
                    ></vscode-textfield
                  ></label>`,
              )}
            </div>`,
      )}
      <div class="toolbar">
        <vscode-button ?disabled=${!changes || Object.keys(changes).length === 0} @click=${this.apply}>Apply</vscode-button>
        <vscode-button secondary ?disabled=${Object.keys(this.edits).length === 0} @click=${() => (this.edits = {})}>Reset</vscode-button>
        ${this.applied ? html`<span class="muted">${this.applied}</span>` : nothing}
      </div>
    </section>`;
  }

  private edit(key: Key, text: string): void {
    this.edits = { ...this.edits, [key]: text };
    this.applied = undefined;
  }

  /** The edits that differ from the job's settings, or undefined while one of them is not a valid value. */
  private parsedEdits(): Partial<TunableSettings> | undefined {
    const changes: Partial<TunableSettings> = {};
    for (const [key, text] of Object.entries(this.edits) as [Key, string][]) {
      if (!valid(key, text)) return undefined;
      if (Number(text) !== this.settings?.[key]) changes[key] = Number(text);
    }
    return changes;
  }

  private readonly apply = async () => {
    const changes = this.parsedEdits();
    if (!changes) return;
    try {
      const result = await this.host.request('updateHyperparameters', { changes });
      this.settings = result.settings;
      this.edits = {};
      this.applied = `Applied from iteration ${result.fromIteration}.`;
    } catch (e) {
      this.applied = `Not applied: ${(e as Error).message}`;
    }
  };

  // ---- Style code -------------------------------------------------------------------------------

  private renderStyle() {
    const images = this.ui.image && !this.images.includes(this.ui.image) ? [this.ui.image, ...this.images] : this.images;
    return html`<section>
      <h2>Style code</h2>
      <div class="toolbar">
        <label
          >Image
          <vscode-single-select .value=${this.ui.image ?? ''} @change=${(e: Event) => this.setImage((e.target as HTMLSelectElement).value)}>
            ${images.map((path) => html`<vscode-option value=${path} description=${path}>${baseName(path)}</vscode-option>`)}
          </vscode-single-select></label
        >
        <vscode-button secondary @click=${this.pickImage}>Browse…</vscode-button>
        <label
          >Direction
          <vscode-single-select .value=${this.ui.direction} @change=${this.onDirection}>
            <vscode-option value="a2b">a → b</vscode-option>
            <vscode-option value="b2a">b → a</vscode-option>
          </vscode-single-select></label
        >
        <vscode-button ?disabled=${!this.ui.image} @click=${this.randomStyle}>Random style</vscode-button>
        ${this.busy ? html`<span class="busy">translating…</span>` : nothing}
      </div>
      ${this.error ? html`<p class="error">${this.error}</p>` : nothing}
      ${this.ui.image ? this.renderSliders() : html`<p class="muted">Pick an image to translate (e.g. one of the run's test images).</p>`}
    </section>`;
  }

  private renderSliders() {
    const t = this.translation;
    return html`
      <div class="preview">
        ${
          t
            ? html`<figure>
                  <figcaption>input</figcaption>
                  <img class="pixels" alt="input" src=${pngSrc(t.input)} />
                </figure>
                <figure>
                  <figcaption>translated (${t.origin.kind} weights, iteration ${t.origin.iteration})</figcaption>
                  <img class="pixels output" alt="translation" src=${pngSrc(t.outputs[0]!.png)} />
                </figure>`
            : nothing
        }
      </div>
      <div class="sliders">
        ${this.ui.style.map(
          (v, i) =>
            html`<label
              ><span>s${i}</span>
              <input
                type="range"
                min=${-STYLE_RANGE}
                max=${STYLE_RANGE}
                step="0.01"
                .value=${String(v)}
                aria-label="style dimension ${i}"
                @input=${(e: Event) => this.setStyleValue(i, Number((e.target as HTMLInputElement).value))}
              /><output>${v.toFixed(2)}</output></label
            >`,
        )}
      </div>
    `;
  }

  private setImage(image: string): void {
    if (!image || image === this.ui.image) return;
    this.setUi({ image });
    this.retranslate();
  }

  /** The saved style code if there is one, else a random one (which also tells us style_dim). */
  private retranslate(): void {
    void this.requestTranslation(this.ui.style.length > 0 ? { kind: 'vector', values: this.ui.style } : { kind: 'random', count: 1 });
  }

  private setStyleValue(i: number, value: number): void {
    const style = this.ui.style.map((v, j) => (j === i ? value : v));
    this.setUi({ style });
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.requestTranslation({ kind: 'vector', values: style }), TRANSLATE_DEBOUNCE_MS);
  }

  private async requestTranslation(style: StyleChoice): Promise<void> {
    const image = this.ui.image;
    if (!image) return;
    if (this.busy) {
      this.queued = style;
      return;
    }
    this.busy = true;
    this.error = undefined;
    try {
      const result = await this.host.request('translate', { image, direction: this.ui.direction, style });
      this.translation = result;
      // A random style (or a style_dim we did not know) sets the sliders.
      if (style.kind === 'random' || this.ui.style.length !== result.styleDim) this.setUi({ style: result.outputs[0]!.style });
    } catch (e) {
      this.error = (e as Error).message;
    } finally {
      this.busy = false;
    }
    const next = this.queued;
    this.queued = undefined;
    if (next) await this.requestTranslation(next);
  }

  private readonly randomStyle = () => this.requestTranslation({ kind: 'random', count: 1 });

  private readonly onDirection = (event: Event) => {
    const direction = (event.target as HTMLSelectElement).value as Direction;
    if (direction === this.ui.direction) return;
    // The other generator may have another style_dim: start from a random code of its own.
    this.setUi({ direction, style: [] });
    this.retranslate();
  };

  private readonly pickImage = async () => {
    const image = await this.host.request('pickImage', {});
    if (image) this.setImage(image);
  };
}

function valid(key: Key, text: string): boolean {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0) return false;
  return !key.endsWith('_iter') || (Number.isInteger(n) && n >= 1);
}

customElements.define('munit-tuning', TuningView);

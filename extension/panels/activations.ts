// Hosts the activations panel: offers the config's test images and the graph's nodes, answers activation requests.
import type * as vscode from 'vscode';
import * as P from '../../server/protocol.js';
import type { ActivationsContract, ActivationsContract as C, CommandOf, RequestHandlers } from '../../webviews/protocol.js';
import type { MunitContext } from '../context.js';
import { PanelHost, PanelSlot, type PanelSource } from './panel-host.js';
import { pickImage } from './pick-image.js';

export class ActivationsHost extends PanelHost<'activations'> {
  private selection: C['notifications']['select'] = {};

  protected readonly requests: RequestHandlers<ActivationsContract> = {
    pickImage: () => pickImage(),
    getActivations: (params) => this.munit.request(P.GetActivations.type, { ...params, ...this.source }),
  };

  constructor(panel: vscode.WebviewPanel, munit: MunitContext, source: PanelSource) {
    super('activations', panel, munit, source);
  }

  /** Shows a node (and image), e.g. the node clicked in the architecture panel. */
  select(selection: C['notifications']['select']): void {
    this.selection = { ...this.selection, ...selection };
    this.notify('select', this.selection);
  }

  protected async sendState(): Promise<void> {
    if (this.source.configPath) this.notify('images', { images: this.munit.configs.testImages(this.source.configPath) });
    this.notify('graph', await this.munit.request(P.Architecture.type, this.source));
    if (this.selection.nodeId || this.selection.image) this.notify('select', this.selection);
  }

  protected command(_message: CommandOf<ActivationsContract>): void {
    // 'ready' is the panel's only command.
  }
}

export function activationsSlot(munit: MunitContext): PanelSlot<'activations', ActivationsHost> {
  // Its saved state holds the image and node but not the model: a restored panel shows the most recent config's.
  const recent = (): PanelSource => ({ configPath: munit.configs.recent });
  return new PanelSlot(
    munit,
    'activations',
    (panel, source) => new ActivationsHost(panel, munit, source),
    (panel) => new ActivationsHost(panel, munit, recent()),
  );
}

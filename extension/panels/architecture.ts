// Hosts the architecture panel: the model's graph from munit/architecture, one domain at a time; a click on a node
// opens the activations panel on it.
import type * as vscode from 'vscode';
import * as P from '../../server/protocol.js';
import type { ArchitectureContract, CommandOf, PanelState, RequestHandlers } from '../../webviews/protocol.js';
import type { MunitContext } from '../context.js';
import { PanelHost, PanelSlot, type PanelSource } from './panel-host.js';

export class ArchitectureHost extends PanelHost<'architecture'> {
  protected readonly requests: RequestHandlers<ArchitectureContract> = {};

  constructor(
    panel: vscode.WebviewPanel,
    munit: MunitContext,
    source: PanelSource,
    private domain: P.Domain = 'a',
  ) {
    super('architecture', panel, munit, source);
  }

  protected async sendState(): Promise<void> {
    this.notify('graph', await this.munit.request(P.Architecture.type, { ...this.source, domain: this.domain }));
  }

  protected async command(message: CommandOf<ArchitectureContract>): Promise<void> {
    if (message.method === 'selectDomain') {
      this.domain = message.params.domain;
      await this.sendState();
    } else if (message.method === 'inspectNode') {
      this.munit.panels.activations.show(this.source).select({ nodeId: message.params.nodeId });
    }
  }
}

export function architectureSlot(munit: MunitContext): PanelSlot<'architecture', ArchitectureHost> {
  return new PanelSlot(
    munit,
    'architecture',
    (panel, source) => new ArchitectureHost(panel, munit, source),
    (panel, state?: PanelState<'architecture'>) => new ArchitectureHost(panel, munit, { runFolder: state?.runFolder }, state?.domain),
  );
}

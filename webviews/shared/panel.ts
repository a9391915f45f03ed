// What every panel element shares: its host connection, its UI state (restored from VS Code's saved state, saved on
// every change), the 'ready' handshake, and mounting by the panel's main.ts.
import { LitElement } from 'lit';
import { state } from 'lit/decorators.js';
import type { NotificationOf, PanelContract } from '../protocol.js';
import { HostConnection } from './host.js';
import { theme } from './theme.js';

export abstract class PanelElement<C extends PanelContract> extends LitElement {
  static override styles = [theme];
  /** Set by attach, before the first render. */
  @state() protected accessor ui!: C['state'];
  protected host!: HostConnection<C>;

  protected abstract initialState(): C['state'];
  protected abstract receive(message: NotificationOf<C>): void;

  /** Called once, before the element is attached: restores the saved state and starts listening. */
  attach(host: HostConnection<C>): void {
    this.host = host;
    this.ui = { ...this.initialState(), ...host.getState() };
    host.onNotification((message) => this.receive(message));
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.host.post('ready', {});
  }

  /** Changes the UI state, re-renders and saves it for the next reload. */
  protected setUi(changes: Partial<C['state']>): void {
    this.ui = { ...this.ui, ...changes };
    this.host.setState(this.ui);
  }
}

/** Connects the panel to VS Code and shows it. */
export function mountPanel<C extends PanelContract>(panel: PanelElement<C>): void {
  panel.attach(new HostConnection<C>());
  document.body.append(panel);
}

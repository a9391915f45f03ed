// The panel's side of the host connection: typed commands, requests answered by id (with a timeout so a lost answer
// cannot hang the panel), notifications, and the state VS Code keeps across hiding and reloads.
import type { NotificationOf, PanelContract, RequestMethod, RequestParams, RequestResult, ResponseMessage, WebviewMessage } from '../protocol.js';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

/** Injected by VS Code into every webview; callable once per page. */
declare function acquireVsCodeApi(): VsCodeApi;

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class HostConnection<C extends PanelContract> {
  private readonly api = acquireVsCodeApi();
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(message: NotificationOf<C>) => void>();
  private nextId = 1;

  /** Activations of a big model take seconds; a minute means the host is gone. */
  constructor(private readonly timeoutMs = 60_000) {
    window.addEventListener('message', (event: MessageEvent<unknown>) => this.receive(event.data));
  }

  post<M extends keyof C['commands'] & string>(method: M, params: C['commands'][M]): void {
    this.send({ method, params } as WebviewMessage<C>);
  }

  request<M extends RequestMethod<C>>(method: M, params: RequestParams<C, M>): Promise<RequestResult<C, M>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer after ${this.timeoutMs / 1000} s`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject, timer });
      this.send({ id, method, params } as WebviewMessage<C>);
    });
  }

  onNotification(listener: (message: NotificationOf<C>) => void): void {
    this.listeners.add(listener);
  }

  getState(): C['state'] | undefined {
    return (this.api.getState() as C['state'] | null) ?? undefined;
  }

  setState(state: C['state']): void {
    this.api.setState(state);
  }

  private send(message: WebviewMessage<C>): void {
    this.api.postMessage(message);
  }

  private receive(data: unknown): void {
    if (typeof data !== 'object' || data === null) return;
    if ('method' in data) {
      for (const listener of this.listeners) listener(data as NotificationOf<C>);
      return;
    }
    const response = data as ResponseMessage;
    const pending = this.pending.get(response.id);
    if (!pending) return;
    this.pending.delete(response.id);
    clearTimeout(pending.timer);
    if ('error' in response) pending.reject(new Error(response.error));
    else pending.resolve(response.result);
  }
}

// The main thread's handle on the engine worker: typed requests with promises, events as callbacks.
// If the worker dies (out of memory, a native crash), requests fail with that reason and a new worker starts.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EngineEvent, EngineMessage, EngineMethod, EngineMethods, EngineRequest } from './engine-messages.js';

const MAX_CRASHES = 3;
const CRASH_WINDOW_MS = 60_000;

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };

export interface EngineListener {
  (event: Exclude<EngineEvent, { event: 'ready' }>): void;
}

/**
 * Bundled, the worker is dist/engine-worker.js beside dist/server.js. From source (tests run under tsx), the worker
 * registers tsx's require hook first: loader hooks given with --import do not reach worker threads on Node 20.
 */
function createWorker(): Worker {
  // The worker's stdout is ours to read: over --stdio it would otherwise go into the LSP message stream.
  if (path.extname(__filename) !== '.ts') return new Worker(path.join(__dirname, 'engine-worker.js'), { stdout: true });
  const source = path.join(__dirname, 'engine-worker.ts');
  return new Worker(`require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(source)});`, { eval: true, stdout: true });
}

export class Engine {
  private worker!: Worker;
  private ready!: Promise<{ backend: string; engine: string }>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closing = false;
  /** When the worker died recently; a worker that keeps dying (e.g. a missing native module) is not restarted. */
  private crashes: number[] = [];

  /** `roots`: the workspace folders, sent with every request so the worker's PathGuard keeps to them. */
  constructor(
    private readonly listener: EngineListener,
    private readonly roots: () => readonly string[],
  ) {
    this.start();
  }

  /** The tfjs backend and the training engine, described, once the worker has them. */
  backend(): Promise<{ backend: string; engine: string }> {
    return this.ready;
  }

  async request<M extends EngineMethod>(method: M, params: EngineMethods[M][0]): Promise<EngineMethods[M][1]> {
    await this.ready;
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, method, params, roots: this.roots() } satisfies EngineRequest);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }

  private start(): void {
    // Workers inherit execArgv, so --max-old-space-size carries over.
    this.worker = createWorker();
    this.worker.stdout.on('data', (d: Buffer) => this.listener({ event: 'log', level: 'info', message: d.toString().trimEnd() }));
    let lastError = '';
    this.ready = new Promise<{ backend: string; engine: string }>((resolve, reject) => {
      this.worker.on('message', (message: EngineMessage) => {
        if ('id' in message) {
          const p = this.pending.get(message.id);
          this.pending.delete(message.id);
          if ('error' in message) p?.reject(new Error(message.error.message));
          else p?.resolve(message.result);
        } else if (message.event === 'ready') {
          resolve({ backend: message.backend, engine: message.engine });
        } else {
          if (message.event === 'log' && message.level === 'error') lastError = message.message;
          this.listener(message);
        }
      });
      this.worker.once('exit', (code) => {
        const reason = `the MUNIT engine stopped (exit code ${code}${lastError ? `: ${lastError}` : ''})`;
        reject(new Error(reason));
        for (const p of this.pending.values()) p.reject(new Error(`${reason}; the request was lost`));
        this.pending.clear();
        if (this.closing) return;
        const now = Date.now();
        this.crashes = [...this.crashes.filter((t) => now - t < CRASH_WINDOW_MS), now];
        if (this.crashes.length > MAX_CRASHES) {
          const final = `${reason}; it failed ${this.crashes.length} times within a minute, so it is not restarted (see the log above)`;
          this.listener({ event: 'crashed', reason: final, restarting: false });
          this.ready = Promise.reject(new Error(final));
          this.ready.catch(() => undefined);
          return;
        }
        this.listener({ event: 'crashed', reason, restarting: true });
        setTimeout(() => this.start(), 500 * this.crashes.length);
      });
      this.worker.on('error', (err) => {
        lastError = err.message;
        this.listener({ event: 'log', level: 'error', message: `engine error: ${err.stack ?? err.message}` });
      });
    });
    this.ready.catch(() => undefined);
  }
}

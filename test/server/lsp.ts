// Spawns the real server process and talks LSP to it over stdio with vscode-jsonrpc, as any editor would.
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMessageConnection, MessageConnection, NotificationType, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { InitializeRequest, InitializeResult } from 'vscode-languageserver-protocol';
import type { MunitServerInfo } from '../../server/protocol.js';

const ROOT = path.resolve(__dirname, '../..');
/** tsx's loader by path: `--import tsx` would be looked up from the workspace folder the server runs in. */
const TSX = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

export interface ServerSession {
  connection: MessageConnection;
  process: ChildProcess;
  initializeResult: InitializeResult & { munit?: MunitServerInfo };
  /** Every notification received so far, by method. */
  received: Map<string, unknown[]>;
  /** Resolves with the first notification of `type` (counting ones already received) that `accept` takes. */
  waitFor<T>(type: NotificationType<T>, accept?: (params: T) => boolean, timeoutMs?: number): Promise<T>;
  /** Like waitFor, but only notifications that arrive from now on count. */
  next<T>(type: NotificationType<T>, accept?: (params: T) => boolean, timeoutMs?: number): Promise<T>;
  stderr(): string;
  close(): Promise<void>;
}

export interface InitializeOptions {
  initializationOptions?: unknown;
  /** Client capabilities; default: work-done progress only. */
  capabilities?: object;
}

/** Starts server/main.ts from the sources (through tsx), or a bundled server file such as an installed dist/server.js. */
export async function startServer(workspace: string, env: Record<string, string> = {}, bundle?: string, init: InitializeOptions = {}): Promise<ServerSession> {
  const args = bundle ? [bundle, '--stdio'] : ['--import', TSX, path.join(ROOT, 'server/main.ts'), '--stdio'];
  const child = spawn(process.execPath, args, {
    cwd: workspace,
    env: { ...process.env, MUNIT_BACKEND: 'wasm', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  const received = new Map<string, unknown[]>();
  const waiters: { method: string; check: (p: unknown) => boolean; resolve: (p: unknown) => void }[] = [];
  const record = (method: string, params: unknown) => {
    const list = received.get(method) ?? [];
    list.push(params);
    received.set(method, list);
    for (const w of [...waiters]) {
      if (w.method === method && w.check(params)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(params);
      }
    }
  };
  connection.onNotification(record);
  // vscode-jsonrpc routes $/progress to per-token handlers; tokens the server created arrive here.
  connection.onUnhandledProgress((p) => record('$/progress', p));
  // Server-initiated requests an editor answers: progress tokens, configuration.
  connection.onRequest('window/workDoneProgress/create', () => null);
  connection.onRequest('workspace/configuration', () => []);
  connection.listen();
  const uri = pathToFileURL(workspace).href;
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`the server exited (code ${code}) before initialize answered:\n${stderr}`))),
  );
  const initializeResult = (await Promise.race([
    connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: uri,
      workspaceFolders: [{ uri, name: 'test' }],
      capabilities: init.capabilities ?? { window: { workDoneProgress: true } },
      initializationOptions: init.initializationOptions,
    }),
    exited,
  ]).catch((err: Error) => {
    child.kill('SIGKILL');
    throw err;
  })) as ServerSession['initializeResult'];
  exited.catch(() => undefined);
  await connection.sendNotification('initialized', {});

  const session: ServerSession = {
    connection,
    process: child,
    initializeResult,
    received,
    stderr: () => stderr,
    waitFor<T>(type: NotificationType<T>, accept: (params: T) => boolean = () => true, timeoutMs = 60_000): Promise<T> {
      const seen = (received.get(type.method) ?? []).find((p) => accept(p as T));
      if (seen !== undefined) return Promise.resolve(seen as T);
      return session.next(type, accept, timeoutMs);
    },
    next<T>(type: NotificationType<T>, accept: (params: T) => boolean = () => true, timeoutMs = 60_000): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${type.method} within ${timeoutMs} ms; server stderr:\n${stderr.slice(-2000)}`)), timeoutMs);
        waiters.push({
          method: type.method,
          check: (p) => accept(p as T),
          resolve: (p) => {
            clearTimeout(timer);
            resolve(p as T);
          },
        });
      });
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        await connection.sendRequest('shutdown');
        await connection.sendNotification('exit');
      } catch {
        child.kill('SIGKILL');
      }
      await exited;
      connection.dispose();
    },
  };
  return session;
}

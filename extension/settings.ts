// The `munit.*` settings (declared with their descriptions in package.json `contributes.configuration`), read typed.
import * as vscode from 'vscode';
import type { BackendChoice } from '../munit-core/backend-choices.js';
import type { EngineName, OnnxProvider } from '../munit-core/onnx/engine-names.js';

export type Backend = 'auto' | BackendChoice;
export type Engine = 'auto' | EngineName;
export type Provider = 'auto' | OnnxProvider;

export interface MunitSettings {
  backend: Backend;
  engine: Engine;
  onnxProvider: Provider;
  maxHeapMB: number;
  outputFolder: string;
  hoverStyles: number;
}

/** Settings the server reads once at start-up (its environment and heap): changing one needs a restart. */
export const RESTART_SETTINGS = ['munit.engine', 'munit.onnxProvider', 'munit.backend', 'munit.server.maxHeapMB'] as const;

export function readSettings(): MunitSettings {
  const config = vscode.workspace.getConfiguration('munit');
  return {
    backend: config.get<Backend>('backend', 'auto'),
    engine: config.get<Engine>('engine', 'auto'),
    onnxProvider: config.get<Provider>('onnxProvider', 'auto'),
    maxHeapMB: config.get<number>('server.maxHeapMB', 4096),
    outputFolder: config.get<string>('outputFolder', 'outputs'),
    hoverStyles: config.get<number>('hover.styles', 3),
  };
}

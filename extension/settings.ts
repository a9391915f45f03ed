// The `munit.*` settings (declared with their descriptions in package.json `contributes.configuration`), read typed.
import * as vscode from 'vscode';

export type Backend = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

export interface MunitSettings {
  backend: Backend;
  maxHeapMB: number;
  outputFolder: string;
  hoverStyles: number;
}

/** Settings the server reads once at start-up (its environment and heap): changing one needs a restart. */
export const RESTART_SETTINGS = ['munit.backend', 'munit.server.maxHeapMB'] as const;

export function readSettings(): MunitSettings {
  const config = vscode.workspace.getConfiguration('munit');
  return {
    backend: config.get<Backend>('backend', 'auto'),
    maxHeapMB: config.get<number>('server.maxHeapMB', 4096),
    outputFolder: config.get<string>('outputFolder', 'outputs'),
    hoverStyles: config.get<number>('hover.styles', 3),
  };
}

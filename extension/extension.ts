// Entry point: creates the one MUNIT context (client, jobs, status bar, commands, hovers, panels) and starts the server.
import type * as vscode from 'vscode';
import { registerCommands } from './commands.js';
import { MunitContext } from './context.js';
import { registerImageHover } from './hover.js';
import { registerStatusBar } from './status.js';

/** Returns the context as the extension's API, which the extension-host tests inspect. */
export function activate(extension: vscode.ExtensionContext): MunitContext {
  const munit = new MunitContext(extension);
  registerCommands(munit);
  registerStatusBar(munit);
  registerImageHover(munit);
  // In the background: commands work while it starts, and a server that fails to start is reported, not fatal.
  munit.startServer().catch((error: unknown) => munit.output.error(`The MUNIT server did not start: ${String(error)}`));
  return munit;
}

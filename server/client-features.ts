// What the client said in initialize that changes how the server answers: work-done progress, its own commands for
// the code lenses, and code lens refresh.
import type { InitializeParams } from 'vscode-languageserver/node';
import type { InitializationOptions } from './protocol.js';

export interface ClientFeatures {
  /** It shows window/workDoneProgress: training jobs report through it. */
  progress: boolean;
  /** It registers CLIENT_COMMANDS (our extension): the lenses invoke those instead of the server's own commands. */
  commands: boolean;
  /** It fetches code lenses again when asked. */
  lensRefresh: boolean;
}

export function clientFeatures(params: InitializeParams): ClientFeatures {
  return {
    progress: params.capabilities?.window?.workDoneProgress === true,
    commands: (params.initializationOptions as InitializationOptions | undefined)?.clientCommands === true,
    lensRefresh: params.capabilities?.workspace?.codeLens?.refreshSupport === true,
  };
}

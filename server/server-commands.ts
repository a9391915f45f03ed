// The server's own commands (workspace/executeCommand), which its code lenses invoke in editors without our
// extension: start training a config, stop a job.
import * as path from 'node:path';
import { type Connection, MessageType, ShowMessageNotification } from 'vscode-languageserver/node';
import type { Engine } from './engine.js';
import { asResponseError } from './failures.js';
import { ParamsError } from './params.js';
import { SERVER_COMMANDS } from './protocol.js';
import { RELAYS } from './relays.js';
import type { Workspace } from './workspace.js';

export function serveCommands(connection: Connection, engine: Engine, workspace: Workspace): void {
  connection.onExecuteCommand(async ({ command, arguments: args }) => {
    try {
      const [arg] = Array.isArray(args) ? args : [];
      switch (command) {
        case SERVER_COMMANDS.startTraining: {
          if (typeof arg !== 'string') throw new ParamsError(`${command}: expected the config file's path as its argument, got ${JSON.stringify(arg)}`);
          const status = await engine.request('startTraining', RELAYS.startTraining.params({ configPath: arg, resume: true }, workspace));
          void connection.sendNotification(ShowMessageNotification.type, {
            type: MessageType.Info,
            message: `MUNIT: training ${path.basename(status.configPath)} (${status.jobId}) from iteration ${status.iteration} into ${status.runFolder}`,
          });
          return status;
        }
        case SERVER_COMMANDS.stopTraining:
          if (typeof arg !== 'string') throw new ParamsError(`${command}: expected a job id as its argument, got ${JSON.stringify(arg)}`);
          return await engine.request('stopTraining', { jobId: arg });
        default:
          throw new ParamsError(`unknown command ${JSON.stringify(command)}; the MUNIT server has ${Object.values(SERVER_COMMANDS).join(', ')}`);
      }
    } catch (err) {
      throw asResponseError(err);
    }
  });
}

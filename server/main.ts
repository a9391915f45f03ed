// Entry point of the MUNIT server: `node dist/server.js --stdio`, or started by the extension over Node IPC
// (`--node-ipc`); vscode-languageserver picks the transport from the command line.
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { startServer } from './server.js';

const connection = createConnection(ProposedFeatures.all);
// A stray failure (a client that does not answer a request, a closed pipe) is logged; it must not end the server.
process.on('unhandledRejection', (reason) => connection.console.error(`unhandled: ${reason instanceof Error ? reason.stack : String(reason)}`));
startServer(connection);

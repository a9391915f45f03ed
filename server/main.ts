// Entry point of the MUNIT server: `node dist/server.js --stdio`, or started by the extension over Node IPC
// (`--node-ipc`); vscode-languageserver picks the transport from the command line.
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { startServer } from './server.js';

startServer(createConnection(ProposedFeatures.all));

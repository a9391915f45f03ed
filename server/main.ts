// Entry point of the MUNIT server: `node dist/server.js --stdio` (also `--socket=PORT`), or started by the extension
// over Node IPC (`--node-ipc`). The transport is built here so that every message passes transport.ts's checks.
import * as net from 'node:net';
import {
  createConnection,
  IPCMessageReader,
  IPCMessageWriter,
  Message,
  MessageReader,
  MessageType,
  MessageWriter,
  ProposedFeatures,
  StreamMessageWriter,
} from 'vscode-languageserver/node';
import { startServer } from './server.js';
import { FramedStreamReader, FramingEvents, ProtocolGate } from './transport.js';

function usage(): never {
  process.stderr.write('usage: munit-server --stdio | --node-ipc | --socket=PORT\n');
  process.exit(2);
}

/** The transport the command line names. */
function transport(argv: string[], events: FramingEvents): { reader: MessageReader; writer: MessageWriter } {
  if (argv.includes('--node-ipc')) return { reader: new IPCMessageReader(process), writer: new IPCMessageWriter(process) };
  const socketArg = argv.find((a) => a.startsWith('--socket'));
  if (socketArg) {
    const port = Number(socketArg.includes('=') ? socketArg.split('=')[1] : argv[argv.indexOf(socketArg) + 1]);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) usage();
    const socket = net.createConnection(port, '127.0.0.1');
    return { reader: new FramedStreamReader(socket, events), writer: new StreamMessageWriter(socket) };
  }
  if (argv.includes('--stdio')) return { reader: new FramedStreamReader(process.stdin, events), writer: new StreamMessageWriter(process.stdout) };
  usage();
}

let writer: MessageWriter | undefined;
const send = (message: object) => writer?.write(message as Message).catch(() => undefined);
const events: FramingEvents = {
  parseError(reason) {
    process.stderr.write(`MUNIT server: ${reason}\n`);
    void send({ jsonrpc: '2.0', id: null, error: { code: -32700, message: `Parse error: ${reason}` } });
  },
  broken(reason) {
    const message = `MUNIT server: the message stream from the client is broken: ${reason}. Exiting so that the client can start a new server.`;
    process.stderr.write(message + '\n');
    setTimeout(() => process.exit(1), 1000).unref();
    void Promise.resolve(send({ jsonrpc: '2.0', method: 'window/logMessage', params: { type: MessageType.Error, message } })).finally(() => process.exit(1));
  },
};

const gate = new ProtocolGate(transport(process.argv.slice(2), events));
writer = gate.writer;
const connection = createConnection(ProposedFeatures.all, gate.reader, gate.writer);
// Anything written to stdout would corrupt the message stream: console output goes to the client's log instead.
console.log = (...args: unknown[]) => connection.console.log(args.join(' '));
console.info = (...args: unknown[]) => connection.console.info(args.join(' '));
console.warn = (...args: unknown[]) => connection.console.warn(args.join(' '));
console.error = (...args: unknown[]) => connection.console.error(args.join(' '));
// The client went away: exit 0 after an orderly shutdown, else 1 (there is no one left to talk to either way).
gate.reader.onClose(() => process.exit(gate.shutdownReceived ? 0 : 1));
// A stray failure (a client that does not answer a request, a closed pipe) is logged; it must not end the server.
process.on('unhandledRejection', (reason) => connection.console.error(`unhandled: ${reason instanceof Error ? reason.stack : String(reason)}`));
startServer(connection);

// The server's end of the wire. Two layers under the LSP connection:
// - FramedStreamReader reads `Content-Length` framed JSON from a stream (stdio, a socket) and checks the framing as it
//   goes. Once the framing is lost nothing later can be trusted, and vscode-jsonrpc's reader would wait forever: this
//   one names what was wrong and reports the stream broken (main.ts logs it and exits, so the client restarts us).
//   A well-framed body that is not JSON gets JSON-RPC's Parse error and the stream goes on.
// - ProtocolGate enforces LSP's message order before the connection sees a message: -32002 before `initialize` has
//   been answered, one `initialize` only, nothing after `shutdown` but `exit`, Invalid Request for non-messages.
import { AbstractMessageReader, DataCallback, Disposable, ErrorCodes, Event, Message, MessageReader, MessageWriter } from 'vscode-languageserver/node';

/** The largest message accepted: far above any config file or request, far below what would exhaust memory. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** Headers are a line or two; more than this without the blank line that ends them is not a header. */
const MAX_HEADER_BYTES = 8 * 1024;
/** A writer sends a message in one go: a message that stops half way for this long will not be finished. */
export const STALL_MS = 10_000;

const TOKEN = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]";
const HEADER_LINE = new RegExp(`^${TOKEN}+:[ \\t]*[\\x20-\\x7e\\t]*$`);
/** What the start of a header line may look like while the rest has not arrived. */
const PARTIAL_HEADER_LINE = new RegExp(`^${TOKEN}*(:[\\x20-\\x7e\\t]*)?\\r?$`);

export interface FramingEvents {
  /** A framed body was not JSON: answer it with a Parse error. */
  parseError(reason: string): void;
  /** The framing is lost for good; nothing more is read. */
  broken(reason: string): void;
}

const quote = (text: string) => JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text);

export class FramedStreamReader extends AbstractMessageReader implements MessageReader {
  private buffer: Buffer = Buffer.alloc(0);
  /** Byte length of the body being read; -1 while reading headers. */
  private bodyLength = -1;
  private stall?: NodeJS.Timeout;
  private broken = false;

  constructor(
    private readonly stream: NodeJS.ReadableStream,
    private readonly events: FramingEvents,
  ) {
    super();
  }

  listen(callback: DataCallback): Disposable {
    const onData = (chunk: Buffer) => this.onData(chunk, callback);
    const onError = (error: Error) => this.fireError(error);
    const onClose = () => this.fireClose();
    this.stream.on('data', onData);
    this.stream.on('error', onError);
    this.stream.on('end', onClose);
    this.stream.on('close', onClose);
    return Disposable.create(() => {
      this.stream.off('data', onData);
      this.stream.off('error', onError);
      this.stream.off('end', onClose);
      this.stream.off('close', onClose);
      clearTimeout(this.stall);
    });
  }

  private onData(chunk: Buffer, callback: DataCallback): void {
    if (this.broken) return;
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    while (!this.broken) {
      if (this.bodyLength < 0) {
        const end = this.buffer.indexOf('\r\n\r\n');
        const header = readHeader(this.buffer.subarray(0, end < 0 ? this.buffer.length : end).toString('latin1'), end >= 0);
        if ('problem' in header) return this.fail(header.problem);
        if (header.length === undefined) break;
        this.buffer = this.buffer.subarray(end + 4);
        this.bodyLength = header.length;
      }
      if (this.buffer.length < this.bodyLength) break;
      const body = this.buffer.subarray(0, this.bodyLength);
      this.buffer = this.buffer.subarray(this.bodyLength);
      this.bodyLength = -1;
      let message: Message;
      try {
        message = JSON.parse(body.toString('utf8')) as Message;
      } catch (err) {
        this.events.parseError(`the body of ${body.length} bytes is not valid JSON (${(err as Error).message})`);
        continue;
      }
      callback(message);
    }
    this.watchForStall();
  }

  /** A message begun and not finished within STALL_MS (e.g. a Content-Length larger than the body) breaks the stream. */
  private watchForStall(): void {
    clearTimeout(this.stall);
    if (this.broken || (this.bodyLength < 0 && this.buffer.length === 0)) return;
    const reason =
      this.bodyLength < 0
        ? `an incomplete header (${quote(this.buffer.toString('latin1'))}) got no more bytes for ${STALL_MS / 1000} s`
        : `a message declared Content-Length ${this.bodyLength}, but only ${this.buffer.length} bytes came and nothing more for ${STALL_MS / 1000} s`;
    this.stall = setTimeout(() => this.fail(reason), STALL_MS);
    this.stall.unref();
  }

  private fail(reason: string): void {
    this.broken = true;
    clearTimeout(this.stall);
    this.events.broken(reason);
  }
}

/** Parses a header block; `length` stays undefined while it may still be incomplete. */
function readHeader(text: string, complete: boolean): { length?: number } | { problem: string } {
  if (!complete && text.length > MAX_HEADER_BYTES) return { problem: `no end of the header within ${MAX_HEADER_BYTES} bytes` };
  const lines = text.split('\r\n');
  const partial = complete ? undefined : lines.pop()!;
  if (partial !== undefined && !PARTIAL_HEADER_LINE.test(partial))
    return { problem: `expected a header line such as "Content-Length: 42", got ${quote(partial)}` };
  const bad = lines.find((line) => !HEADER_LINE.test(line));
  if (bad !== undefined) return { problem: `expected a header line such as "Content-Length: 42", got ${quote(bad)}` };
  if (!complete) return {};
  const values = lines.filter((l) => /^content-length:/i.test(l)).map((l) => l.slice(l.indexOf(':') + 1).trim());
  if (values.length === 0) return { problem: `the header ${quote(text)} has no Content-Length` };
  if (new Set(values).size > 1) return { problem: `the header gives different Content-Lengths: ${values.join(', ')}` };
  if (!/^\d+$/.test(values[0])) return { problem: `Content-Length ${quote(values[0])} is not a byte count` };
  const length = Number(values[0]);
  if (length > MAX_MESSAGE_BYTES) return { problem: `Content-Length ${values[0]} is over the limit of ${MAX_MESSAGE_BYTES} bytes` };
  const type = lines.find((l) => /^content-type:/i.test(l));
  const charset = type && /charset=([^;\s]+)/i.exec(type)?.[1].replace(/"/g, '').toLowerCase();
  if (charset && charset !== 'utf-8' && charset !== 'utf8') return { problem: `Content-Type charset ${charset} is not supported (utf-8 only)` };
  return { length };
}

type Phase = 'new' | 'initializing' | 'ready' | 'shutdown';
type Id = number | string | null;

/** Wraps a reader and writer so the connection sees only messages that are valid at this point of the protocol. */
export class ProtocolGate {
  readonly reader: MessageReader;
  readonly writer: MessageWriter;
  private phase: Phase = 'new';
  private initializeId: Id = null;

  constructor(private readonly inner: { reader: MessageReader; writer: MessageWriter }) {
    this.reader = new GatedReader(inner.reader, (message, deliver) => this.admit(message, deliver));
    this.writer = new GatedWriter(inner.writer, (message) => this.sent(message));
  }

  get shutdownReceived(): boolean {
    return this.phase === 'shutdown';
  }

  /** Answers a request with an error without the connection seeing it. */
  private refuse(id: Id, code: number, message: string): void {
    void this.inner.writer.write({ jsonrpc: '2.0', id, error: { code, message } } as Message).catch(() => undefined);
  }

  private admit(message: unknown, deliver: (m: Message) => void): void {
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      return this.refuse(
        null,
        ErrorCodes.InvalidRequest,
        `not a JSON-RPC message: expected an object, got ${Array.isArray(message) ? 'an array (batches are not supported)' : JSON.stringify(message)}`,
      );
    }
    const m = message as { id?: unknown; method?: unknown };
    const validId = m.id === undefined || typeof m.id === 'number' || typeof m.id === 'string' || m.id === null;
    if (!validId) return this.refuse(null, ErrorCodes.InvalidRequest, `the message id must be a number or a string, got ${JSON.stringify(m.id)}`);
    if (m.method === undefined) {
      if (m.id === undefined || !('result' in m || 'error' in m))
        return this.refuse((m.id ?? null) as Id, ErrorCodes.InvalidRequest, 'not a JSON-RPC message: it has neither a "method" nor a "result" or "error"');
      return deliver(message as Message);
    }
    if (typeof m.method !== 'string')
      return this.refuse((m.id ?? null) as Id, ErrorCodes.InvalidRequest, `the method must be a string, got ${JSON.stringify(m.method)}`);
    const method = m.method;
    if (m.id === undefined) {
      // Notifications: LSP drops them before initialize and after shutdown, except exit.
      if (method === 'exit' || this.phase === 'ready') deliver(message as Message);
      return;
    }
    const id = m.id as Id;
    if (method === 'initialize') {
      if (this.phase !== 'new')
        return this.refuse(
          id,
          ErrorCodes.InvalidRequest,
          'initialize was already received: a server is initialized once; start another server process for another workspace',
        );
      this.phase = 'initializing';
      this.initializeId = id;
      return deliver(message as Message);
    }
    if (this.phase === 'new' || this.phase === 'initializing') {
      return this.refuse(id, ErrorCodes.ServerNotInitialized, `${method}: the server is not initialized yet; send initialize and wait for its answer first`);
    }
    if (this.phase === 'shutdown')
      return this.refuse(id, ErrorCodes.InvalidRequest, `${method}: the server is shutting down (shutdown was received); only exit is accepted`);
    if (method === 'shutdown') this.phase = 'shutdown';
    deliver(message as Message);
  }

  /** The answer to initialize opens the gate; a failed initialize may be sent again. */
  private sent(message: Message): void {
    if (this.phase !== 'initializing') return;
    const response = message as { id?: Id; method?: string; error?: unknown };
    if (response.method === undefined && response.id === this.initializeId) this.phase = response.error === undefined ? 'ready' : 'new';
  }
}

class GatedReader extends AbstractMessageReader implements MessageReader {
  constructor(
    private readonly inner: MessageReader,
    private readonly admit: (message: unknown, deliver: (m: Message) => void) => void,
  ) {
    super();
    inner.onError((e) => this.fireError(e));
    inner.onClose(() => this.fireClose());
    inner.onPartialMessage((info) => this.firePartialMessage(info));
  }

  listen(callback: DataCallback): Disposable {
    return this.inner.listen((message) => this.admit(message, callback));
  }
}

class GatedWriter implements MessageWriter {
  constructor(
    private readonly inner: MessageWriter,
    private readonly sent: (message: Message) => void,
  ) {}

  get onError(): Event<[Error, Message | undefined, number | undefined]> {
    return this.inner.onError;
  }

  get onClose(): Event<void> {
    return this.inner.onClose;
  }

  write(message: Message): Promise<void> {
    // Before the bytes leave: the client may answer the initialize result at once.
    this.sent(message);
    return this.inner.write(message);
  }

  end(): void {
    this.inner.end();
  }

  dispose(): void {
    this.inner.dispose();
  }
}

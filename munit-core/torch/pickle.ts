// A restricted unpickler: Python's pickle is a small stack machine whose GLOBAL and REDUCE opcodes import and call
// arbitrary functions, so unpickling an untrusted file in Python runs whatever the file asks. Here nothing is ever
// imported or called: GLOBAL asks the host, which resolves only an allowlist (and throws for anything else), and
// REDUCE only calls what the host returned. Every length is checked against the bytes that are left before anything
// is allocated, and the number of opcodes is capped, so a hostile pickle costs at most memory proportional to a
// bounded count of small objects.
//
// Python values become: None -> null, bool -> boolean, int -> number (bigint when it is not a safe integer),
// float -> number, str -> string, list -> array, tuple -> frozen array, dict -> Map.
import { TorchFileError } from './torch-file-error.js';

/** A global the host allows to be called by REDUCE (e.g. collections.OrderedDict, torch._utils._rebuild_tensor_v2). */
export class PickleCallable {
  constructor(
    readonly qualifiedName: string,
    readonly call: (args: readonly unknown[]) => unknown,
  ) {}
}

export interface PickleHost {
  /** GLOBAL / STACK_GLOBAL: returns the allowed object or throws a TorchFileError naming the global. */
  findClass(module: string, name: string): unknown;
  /** BINPERSID: the value a persistent id stands for (PyTorch uses them for tensor storages). */
  persistentLoad(pid: unknown): unknown;
}

/** Far more than any checkpoint needs (the reference's 46M-parameter optimizer file has under 20,000). */
const MAX_OPCODES = 2_000_000;
/** Python ints in a state dict are small; the longest legitimate one is torch's 10-byte legacy magic number. */
const MAX_LONG_BYTES = 64;

/** Module and function names of a GLOBAL. */
const MAX_NAME = 256;

const MARK = Symbol('mark');

export function describeValue(v: unknown): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return Object.isFrozen(v) ? `tuple of ${v.length}` : `list of ${v.length}`;
  if (v instanceof Map) return `dict of ${v.size}`;
  if (v instanceof PickleCallable) return v.qualifiedName;
  if (typeof v === 'object') return v.constructor?.name ?? 'object';
  return typeof v === 'string' ? `'${v.length > 40 ? v.slice(0, 40) + '...' : v}'` : String(v);
}

/**
 * Unpickles one pickle starting at `start` (PyTorch's legacy format holds several in a row); returns the value and
 * the offset just after its STOP opcode. Errors name `source` and the byte offset within `bytes`.
 */
export function unpickle(bytes: Uint8Array, start: number, host: PickleHost, source: string): { value: unknown; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let pos = start;
  let opPos = start;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const fail = (detail: string): never => {
    throw new TorchFileError(source, `pickle at byte ${opPos}: ${detail}`);
  };
  const need = (n: number): number => {
    if (n > bytes.length - pos) fail(`needs ${n} more bytes but the file ends at byte ${bytes.length} (truncated)`);
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = () => bytes[need(1)];
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = () => {
    const n = view.getBigUint64(need(8), true);
    return n > BigInt(bytes.length) ? fail(`declares ${n} bytes, more than the whole file`) : Number(n);
  };
  const text = (n: number) => {
    const at = need(n);
    try {
      return utf8.decode(bytes.subarray(at, at + n));
    } catch {
      return fail('a string that is not valid UTF-8');
    }
  };
  // As in Python, nothing at or below the newest MARK can be popped or read until POP_MARK-style opcodes take it.
  const hasTop = () => stack.length > (marks.at(-1) ?? -1) + 1;
  const pop = (): unknown => (hasTop() ? stack.pop() : fail('pops an empty stack'));
  const top = (): unknown => (hasTop() ? stack[stack.length - 1] : fail('reads an empty stack'));
  const popMark = (): unknown[] => {
    const mark = marks.pop() ?? fail('no mark to pop to');
    const items = stack.splice(mark);
    items.shift(); // the MARK itself
    return items;
  };
  const list = (v: unknown): unknown[] => (Array.isArray(v) && !Object.isFrozen(v) ? v : fail(`appends to ${describeValue(v)}, not a list`));
  const dict = (v: unknown): Map<unknown, unknown> => (v instanceof Map ? v : fail(`sets an item of ${describeValue(v)}, not a dict`));
  const memoGet = (i: number) => (memo.has(i) ? memo.get(i) : fail(`reads memo slot ${i}, which was never written`));
  const int = (v: bigint): number | bigint => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
  const long = (n: number): number | bigint => {
    if (n > MAX_LONG_BYTES) fail(`an integer of ${n} bytes`);
    const at = need(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]);
    if (n > 0 && bytes[at + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return int(v);
  };
  const line = (): string => {
    const end = bytes.subarray(pos, pos + MAX_NAME).indexOf(0x0a);
    if (end < 0) fail(`a GLOBAL name without its newline within ${MAX_NAME} bytes`);
    const name = text(end);
    pos++; // the newline
    return name;
  };
  const global = (module: string, name: string) => stack.push(host.findClass(module, name));

  for (let ops = 0; ; ops++) {
    if (ops >= MAX_OPCODES) fail(`more than ${MAX_OPCODES} operations: not a checkpoint this reader understands`);
    opPos = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('an unknown pickle protocol');
        break;
      case 0x95: // FRAME: a length hint only
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length) fail(`ends with ${stack.length} values on the stack`);
        return { value: stack[0], end: pos };
      case 0x28: // MARK
        marks.push(stack.length);
        stack.push(MARK);
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(view.getInt32(need(4), true));
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(long(u8()));
        break;
      case 0x8b: // LONG4
        stack.push(long(u32()));
        break;
      case 0x47: // BINFLOAT (big-endian)
        stack.push(view.getFloat64(need(8), false));
        break;
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(u64()));
        break;
      case 0x55: // SHORT_BINSTRING (Python 2 str, as in files saved by Python 2)
        stack.push(text(u8()));
        break;
      case 0x54: // BINSTRING
        stack.push(text(u32()));
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(Object.freeze([]));
        break;
      case 0x74: // TUPLE
        stack.push(Object.freeze(popMark()));
        break;
      case 0x85: // TUPLE1
        stack.push(Object.freeze([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push(Object.freeze([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(Object.freeze([pop(), b, c]));
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        list(top()).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const target = list(top());
        for (const item of items) target.push(item);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        dict(top()).set(k, v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        if (items.length % 2) fail('SETITEMS with an odd number of values');
        const target = dict(top());
        for (let i = 0; i < items.length; i += 2) target.set(items[i], items[i + 1]);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;
      case 0x63: // GLOBAL "module\nname\n"
        global(line(), line());
        break;
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL without two names');
        global(module as string, name as string);
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const callable = pop();
        if (!(callable instanceof PickleCallable)) return fail(`calls ${describeValue(callable)}, which is not callable`);
        if (!Array.isArray(args)) return fail(`calls ${callable.qualifiedName} with ${describeValue(args)} instead of a tuple`);
        stack.push(callable.call(args));
        break;
      }
      case 0x62: {
        // BUILD: sets an object's attributes. A state dict's OrderedDict carries `_metadata` (module versions),
        // which a Map has no place for and nothing here needs.
        pop();
        if (!(top() instanceof Map)) fail(`sets the state of ${describeValue(top())}, which is not supported`);
        break;
      }
      case 0x51: // BINPERSID
        stack.push(host.persistentLoad(pop()));
        break;
      default:
        fail(`opcode 0x${op.toString(16).padStart(2, '0')} is not supported (a state dict does not use it)`);
    }
  }
}

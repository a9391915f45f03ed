// The protobuf wire format, read by hand: an event file needs four message types and a handful of fields, and a
// protobuf library (none is installed) would bring a schema compiler or runtime reflection for what is a 50-line loop.
// Each message is a sequence of (field number, wire type, value); unknown fields are skipped by their wire type.

export class ProtobufError extends Error {}

export interface ProtoField {
  field: number;
  /** 0 varint, 1 fixed 64-bit, 2 length-delimited, 5 fixed 32-bit. */
  wire: number;
  /** The value of a varint field. */
  varint: bigint;
  /** The bytes of a fixed or length-delimited field (little-endian for the fixed ones). */
  bytes: Uint8Array;
}

const NONE = new Uint8Array(0);

export function* protoFields(bytes: Uint8Array): Generator<ProtoField> {
  let pos = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= bytes.length) throw new ProtobufError('a varint runs past the end of its message');
      const b = bytes[pos++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return BigInt.asUintN(64, v);
    }
    throw new ProtobufError('a varint longer than 10 bytes');
  };
  const take = (n: number): Uint8Array => {
    if (n > bytes.length - pos) throw new ProtobufError(`a field of ${n} bytes runs past the end of its message`);
    pos += n;
    return bytes.subarray(pos - n, pos);
  };
  while (pos < bytes.length) {
    const key = varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    switch (wire) {
      case 0:
        yield { field, wire, varint: varint(), bytes: NONE };
        break;
      case 1:
        yield { field, wire, varint: 0n, bytes: take(8) };
        break;
      case 2: {
        const n = varint();
        if (n > BigInt(bytes.length)) throw new ProtobufError(`a field of ${n} bytes in a message of ${bytes.length}`);
        yield { field, wire, varint: 0n, bytes: take(Number(n)) };
        break;
      }
      case 5:
        yield { field, wire, varint: 0n, bytes: take(4) };
        break;
      default:
        throw new ProtobufError(`wire type ${wire} (field ${field}) is not supported`);
    }
  }
}

export function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

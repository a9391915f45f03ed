// TensorBoard's Event message, as far as scalar logs need it (tensorflow/core/util/event.proto, summary.proto,
// tensor.proto):
//   Event         wall_time = 1 (double), step = 2 (int64), summary = 5
//   Summary       value = 1 (repeated)
//   Summary.Value tag = 1, simple_value = 2 (float), tensor = 8
//   TensorProto   dtype = 1 (DT_FLOAT 1, DT_DOUBLE 2), tensor_shape = 2, tensor_content = 4, float_val = 5, double_val = 6
// tensorboardX (the reference's writer) logs simple_value; TensorFlow 2 logs scalars as 0-d tensors. Images,
// histograms and non-scalar tensors are not scalars and are passed over.
import { protoFields, view } from './protobuf.js';

export interface ScalarEvent {
  wallTime: number;
  step: number;
  /** [tag, value] for each scalar of the event (none for e.g. the file_version event). */
  scalars: [string, number][];
}

const DT_FLOAT = 1;
const DT_DOUBLE = 2;

export function decodeEvent(bytes: Uint8Array): ScalarEvent {
  const event: ScalarEvent = { wallTime: 0, step: 0, scalars: [] };
  for (const f of protoFields(bytes)) {
    if (f.field === 1 && f.wire === 1) event.wallTime = view(f.bytes).getFloat64(0, true);
    else if (f.field === 2 && f.wire === 0) event.step = Number(BigInt.asIntN(64, f.varint));
    else if (f.field === 5 && f.wire === 2) {
      for (const v of protoFields(f.bytes)) if (v.field === 1 && v.wire === 2) addValue(v.bytes, event.scalars);
    }
  }
  return event;
}

function addValue(bytes: Uint8Array, out: [string, number][]): void {
  let tag: string | undefined;
  let value: number | undefined;
  for (const f of protoFields(bytes)) {
    if (f.field === 1 && f.wire === 2) tag = new TextDecoder().decode(f.bytes);
    else if (f.field === 2 && f.wire === 5) value = view(f.bytes).getFloat32(0, true);
    else if (f.field === 8 && f.wire === 2) value = tensorScalar(f.bytes);
  }
  if (tag !== undefined && value !== undefined) out.push([tag, value]);
}

/** The value of a 0-d (or one-element) float or double tensor; undefined for anything else. */
function tensorScalar(bytes: Uint8Array): number | undefined {
  let dtype = 0;
  const values: number[] = [];
  let content: Uint8Array | undefined;
  for (const f of protoFields(bytes)) {
    if (f.field === 1 && f.wire === 0) dtype = Number(f.varint);
    else if (f.field === 4 && f.wire === 2) content = f.bytes;
    // Repeated numbers come packed (one length-delimited field) or one per field.
    else if (f.field === 5) values.push(...numbers(f.bytes, 4, (v, at) => v.getFloat32(at, true)));
    else if (f.field === 6) values.push(...numbers(f.bytes, 8, (v, at) => v.getFloat64(at, true)));
  }
  if (dtype === DT_FLOAT && content?.length === 4) return view(content).getFloat32(0, true);
  if (dtype === DT_DOUBLE && content?.length === 8) return view(content).getFloat64(0, true);
  return (dtype === DT_FLOAT || dtype === DT_DOUBLE) && values.length === 1 ? values[0] : undefined;
}

function numbers(bytes: Uint8Array, size: number, read: (v: DataView, at: number) => number): number[] {
  const v = view(bytes);
  return Array.from({ length: Math.floor(bytes.length / size) }, (_, i) => read(v, i * size));
}

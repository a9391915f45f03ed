// TFRecord framing, the container of TensorBoard event files: records of
//   uint64 length | uint32 masked CRC-32C of the length bytes | data | uint32 masked CRC-32C of the data
// (all little-endian). A file cut short (a run killed while writing) ends in a partial record: it is dropped with a
// warning, as TensorBoard does. A record whose data fails its CRC is skipped with a warning naming the file and
// offset (its length is trusted, having passed its own CRC); a length that fails its CRC ends the file's reading with
// a warning, since nothing after it can be framed.
import { maskedCrc32c } from './crc32c.js';

export interface TfRecord {
  /** Byte offset of the record's header in the file. */
  offset: number;
  data: Uint8Array;
}

export function readTfRecords(bytes: Uint8Array, source: string, onWarning: (message: string) => void): TfRecord[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: TfRecord[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    if (bytes.length - pos < 12) {
      onWarning(`${source}: a partial record at byte ${pos} (the file is truncated); ignored`);
      break;
    }
    if (view.getUint32(pos + 8, true) !== maskedCrc32c(bytes.subarray(pos, pos + 8))) {
      onWarning(`${source}: the record length at byte ${pos} fails its CRC; the rest of the file is ignored`);
      break;
    }
    const length = view.getBigUint64(pos, true);
    if (length > BigInt(bytes.length - pos - 16)) {
      onWarning(`${source}: the record at byte ${pos} (${length} bytes) runs past the end of the file (truncated); ignored`);
      break;
    }
    const start = pos + 12;
    const data = bytes.subarray(start, start + Number(length));
    if (view.getUint32(start + data.length, true) !== maskedCrc32c(data))
      onWarning(`${source}: the record at byte ${pos} fails its data CRC (corrupt); skipped`);
    else records.push({ offset: pos, data });
    pos = start + data.length + 4;
  }
  return records;
}

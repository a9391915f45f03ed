// TensorBoard scalar logs of the reference's runs, written by tensorboardX (test/fixtures/torch/make_fixtures.py).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crc32c, maskedCrc32c } from '../../munit-core/tfevents/crc32c.js';
import { eventFiles, metricsLines, readScalarLogs } from '../../munit-core/tfevents/scalar-logs.js';
import { readTfRecords } from '../../munit-core/tfevents/tfrecord.js';
import { seeded } from './helpers.js';

const LOGS = path.join(__dirname, '../fixtures/torch/run/logs/tiny');
/** The reference's write_loss tags, in the order the fixture gives them values. */
const TAGS = [
  'loss_dis_a',
  'loss_dis_b',
  'loss_dis_total',
  'loss_gen_adv_a',
  'loss_gen_adv_b',
  'loss_gen_recon_x_a',
  'loss_gen_recon_x_b',
  'loss_gen_recon_s_a',
  'loss_gen_recon_s_b',
  'loss_gen_recon_c_a',
  'loss_gen_recon_c_b',
  'loss_gen_cycrecon_x_a',
  'loss_gen_cycrecon_x_b',
  'loss_gen_vgg_a',
  'loss_gen_vgg_b',
  'loss_gen_total',
];

/** What the fixture logged for `tag` at iteration `it` in session `session` (float32, as simple_value holds it). */
function logged(tag: string, it: number, session: number): number {
  return /vgg|cyc/.test(tag) ? 0 : Math.fround(1 / (it + TAGS.indexOf(tag)) + session);
}

function collect(): { warnings: string[]; warn: (m: string) => void } {
  const warnings: string[] = [];
  return { warnings, warn: (m) => warnings.push(m) };
}

describe('TensorBoard event files', () => {
  it('CRC-32C of the standard check string', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  });

  it("reads a run's logs exactly: steps, wall times, simple and tensor-valued scalars; a resumed session replaces the old tail", () => {
    const { warnings, warn } = collect();
    const points = readScalarLogs(LOGS, warn);
    assert.deepEqual(warnings, []);
    // Session 0 logged 1..6, session 1 resumed from the checkpoint at 4 and logged 5..8.
    assert.deepEqual(
      points.map((p) => [p.step, p.session]),
      [
        [1, 0],
        [2, 0],
        [3, 0],
        [4, 0],
        [5, 1],
        [6, 1],
        [7, 1],
        [8, 1],
      ],
    );
    for (const p of points) {
      const t0 = p.session ? 1_700_000_100 : 1_700_000_000;
      const first = p.session ? 5 : 1;
      assert.equal(p.wallTime, t0 + 0.5 * (p.step - first));
      for (const tag of TAGS) assert.equal(p.values[tag], logged(tag, p.step, p.session), `${tag} at ${p.step}`);
      assert.equal(p.values.tensor_float_val, 0.25 * p.step);
      assert.equal(p.values.tensor_content, 0.5 * p.step);
      assert.equal(Object.keys(p.values).length, TAGS.length + 2);
    }
    // One event file alone: the interrupted session's own view, 1..6.
    assert.deepEqual(
      readScalarLogs(eventFiles(LOGS)[0], warn).map((p) => p.step),
      [1, 2, 3, 4, 5, 6],
    );
  });

  it('metrics.jsonl lines: iteration, lr from the schedule, seconds per iteration from the wall times, time, every tag', () => {
    const lines = metricsLines(
      readScalarLogs(LOGS, () => {}),
      (it) => (it < 6 ? 1e-4 : 5e-5),
    );
    assert.equal(lines.length, 8);
    assert.deepEqual(Object.keys(lines[0]).slice(0, 4), ['iteration', 'lr', 'seconds_per_iter', 'time']);
    assert.deepEqual(
      lines.map((l) => l.lr),
      [1e-4, 1e-4, 1e-4, 1e-4, 1e-4, 5e-5, 5e-5, 5e-5],
    );
    // 0.5 s between logged iterations in each session; the 100 s gap between sessions is not an iteration's time.
    assert.deepEqual(
      lines.map((l) => l.seconds_per_iter),
      Array(8).fill(0.5),
    );
    assert.equal(lines[4].time, new Date(1_700_000_100_000).toISOString());
    assert.equal(lines[7].loss_gen_total, logged('loss_gen_total', 8, 1));
  });

  it('damaged files: a corrupt record is skipped, a truncated tail or a broken length ends the file, each with a warning', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'munit-tfevents-'));
    const source = fs.readFileSync(eventFiles(LOGS)[0]);
    const records = readTfRecords(source, 'x', () => {});
    // Record 0 is the file_version event; each add_scalar is one record, so record 3 is one scalar of iteration 1.
    const target = records[3];
    const corrupt = Buffer.from(source);
    corrupt[target.offset + 12 + 5] ^= 0x01;
    const file = path.join(dir, 'events.out.tfevents.1.corrupt');
    fs.writeFileSync(file, corrupt);
    const { warnings, warn } = collect();
    const points = readScalarLogs(file, warn);
    assert.deepEqual(warnings, [`${file}: the record at byte ${target.offset} fails its data CRC (corrupt); skipped`]);
    const full = readScalarLogs(eventFiles(LOGS)[0], () => {});
    const lost = full.reduce((n, p) => n + Object.keys(p.values).length, 0) - points.reduce((n, p) => n + Object.keys(p.values).length, 0);
    assert.equal(lost, 1, 'one scalar lost');

    const cut = collect();
    const truncated = path.join(dir, 'events.out.tfevents.2.cut');
    fs.writeFileSync(truncated, source.subarray(0, records.at(-1)!.offset + 20));
    assert.deepEqual(
      readScalarLogs(truncated, cut.warn).map((p) => p.step),
      [1, 2, 3, 4, 5, 6],
    );
    assert.match(cut.warnings[0], /events\.out\.tfevents\.2\.cut: the record at byte \d+ \(\d+ bytes\) runs past the end of the file \(truncated\); ignored/);

    const broken = collect();
    const badLength = Buffer.from(source);
    badLength[records[20].offset] ^= 0x40;
    const lengthFile = path.join(dir, 'events.out.tfevents.3.length');
    fs.writeFileSync(lengthFile, badLength);
    const before = readScalarLogs(lengthFile, broken.warn);
    assert.deepEqual(broken.warnings, [`${lengthFile}: the record length at byte ${records[20].offset} fails its CRC; the rest of the file is ignored`]);
    assert.ok(before.length > 0 && before.length < 6);
  });

  it('fuzz: events with damaged protobuf (CRCs made valid again) are read or skipped with a warning, never an exception', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'munit-tfevents-fuzz-'));
    const source = fs.readFileSync(eventFiles(LOGS)[1]);
    const records = readTfRecords(source, 'x', () => {});
    const rng = seeded(7);
    const int = (n: number) => Math.floor(rng() * n);
    let skipped = 0;
    for (let n = 0; n < 300; n++) {
      const bytes = Buffer.from(source);
      const { offset, data } = records[int(records.length)];
      const start = offset + 12;
      for (let k = 1 + int(3); k > 0; k--) bytes[start + int(data.length)] = int(256);
      bytes.writeUInt32LE(maskedCrc32c(bytes.subarray(start, start + data.length)), start + data.length);
      const file = path.join(dir, `events.out.tfevents.${n}.fuzz`);
      fs.writeFileSync(file, bytes);
      const { warnings, warn } = collect();
      readScalarLogs(file, warn);
      metricsLines(
        readScalarLogs(file, () => {}),
        () => 1e-4,
      );
      fs.rmSync(file);
      skipped += warnings.length;
      for (const w of warnings) assert.match(w, /is not an event .*; skipped$/);
    }
    assert.ok(skipped > 10, `${skipped} records skipped`);
  });
});

// The run-folder readers the panels are fed from (they need no VS Code, so they run under node:test).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { readRunHistory, readSampleHistory } from '../../extension/run-files.js';

function runFolder(files: Record<string, string | Buffer>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'munit-run-'));
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

const line = (iteration: number, total: number) =>
  JSON.stringify({ iteration, lr: 0.0001, seconds_per_iter: 0.25, time: '2026-01-01T00:00:00Z', loss_dis_total: 1.5, loss_gen_total: total });

test('metrics.jsonl becomes the loss-curve history, each settings change riding on the next logged iteration', () => {
  const dir = runFolder({
    'metrics.jsonl': [
      line(2, 22),
      JSON.stringify({ iteration: 3, time: 't', changes: { recon_x_w: 5 } }),
      line(4, 20),
      line(6, 19),
      '{"iteration": 8, "lr"',
    ].join('\n'),
  });
  const history = readRunHistory(dir);
  assert.equal(history.label, path.basename(dir));
  assert.deepEqual(
    history.entries.map((e) => e.metrics.iteration),
    [2, 4, 6],
    'the half-written last line is left for the next read',
  );
  assert.deepEqual(history.entries[0].metrics.losses, { loss_dis_total: 1.5, loss_gen_total: 22 });
  assert.equal(history.entries[0].metrics.seconds_per_iter, 0.25);
  assert.deepEqual(history.entries[1].changes, { recon_x_w: 5 });
  assert.equal(history.entries[2].changes, undefined);
});

test('numbered sample grids are grouped by iteration; the unnumbered current ones are not history', () => {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
  const dir = runFolder({
    'images/gen_a2b_train_00000004.png': png,
    'images/gen_b2a_test_00000004.png': png,
    'images/gen_a2b_train_00000008.png': png,
    'images/gen_a2b_train_current.png': png,
  });
  const steps = readSampleHistory(dir, 'job-1');
  assert.deepEqual(
    steps.map((s) => [s.iteration, s.grids.map((g) => g.name)]),
    [
      [4, ['a2b_train', 'b2a_test']],
      [8, ['a2b_train']],
    ],
  );
  assert.equal(steps[0].grids[0].png, png.toString('base64'));
  assert.equal(steps[0].jobId, 'job-1');
});

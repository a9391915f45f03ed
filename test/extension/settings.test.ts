// package.json declares the settings' values for VS Code; they must be the ones the code accepts.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { BACKEND_CHOICES } from '../../munit-core/backend-choices.js';
import { ENGINE_NAMES, ONNX_PROVIDERS } from '../../munit-core/onnx/engine-names.js';

test("munit.backend offers 'auto' and every backend the server can start", () => {
  const manifest = JSON.parse(fs.readFileSync('package.json', 'utf8'));
  const offered: string[] = manifest.contributes.configuration.properties['munit.backend'].enum;
  assert.deepEqual([...offered].sort(), ['auto', ...BACKEND_CHOICES].sort());
});

test("munit.engine offers 'auto' and every engine the server can run", () => {
  const manifest = JSON.parse(fs.readFileSync('package.json', 'utf8'));
  const offered: string[] = manifest.contributes.configuration.properties['munit.engine'].enum;
  assert.deepEqual([...offered].sort(), ['auto', ...ENGINE_NAMES].sort());
});

test("munit.onnxProvider offers 'auto' and every onnxruntime provider the engine can run on", () => {
  const manifest = JSON.parse(fs.readFileSync('package.json', 'utf8'));
  const offered: string[] = manifest.contributes.configuration.properties['munit.onnxProvider'].enum;
  assert.deepEqual([...offered].sort(), ['auto', ...ONNX_PROVIDERS].sort());
});

// The extension-host test entry (extensionTestsPath): VS Code loads it inside the extension host and calls run().
import './extension-api.js';
import { runTests } from './runner.js';

export function run(): Promise<void> {
  return runTests();
}

// A minimal test runner for inside the extension host (node:test cannot run in-process there): tests run in order,
// each result is one console line, which VS Code forwards to the page's codeAutomationLog.
type Test = { name: string; fn: () => Promise<void> | void };
const tests: Test[] = [];

export function test(name: string, fn: Test['fn']): void {
  tests.push({ name, fn });
}

/** Runs every registered test; rejects (so the extension host exits non-zero) if any failed. */
export async function runTests(): Promise<void> {
  const failed: string[] = [];
  for (const { name, fn } of tests) {
    const started = Date.now();
    try {
      await fn();
      console.log(`ok - ${name} (${Date.now() - started} ms)`);
    } catch (error) {
      failed.push(name);
      console.log(`not ok - ${name}\n${error instanceof Error ? error.stack : String(error)}`);
    }
  }
  console.log(`${tests.length - failed.length} of ${tests.length} extension-host tests passed`);
  if (failed.length > 0) throw new Error(`failed: ${failed.join(', ')}`);
}

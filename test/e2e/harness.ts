// Runs the extension in a real VS Code: code-server (installed by test/e2e/install.sh into test/e2e/host/) with the
// unpacked extension from the repository root, driven by Chromium through playwright-core.
// See shared/docs/testing-in-vscode.md for why each flag is there.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';

export const REPO = path.resolve(__dirname, '../..');
export const CODE_SERVER = path.join(REPO, 'test/e2e/host/node_modules/code-server/out/node/entry.js');
export const RESULTS = path.join(REPO, 'test-results/e2e');

export interface WorkbenchOptions {
  /** Files to write into the fresh workspace before the window opens (relative path -> content). */
  files?: Record<string, string>;
  /** User settings (settings.json of the fresh user-data-dir). */
  settings?: Record<string, unknown>;
  /** A built extension-host test module: its exported run() runs inside the extension host with the full vscode API. */
  extensionTestsPath?: string;
}

export interface Workbench {
  page: Page;
  /** The opened folder. */
  workspace: string;
  /** Test output of an extension-host test run (codeAutomationLog), and its exit code once known. */
  automationLog: string[];
  automationExit: Promise<number>;
  /** code-server's own output, for diagnosing failures. */
  serverLog: string[];
  /** Uncaught script errors of the page and its webviews, and Content-Security-Policy violations. */
  pageErrors: string[];
  /** Processes below code-server (extension host, language server, ...) whose command line matches. */
  processes(commandLine: RegExp): { pid: number; commandLine: string }[];
  close(): Promise<void>;
}

/** The workbench settings every suite gets: nothing that opens on its own or asks a question. */
const QUIET_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'git.enabled': false,
  'chat.disableAIFeatures': true,
  'window.commandCenter': false,
};

export async function openWorkbench(options: WorkbenchOptions = {}): Promise<Workbench> {
  if (!fs.existsSync(CODE_SERVER)) throw new Error(`code-server is not installed: run test/e2e/install.sh (looked for ${CODE_SERVER})`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'munit-e2e-'));
  const dirs = {
    userData: path.join(root, 'user-data'),
    extensions: path.join(root, 'extensions'),
    tmp: path.join(root, 'tmp'),
    workspace: path.join(root, 'workspace'),
  };
  for (const dir of Object.values(dirs)) fs.mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(options.files ?? {})) {
    fs.mkdirSync(path.dirname(path.join(dirs.workspace, file)), { recursive: true });
    fs.writeFileSync(path.join(dirs.workspace, file), content);
  }
  fs.mkdirSync(path.join(dirs.userData, 'User'), { recursive: true });
  fs.writeFileSync(path.join(dirs.userData, 'User/settings.json'), JSON.stringify({ ...QUIET_SETTINGS, ...options.settings }, null, 2));

  const port = await freePort();
  const serverLog: string[] = [];
  const server = spawn(
    process.execPath,
    [
      CODE_SERVER,
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--user-data-dir',
      dirs.userData,
      '--extensions-dir',
      dirs.extensions,
      '--config',
      path.join(root, 'config.yaml'),
      dirs.workspace,
    ],
    // Its own process group, so that teardown also ends the extension host and our language server below it.
    { detached: true, env: { ...process.env, TMPDIR: dirs.tmp }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close().catch(() => undefined);
    killGroup(server);
    fs.rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  };
  try {
    await waitForOutput(server, serverLog, 'HTTP server listening', 30_000);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    fs.mkdirSync(RESULTS, { recursive: true });
    const automationLog: string[] = [];
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // Everything the window and its webviews print, kept as an artifact: it explains most failures.
    const consoleLog = fs.createWriteStream(path.join(RESULTS, `console-${port}.log`));
    page.on('console', (message) => {
      consoleLog.write(`[${message.type()}] ${message.location().url.slice(0, 120)}: ${message.text()}\n`);
      if (message.text().includes('Content Security Policy')) pageErrors.push(message.text());
    });
    page.on('requestfailed', (request) => consoleLog.write(`[requestfailed] ${request.url()}: ${request.failure()?.errorText}\n`));
    let exited: (code: number) => void = () => undefined;
    const automationExit = new Promise<number>((resolve) => (exited = resolve));
    await page.exposeFunction('codeAutomationLog', (_type: string, args: unknown[]) => automationLog.push(args.map(String).join(' ')));
    await page.exposeFunction('codeAutomationExit', (code: number) => exited(code));

    const remote = (file: string) => `vscode-remote://127.0.0.1:${port}${file}`;
    const payload: [string, string][] = [
      ['extensionDevelopmentPath', remote(REPO)],
      ['skipWelcome', 'true'],
    ];
    if (options.extensionTestsPath) payload.push(['extensionTestsPath', remote(options.extensionTestsPath)]);
    const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(dirs.workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
    await page.goto(url);
    await page.locator('.monaco-workbench .part.statusbar').waitFor({ timeout: 60_000 });
    const processes = (commandLine: RegExp) => descendants(server.pid!).filter((p) => commandLine.test(p.commandLine));
    return { page, workspace: dirs.workspace, automationLog, automationExit, serverLog, pageErrors, processes, close };
  } catch (error) {
    await close();
    throw new Error(`${(error as Error).message}\ncode-server said:\n${serverLog.join('')}`);
  }
}

/** Runs a command from the palette by its title (e.g. 'MUNIT: Start Training'). Commands register a moment after the
 * workbench appears and an open palette does not refresh, so it closes and retries until the command is listed. With
 * `thenPick`, also picks that item of the quick pick the command opens, running the command again if the quick pick
 * closed before showing it (a webview that finishes loading takes the focus and closes quick inputs). */
export async function runCommand(page: Page, title: string, thenPick?: string | RegExp, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const input = page.locator('.quick-input-widget input');
  for (let attempt = 0; ; attempt++) {
    if (attempt > 0 && Date.now() > deadline) throw new Error(`Command '${title}'${thenPick ? ` and its item ${thenPick}` : ''} did not appear`);
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    const opened = await input.waitFor({ timeout: 2_000 }).then(
      () => true,
      () => false,
    );
    if (!opened) {
      // A focused webview (e.g. an image preview) may keep F1 from the workbench: give the focus back to it.
      await page.locator('.part.titlebar').click();
      continue;
    }
    await input.fill(`>${title}`);
    const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
    const shown = await row.waitFor({ timeout: 2_000 }).then(
      () => true,
      () => false,
    );
    if (shown && ((await row.getAttribute('aria-label')) ?? '').startsWith(title)) {
      await input.press('Enter');
      if (!thenPick) return;
      const item = page.locator('.quick-input-widget .monaco-list-row', { hasText: thenPick }).first();
      if (
        await item.waitFor({ timeout: 5_000 }).then(
          () => true,
          () => false,
        )
      ) {
        await item.click();
        return;
      }
    }
    await page.waitForTimeout(500);
  }
}

/** Picks an item in an open quick pick by its label. */
export async function pickQuickItem(page: Page, label: string | RegExp): Promise<void> {
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: label }).first();
  await row.waitFor({ timeout: 30_000 });
  await row.click();
}

/** The page inside the webview panel whose tab shows `tab`, found by its document title (`pageTitle`, e.g. 'Loss
 * Curves'): each webview is two nested iframes, and panels in other editor groups are visible at the same time. */
export async function webviewFrame(page: Page, tab: string, pageTitle: string, timeoutMs = 60_000): Promise<Frame> {
  const tabLocator = page.locator('.tabs-container .tab', { hasText: tab }).first();
  await tabLocator.waitFor({ timeout: 60_000 });
  await tabLocator.click();
  return eventually(
    `the webview titled '${pageTitle}'`,
    async () => {
      // The newest first: a webview that reloads its page leaves the old frame behind for a moment.
      for (const frame of page.frames().reverse()) {
        if ((await frame.title().catch(() => '')) === pageTitle) return frame;
      }
      return undefined;
    },
    timeoutMs,
  );
}

export async function screenshot(page: Page, name: string): Promise<string> {
  const file = path.join(RESULTS, `${name}.png`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await page.screenshot({ path: file });
  return file;
}

/** The promise's value, or an error naming what did not happen in time (the timer does not keep the process alive). */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`Timed out waiting for ${what()}`)), timeoutMs)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `probe` until it returns a value other than undefined. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

function descendants(root: number): { pid: number; commandLine: string }[] {
  const children = new Map<number, number[]>();
  const commandLines = new Map<number, string>();
  for (const entry of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      // Field 4 of stat is the parent; the name in field 2 may hold spaces, so count from its closing parenthesis.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
      commandLines.set(Number(entry), fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim());
    } catch {
      // The process ended while we looked.
    }
  }
  const found: { pid: number; commandLine: string }[] = [];
  const visit = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      found.push({ pid: child, commandLine: commandLines.get(child) ?? '' });
      visit(child);
    }
  };
  visit(root);
  return found;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function waitForOutput(child: ChildProcess, log: string[], text: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`code-server did not print '${text}' within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      log.push(chunk.toString());
      if (log.join('').includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`code-server exited with ${code}`));
    });
  });
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

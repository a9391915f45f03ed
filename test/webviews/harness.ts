// Runs the built panel bundles in Chromium the way VS Code does: the page from webviews/panels.ts with its strict
// CSP, a fake acquireVsCodeApi that records what the panel posts (and answers requests from canned results), host
// messages delivered as window 'message' events, and VS Code's dark theme variables so screenshots look real.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { panelHtml, panelScriptPath, PANELS } from '../../webviews/panels.js';
import type { PanelKind } from '../../webviews/protocol.js';

const NONCE = 'test-nonce-4f1a9c';
const SCREENSHOTS = path.resolve('test-results/panels');

/** A few of VS Code's Dark Modern colours: enough for the panels and vscode-elements to look as they do there. */
const DARK_THEME = `
:root {
  --vscode-font-family: system-ui, "DejaVu Sans", sans-serif; --vscode-font-size: 13px; --vscode-font-weight: normal;
  --vscode-foreground: #cccccc; --vscode-descriptionForeground: #9d9d9d; --vscode-errorForeground: #f85149;
  --vscode-editor-background: #1f1f1f; --vscode-editor-foreground: #cccccc; --vscode-sideBar-background: #181818;
  --vscode-editorWidget-background: #202020; --vscode-editorWidget-border: #454545; --vscode-widget-border: #313131;
  --vscode-panel-border: #2b2b2b; --vscode-focusBorder: #0078d4; --vscode-contrastBorder: transparent;
  --vscode-button-background: #0078d4; --vscode-button-foreground: #ffffff; --vscode-button-hoverBackground: #026ec1;
  --vscode-button-secondaryBackground: #313131; --vscode-button-secondaryForeground: #cccccc;
  --vscode-button-secondaryHoverBackground: #3c3c3c; --vscode-button-border: #ffffff12;
  --vscode-input-background: #313131; --vscode-input-foreground: #cccccc; --vscode-input-border: #3c3c3c;
  --vscode-dropdown-background: #313131; --vscode-dropdown-foreground: #cccccc; --vscode-dropdown-border: #3c3c3c;
  --vscode-checkbox-background: #313131; --vscode-checkbox-border: #3c3c3c; --vscode-checkbox-foreground: #cccccc;
  --vscode-list-activeSelectionBackground: #04395e; --vscode-list-hoverBackground: #2a2d2e;
  --vscode-progressBar-background: #0078d4;
  --vscode-charts-foreground: #cccccc; --vscode-charts-lines: #cccccc40; --vscode-charts-red: #f14c4c;
  --vscode-charts-blue: #3794ff; --vscode-charts-yellow: #cca700; --vscode-charts-orange: #d18616;
  --vscode-charts-green: #89d185; --vscode-charts-purple: #b180d7;
}
body { margin: 0; background: var(--vscode-editor-background); color: var(--vscode-foreground);
  font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); }
`;

/**
 * The fake VS Code API, as source text: a function passed to addInitScript would be compiled by tsx, which adds
 * helper calls (__name) that do not exist in the page. Requests with a canned answer are answered asynchronously.
 */
const FAKE_VSCODE = `(saved) => {
  const w = window;
  w.posted = [];
  w.answers = {};
  w.state = saved;
  w.violations = [];
  document.addEventListener('securitypolicyviolation', (e) => w.violations.push('CSP ' + e.violatedDirective + ': ' + e.blockedURI));
  w.acquireVsCodeApi = () => ({
    postMessage: (message) => {
      w.posted.push(structuredClone(message));
      if (message.id !== undefined && message.method in w.answers) {
        const result = w.answers[message.method];
        setTimeout(() => window.postMessage({ id: message.id, result }, '*'));
      }
    },
    getState: () => w.state,
    setState: (s) => { w.state = s; },
  });
}`;

export function buildBundles(): void {
  const build = spawnSync(process.execPath, ['esbuild.mjs', '--webviews'], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`building the panels failed:\n${build.stdout}${build.stderr}`);
}

export interface PanelMessage {
  id?: number;
  method: string;
  params: unknown;
}

export class PanelPage {
  /** Page errors, console errors and CSP violations: each test expects none. */
  readonly problems: string[] = [];

  constructor(
    readonly page: Page,
    readonly kind: PanelKind,
  ) {
    page.on('pageerror', (e) => this.problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') this.problems.push(`console error: ${m.text()}`);
    });
  }

  /** A host -> webview message, delivered as VS Code does. */
  async notify(method: string, params: unknown): Promise<void> {
    await this.page.evaluate((message) => window.postMessage(message, '*'), { method, params });
  }

  /** Canned results for the panel's requests, by method. */
  async answer(answers: Record<string, unknown>): Promise<void> {
    await this.page.evaluate((a) => Object.assign((window as unknown as Harness).answers, a), answers);
  }

  async posted(): Promise<PanelMessage[]> {
    return this.page.evaluate(() => (window as unknown as Harness).posted);
  }

  async waitForPosted(method: string, count = 1): Promise<PanelMessage[]> {
    await this.page.waitForFunction(([m, n]) => (window as unknown as Harness).posted.filter((p) => p.method === m).length >= n, [method, count] as const);
    return (await this.posted()).filter((p) => p.method === method);
  }

  async savedState<T>(): Promise<T> {
    return this.page.evaluate(() => (window as unknown as Harness).state as T);
  }

  async violations(): Promise<string[]> {
    return [...this.problems, ...(await this.page.evaluate(() => (window as unknown as Harness).violations))];
  }

  async screenshot(): Promise<void> {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    await this.page.screenshot({ path: path.join(SCREENSHOTS, `${PANELS[this.kind].folder}.png`) });
  }
}

/** What the fake VS Code keeps on window. */
interface Harness {
  posted: PanelMessage[];
  answers: Record<string, unknown>;
  state: unknown;
  violations: string[];
}

export class PanelHarness {
  private constructor(
    private readonly browser: Browser,
    private readonly server: http.Server,
    private readonly origin: string,
  ) {}

  static async start(): Promise<PanelHarness> {
    const server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const kind = Object.keys(PANELS).find((k) => url.pathname === `/${k}.html`) as PanelKind | undefined;
      if (kind) {
        const html = panelHtml({
          cspSource: origin,
          nonce: NONCE,
          scriptUri: `${origin}/${panelScriptPath(kind).join('/')}`,
          title: PANELS[kind].title,
        });
        // VS Code adds its default styles and theme variables to every webview; the theme file stands in for them.
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(html.replace('</head>', `<link rel="stylesheet" href="${origin}/theme.css">\n</head>`).replace('<body>', '<body class="vscode-dark">'));
      } else if (url.pathname === '/theme.css') {
        res.writeHead(200, { 'content-type': 'text/css' });
        res.end(DARK_THEME);
      } else if (url.pathname.startsWith('/dist/webviews/') && !url.pathname.includes('..')) {
        res.writeHead(200, { 'content-type': 'text/javascript' });
        res.end(fs.readFileSync(path.resolve(url.pathname.slice(1))));
      } else if (url.pathname === '/favicon.ico') {
        res.writeHead(204).end();
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    return new PanelHarness(browser, server, origin);
  }

  /** Opens a panel as VS Code would, with `state` as what the panel saved before a reload. */
  async open(kind: PanelKind, state?: object): Promise<PanelPage> {
    const page = await this.browser.newPage({ viewport: { width: 1000, height: 680 } });
    page.setDefaultTimeout(10_000);
    const panel = new PanelPage(page, kind);
    // Runs before the page's scripts, as VS Code's own preload does (so the CSP does not apply to it).
    await page.addInitScript(`(${FAKE_VSCODE})(${JSON.stringify(state ?? null)})`);
    await page.goto(`${this.origin}/${kind}.html`);
    await panel.waitForPosted('ready');
    return panel;
  }

  async close(): Promise<void> {
    await this.browser.close();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

// What the extension needs to host a panel: its bundle (built by esbuild.mjs from webviews/<folder>/main.ts), its
// view type (for the serializer that restores it after a reload), its title, and the page that loads it under the
// strict CSP. No DOM here: the extension imports this.
import type { PanelKind } from './protocol.js';

export interface PanelInfo {
  /** The folder under webviews/ and the bundle's name under dist/webviews/. */
  folder: string;
  viewType: string;
  title: string;
}

export const PANELS: Record<PanelKind, PanelInfo> = {
  lossCurves: { folder: 'loss-curves', viewType: 'munit.lossCurves', title: 'Loss Curves' },
  architecture: { folder: 'architecture', viewType: 'munit.architecture', title: 'Architecture' },
  samples: { folder: 'samples', viewType: 'munit.samples', title: 'Samples' },
  activations: { folder: 'activations', viewType: 'munit.activations', title: 'Activations' },
  tuning: { folder: 'tuning', viewType: 'munit.tuning', title: 'Tuning' },
  configPreview: { folder: 'config-preview', viewType: 'munit.configPreview', title: 'Config Preview' },
};

/** Path segments of a panel's script from the extension's root, for vscode.Uri.joinPath(extensionUri, ...). */
export function panelScriptPath(kind: PanelKind): string[] {
  return ['dist', 'webviews', `${PANELS[kind].folder}.js`];
}

/** The folder to allow in the webview's localResourceRoots. */
export const WEBVIEW_ROOT = ['dist', 'webviews'];

export interface PanelPage {
  /** webview.cspSource */
  cspSource: string;
  /** A fresh random string per page. */
  nonce: string;
  /** webview.asWebviewUri of panelScriptPath(kind), as a string. */
  scriptUri: string;
  title: string;
}

/**
 * The panel's HTML. The script is a classic script (esbuild's iife); lit adopts its styles as constructed style
 * sheets and the panels set no style attributes, so nothing needs 'unsafe-inline' or 'unsafe-eval'.
 */
export function panelHtml({ cspSource, nonce, scriptUri, title }: PanelPage): string {
  const csp = [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(title)}</title>
</head>
<body>
<script nonce="${nonce}" src="${scriptUri}"></script>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

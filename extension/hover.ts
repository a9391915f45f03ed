// Hover over an image path in any file: the image as the model sees it and its translations under a few random styles
// from the current weights (live job, else newest checkpoint) of the config whose data holds the image, else of the
// most recently used config. Config keys get their hover from the server, through the language client.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import * as P from '../server/protocol.js';
import type { MunitContext } from './context.js';
import { readSettings } from './settings.js';

/** A path-like run of characters ending in an image extension, e.g. `data/testA/00003.png` or `"C:\x\a.jpg"`. */
const IMAGE_PATH = /[^\s"'`()<>[\]{},;=|]+\.(?:png|jpe?g)\b/i;
/** Fixed, so the same styles come back on every hover and the thumbnails of different images compare. */
const STYLE_SEED = 0;
const THUMBNAIL_PX = 96;
/** Images shown without a model are inlined as data URIs: skip big ones rather than stall the hover. */
const MAX_INLINE_BYTES = 512 * 1024;

export function registerImageHover(munit: MunitContext): void {
  munit.extension.subscriptions.push(
    vscode.languages.registerHoverProvider({ scheme: 'file' }, { provideHover: (document, position, token) => imageHover(munit, document, position, token) }),
  );
}

async function imageHover(
  munit: MunitContext,
  document: vscode.TextDocument,
  position: vscode.Position,
  token: vscode.CancellationToken,
): Promise<vscode.Hover | undefined> {
  const range = document.getWordRangeAtPosition(position, IMAGE_PATH);
  if (!range) return undefined;
  const image = resolveImage(document, document.getText(range));
  if (!image) return undefined;
  const markdown = new vscode.MarkdownString(`**${path.basename(image)}**\n\n`);
  markdown.supportHtml = true;
  const styles = readSettings().hoverStyles;
  const found = styles > 0 ? await munit.configs.forImage(image) : undefined;
  if (!found) {
    if (fs.statSync(image).size > MAX_INLINE_BYTES) return undefined;
    markdown.appendMarkdown(thumbnail(fs.readFileSync(image).toString('base64'), path.basename(image), image.toLowerCase().endsWith('.png') ? 'png' : 'jpeg'));
    return new vscode.Hover(markdown, range);
  }
  const direction: P.Direction = found.domain === 'b' ? 'b2a' : 'a2b';
  try {
    const result = await munit.request(P.Translate.type, {
      configPath: found.configPath,
      image,
      direction,
      style: { kind: 'random', count: styles, seed: STYLE_SEED },
    });
    if (token.isCancellationRequested) return undefined;
    const label = direction === 'a2b' ? 'A → B' : 'B → A';
    const weights = result.origin.kind === 'untrained' ? 'untrained weights' : `${result.origin.kind} weights, iteration ${result.origin.iteration}`;
    markdown.appendMarkdown(`${label} with ${styles} random styles (${path.basename(found.configPath)}, ${weights})\n\n`);
    markdown.appendMarkdown([thumbnail(result.input, 'input'), ...result.outputs.map((o, i) => thumbnail(o.png, `style ${i + 1}`))].join(' '));
  } catch (error) {
    markdown.appendMarkdown(`*No translation: ${error instanceof Error ? error.message : String(error)}*`);
  }
  return new vscode.Hover(markdown, range);
}

function thumbnail(base64: string, alt: string, type = 'png'): string {
  return `<img src="data:image/${type};base64,${base64}" alt="${alt}" title="${alt}" width="${THUMBNAIL_PX}" height="${THUMBNAIL_PX}">`;
}

/** An absolute path, or one relative to the file's folder or to a workspace folder; only existing files. */
function resolveImage(document: vscode.TextDocument, text: string): string | undefined {
  const unquoted = text.replace(/^file:\/\//, '');
  const candidates = path.isAbsolute(unquoted)
    ? [unquoted]
    : [path.dirname(document.uri.fsPath), ...(vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath)].map((dir) => path.resolve(dir, unquoted));
  return candidates.find((file) => fs.existsSync(file) && fs.statSync(file).isFile());
}

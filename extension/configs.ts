// Which MUNIT config a command or hover is about: the one named, the active editor's, the most recently used one, or
// one the person picks; and where its run folder and data are.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseConfig } from '../munit-core/config/config.js';
import { runName } from '../munit-core/run-folder.js';
import { readSettings } from './settings.js';

const RECENT_KEY = 'munit.recentConfig';

/** The data folders a config names, in both layouts: `data_root` with trainA/..., or the list layout's folders. */
const DATA_KEYS = ['data_root', 'data_folder_train_a', 'data_folder_test_a', 'data_folder_train_b', 'data_folder_test_b'] as const;

export interface ConfigDataFolder {
  key: (typeof DATA_KEYS)[number];
  folder: string;
  /** The domain the folder holds, when its name says so (trainA, data_folder_test_b, ...). */
  domain?: 'a' | 'b';
}

/** A YAML text is treated as a MUNIT config when it has the two network sections every MUNIT config has. The server
 * makes the finer decision for its diagnostics; this only keeps other YAML files out of the pickers. */
export function looksLikeConfig(text: string): boolean {
  return /^gen:\s*$/m.test(text) && /^dis:\s*$/m.test(text);
}

export class Configs {
  constructor(private readonly state: vscode.Memento) {}

  /** The config last trained, previewed or translated with in this workspace. */
  get recent(): string | undefined {
    const recent = this.state.get<string>(RECENT_KEY);
    return recent && fs.existsSync(recent) ? recent : undefined;
  }

  async use(configPath: string): Promise<void> {
    await this.state.update(RECENT_KEY, configPath);
  }

  /** The config a command is about: its argument (a path from a code lens, or a Uri from a menu), the active editor
   * if it holds a config, else a quick pick of the workspace's configs. */
  async resolve(arg: unknown, placeHolder: string): Promise<string | undefined> {
    if (typeof arg === 'string') return arg;
    if (arg instanceof vscode.Uri) return arg.fsPath;
    const editor = vscode.window.activeTextEditor?.document;
    if (editor?.uri.scheme === 'file' && editor.languageId === 'yaml' && looksLikeConfig(editor.getText())) return editor.uri.fsPath;
    return this.pick(placeHolder);
  }

  async pick(placeHolder: string): Promise<string | undefined> {
    const candidates = await findConfigs();
    const recent = this.recent;
    candidates.sort((a, b) => Number(b === recent) - Number(a === recent) || a.localeCompare(b));
    if (candidates.length === 0) {
      const choice = await vscode.window.showInformationMessage(
        'No MUNIT config (a YAML file with gen: and dis: sections) in this workspace.',
        'Create Demo Project',
      );
      if (choice) await vscode.commands.executeCommand('munit.createDemoProject');
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(
      candidates.map((c) => ({
        label: path.basename(c),
        description: vscode.workspace.asRelativePath(path.dirname(c)),
        detail: c === recent ? 'most recently used' : undefined,
        configPath: c,
      })),
      { placeHolder, matchOnDescription: true },
    );
    return picked?.configPath;
  }

  /** `<workspace folder>/<munit.outputFolder>/<config name>`, the folder the server trains into. */
  runFolder(configPath: string): string {
    const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(configPath))?.uri.fsPath ?? path.dirname(configPath);
    return path.join(outputRoot(folder), runName(configPath));
  }

  /** Images worth offering in the panels' image pickers: the first test images of each domain. */
  testImages(configPath: string, perDomain = 8): string[] {
    const images: string[] = [];
    for (const data of dataFolders(configPath, fs.readFileSync(configPath, 'utf8'))) {
      if (data.key.startsWith('data_folder_train')) continue;
      const folders = data.key === 'data_root' ? [path.join(data.folder, 'testA'), path.join(data.folder, 'testB')] : [data.folder];
      for (const folder of folders.filter((f) => fs.existsSync(f))) {
        const files = fs
          .readdirSync(folder)
          .filter((f) => /\.(png|jpe?g)$/i.test(f))
          .sort()
          .slice(0, perDomain);
        images.push(...files.map((f) => path.join(folder, f)));
      }
    }
    return images;
  }

  /** The config whose data folders hold the image, else the most recently used config. */
  async forImage(image: string): Promise<{ configPath: string; domain?: 'a' | 'b' } | undefined> {
    for (const configPath of await findConfigs()) {
      for (const data of dataFolders(configPath, fs.readFileSync(configPath, 'utf8'))) {
        if (image.startsWith(data.folder + path.sep)) return { configPath, domain: data.domain ?? domainInPath(image.slice(data.folder.length)) };
      }
    }
    const recent = this.recent;
    return recent ? { configPath: recent } : undefined;
  }
}

/** The workspace's MUNIT configs, leaving out the copies in run folders (records of past runs, not configs to use). */
async function findConfigs(): Promise<string[]> {
  const files = await vscode.workspace.findFiles('**/*.{yaml,yml}', '**/{node_modules,.git}/**', 500);
  const runs = (vscode.workspace.workspaceFolders ?? []).map((f) => outputRoot(f.uri.fsPath));
  return files.map((f) => f.fsPath).filter((file) => !runs.some((root) => file.startsWith(root + path.sep)) && looksLikeConfig(fs.readFileSync(file, 'utf8')));
}

/** munit.outputFolder, taken from a workspace folder when relative. */
function outputRoot(workspaceFolder: string): string {
  const { outputFolder } = readSettings();
  return path.resolve(workspaceFolder, outputFolder);
}

/** The data folders of a config, absolute: relative ones are taken from the config's folder, as the server does for a
 * config opened in the editor. */
function dataFolders(configPath: string, text: string): ConfigDataFolder[] {
  const { config } = parseConfig(text);
  const folders: ConfigDataFolder[] = [];
  for (const key of DATA_KEYS) {
    const value = config[key];
    if (!value) continue;
    const folder = path.resolve(path.dirname(configPath), value);
    folders.push({ key, folder, domain: key === 'data_root' ? undefined : (key.slice(-1) as 'a' | 'b') });
  }
  return folders;
}

/** trainA/testA hold domain A, trainB/testB domain B (the data_root layout). */
function domainInPath(rest: string): 'a' | 'b' | undefined {
  const match = /^[\\/](?:train|test)([AB])[\\/]/.exec(rest);
  return match ? (match[1].toLowerCase() as 'a' | 'b') : undefined;
}

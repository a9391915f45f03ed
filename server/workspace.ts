// Where the server may read and write: inside the workspace folders the client opened, and the run folders under
// them. Every path a request names goes through `check` before the engine sees it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export class Workspace {
  private roots: string[] = [];
  /** The output folder setting: relative to the workspace folder of the config (or absolute). */
  outputFolder = 'outputs';

  setFolders(uris: string[]): void {
    this.roots = uris.map((u) => realpath(fileURLToPath(u)));
  }

  get folders(): readonly string[] {
    return this.roots;
  }

  /** Resolves `p` and refuses it unless it lies inside a workspace folder or the absolute output folder. */
  check(p: unknown, what: string): string {
    if (typeof p !== 'string' || p === '') throw new Error(`${what}: expected an absolute file path, got ${JSON.stringify(p)}`);
    if (!path.isAbsolute(p)) throw new Error(`${what}: ${p} is not an absolute path`);
    const resolved = realpath(path.resolve(p));
    const allowed = [...this.roots, ...(path.isAbsolute(this.outputFolder) ? [realpath(this.outputFolder)] : [])];
    if (allowed.length === 0) throw new Error(`${what}: ${p} cannot be used: no workspace folder is open`);
    if (!allowed.some((root) => resolved === root || resolved.startsWith(root + path.sep))) {
      throw new Error(`${what}: ${p} is outside the workspace (${allowed.join(', ')}); the MUNIT server only reads and writes inside it`);
    }
    return resolved;
  }

  /** Parent of a config's run folder: the output folder setting, taken from the config's workspace folder. */
  outputPathFor(configPath: string): string {
    if (path.isAbsolute(this.outputFolder)) return this.outputFolder;
    const root = this.roots.find((r) => configPath.startsWith(r + path.sep)) ?? path.dirname(configPath);
    return path.join(root, this.outputFolder);
  }
}

/** Resolves symbolic links of the longest existing prefix, so a link cannot lead out of the workspace. */
function realpath(p: string): string {
  let existing = p;
  const rest: string[] = [];
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) {
    rest.unshift(path.basename(existing));
    existing = path.dirname(existing);
  }
  return path.join(fs.realpathSync(existing), ...rest);
}

// Where the server may read and write: inside the workspace folders the client opened, nowhere else. Every path a
// request names, every path a config names and every folder the engine writes into goes through a PathGuard, on the
// main thread and in the engine worker alike: paths are taken at their real location (symbolic links followed,
// dangling ones too, since a write would follow them) and refused unless that lies inside a workspace folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The local file system path of a `file:` URI; undefined for any other URI (untitled:, a notebook cell, file://host/). */
export function uriToPath(uri: string): string | undefined {
  try {
    const url = new URL(uri);
    return url.protocol === 'file:' && (url.host === '' || url.host === 'localhost') ? fileURLToPath(url) : undefined;
  } catch {
    return undefined;
  }
}

/** How far symbolic links are followed before the path counts as a loop (Linux's own limit). */
const MAX_LINKS = 40;

/**
 * The real path of `p`: every symbolic link resolved, including a dangling last one (its target is where a write
 * would go). Parts that do not exist yet are kept as named. Throws the file system's error (ENOTDIR, ELOOP, ...).
 */
export function realPath(p: string): string {
  let links = 0;
  const resolve = (q: string): string => {
    try {
      return fs.realpathSync.native(q);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const parent = path.dirname(q);
    if (parent === q) return q;
    const dir = resolve(parent);
    const candidate = path.join(dir, path.basename(q));
    if (fs.lstatSync(candidate, { throwIfNoEntry: false })?.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw Object.assign(new Error(`too many symbolic links: ${q}`), { code: 'ELOOP' });
      return resolve(path.resolve(dir, fs.readlinkSync(candidate)));
    }
    return candidate;
  };
  return resolve(path.resolve(p));
}

/** A file system error in words, for messages that name the path. */
export function describeFsError(err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOTDIR':
      return 'a part of the path is a file, not a folder';
    case 'ELOOP':
      return 'it leads into a loop of symbolic links';
    case 'ENAMETOOLONG':
      return 'a name in it is too long for the file system';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return (err as Error).message;
  }
}

/** The most entries a tree check visits: a run folder or the demo data holds far fewer. */
const MAX_TREE_ENTRIES = 200_000;

export class PathGuard {
  constructor(readonly roots: readonly string[]) {}

  /** True when the real path `real` is a workspace folder or lies inside one. */
  inside(real: string): boolean {
    return this.roots.some((root) => real === root || real.startsWith(root.endsWith(path.sep) ? root : root + path.sep));
  }

  /** The real path of `p`, refused with a message naming `what` unless it lies inside a workspace folder. */
  check(p: unknown, what: string): string {
    const result = this.resolve(p);
    if ('refused' in result) throw new Error(`${what}: ${result.refused}`);
    return result.real;
  }

  /** Why `p` may not be used (a sentence that names it), or undefined when it may. */
  refusal(p: string): string | undefined {
    const result = this.resolve(p);
    return 'refused' in result ? result.refused : undefined;
  }

  private resolve(p: unknown): { real: string } | { refused: string } {
    if (typeof p !== 'string' || p === '') return { refused: `expected an absolute file path, got ${JSON.stringify(p)}` };
    if (p.includes('\0')) return { refused: `${JSON.stringify(p)} contains a NUL character` };
    if (!path.isAbsolute(p)) return { refused: `${p} is not an absolute path` };
    let real: string;
    try {
      real = realPath(p);
    } catch (err) {
      return { refused: `${p} cannot be used: ${describeFsError(err)}` };
    }
    if (this.roots.length === 0) return { refused: `${p} cannot be used: no workspace folder is open` };
    if (!this.inside(real)) {
      const via = real === path.resolve(p) ? '' : ` (it leads to ${real})`;
      return { refused: `${p}${via} is outside the workspace (${this.roots.join(', ')}); the MUNIT server only reads and writes inside it` };
    }
    return { real };
  }

  /**
   * Refuses a folder that is, or holds, a symbolic link leading out of the workspace (a link that already exists is
   * not trusted: a run folder's `checkpoints` linked elsewhere would receive the writes and feed the reads). Links to
   * places inside are followed and their targets checked too. A folder that does not exist yet passes.
   */
  checkTree(folder: string, what: string): void {
    const real = this.check(folder, what);
    const seen = new Set<string>();
    let budget = MAX_TREE_ENTRIES;
    const walk = (dir: string) => {
      if (seen.has(dir)) return;
      seen.add(dir);
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw new Error(`${what}: cannot read ${dir}: ${describeFsError(err)}`);
      }
      for (const entry of entries) {
        if (--budget < 0) throw new Error(`${what}: ${folder} holds more than ${MAX_TREE_ENTRIES} entries; the MUNIT server does not use folders that large`);
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.isSymbolicLink()) {
          const target = this.check(full, what);
          if (fs.statSync(target, { throwIfNoEntry: false })?.isDirectory()) walk(target);
        }
      }
    };
    walk(real);
  }
}

/** The workspace folders and the output folder setting, as the client gave them. */
export class Workspace {
  private roots: string[] = [];
  /** munit.outputFolder: relative to the config's workspace folder, or absolute; it must lie inside the workspace. */
  outputFolder = 'outputs';

  /** Takes the local folders among `uris`; returns the URIs it cannot use (not local files, unresolvable). */
  setFolders(uris: readonly string[]): string[] {
    const refused: string[] = [];
    this.roots = [];
    for (const uri of uris) {
      const p = uriToPath(uri);
      try {
        if (p === undefined) throw new Error('not a local file URI');
        const real = realPath(p);
        if (!this.roots.includes(real)) this.roots.push(real);
      } catch {
        refused.push(uri);
      }
    }
    return refused;
  }

  get folders(): readonly string[] {
    return this.roots;
  }

  get guard(): PathGuard {
    return new PathGuard(this.roots);
  }

  check(p: unknown, what: string): string {
    return this.guard.check(p, what);
  }

  /**
   * Parent of a config's run folder: munit.outputFolder taken from the config's workspace folder. An output folder
   * outside every workspace folder is refused: the workspace decides where the server writes, not a setting.
   */
  outputPathFor(configPath: string): string {
    const root = this.roots.find((r) => new PathGuard([r]).inside(configPath)) ?? path.dirname(configPath);
    const folder = path.resolve(root, this.outputFolder);
    try {
      return this.check(folder, 'munit.outputFolder');
    } catch (err) {
      throw new Error(
        `${(err as Error).message}. Set munit.outputFolder (now ${JSON.stringify(this.outputFolder)}) to a folder inside the workspace, or add that folder to the workspace.`,
      );
    }
  }
}

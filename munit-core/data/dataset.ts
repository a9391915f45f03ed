// The images of one split (train_a, test_b, ...), listed from either layout of the reference, and loading with
// bad-file skipping: a corrupt, truncated or unsupported file is reported once and replaced, so one bad file in
// 50,000 doesn't end a week-long run (the reference would crash on it).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IMAGE_EXTENSIONS, resolveConfigPath, type DataSource, type DataSplit } from '../config/config.js';
import { ImageFileError, loadImageFile, type ImageTransform } from './image-file.js';

export type WarningHandler = (message: string) => void;

/** A problem with the data as configured (missing folder, empty list ...): names the path and the config key. */
export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}

export interface ListOptions {
  /** The config file's folder, for relative paths (see resolveConfigPath). */
  configDir?: string;
  cwd?: string;
  /** Told about list entries that don't exist (they are left out). */
  onWarning?: WarningHandler;
}

/** Absolute paths of one split's images, in the reference's order (sorted paths; list files in file order). */
export function listSplitImages(split: DataSplit, source: DataSource, options: ListOptions = {}): string[] {
  const { configDir, cwd = process.cwd() } = options;
  if (source.list === undefined) {
    // Folder layout: dataSources gives data_root/trainA; resolve data_root itself (as checkDataPaths does) so a
    // dataset next to the config is found from any working directory.
    const root = resolveConfigPath(path.dirname(source.folder), configDir, cwd);
    const folder = path.join(root, path.basename(source.folder));
    return listImageFolder(folder, `${split} images (config key ${source.folderKey}: ${path.dirname(source.folder)})`, options.onWarning);
  }
  const folder = resolveConfigPath(source.folder, configDir, cwd);
  const list = resolveConfigPath(source.list, configDir, cwd);
  if (!isDirectory(folder)) {
    throw new DataError(`The image folder ${folder} for ${split} does not exist (config key ${source.folderKey}: ${source.folder}).`);
  }
  const what = `${split} (config keys ${source.listKey}: ${source.list}, ${source.folderKey}: ${source.folder})`;
  return readImageList(list, folder, what, options.onWarning);
}

/**
 * Every image under `folder`, sub-folders included, sorted by path: the reference's ImageFolder (os.walk + sorted).
 * Symbolic links to files are followed, links to folders are not (os.walk's default); links that cannot be followed
 * (a loop, no permission) are left out with a warning, as damaged images are. `what` names the config key.
 */
export function listImageFolder(folder: string, what: string, onWarning: WarningHandler = () => {}): string[] {
  if (!isDirectory(folder)) {
    const reason = fs.existsSync(folder) ? 'is not a folder' : 'does not exist';
    throw new DataError(`The image folder ${folder} ${reason}; it should hold the ${what}.`);
  }
  const found: string[] = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if (dir === folder) throw new DataError(`The image folder ${folder} cannot be read (${(err as Error).message}); it should hold the ${what}.`);
      onWarning(
        `${dir} cannot be read (${(err as NodeJS.ErrnoException).code === 'EACCES' ? 'permission denied' : (err as Error).message}); its images are skipped.`,
      );
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (isImageName(entry.name) && (entry.isFile() || (entry.isSymbolicLink() && linkedFile(full, onWarning)))) found.push(full);
    }
  };
  walk(folder);
  if (found.length === 0) {
    throw new DataError(`The image folder ${folder} holds no images (${IMAGE_EXTENSIONS.join(', ')}); it should hold the ${what}.`);
  }
  return found.sort();
}

/**
 * The reference's list layout: one path per line relative to `folder` (absolute paths kept, as os.path.join does).
 * Blank lines are ignored; entries that don't exist are left out with a warning. Errors if none is left.
 */
export function readImageList(list: string, folder: string, what: string, onWarning?: WarningHandler): string[] {
  let text: string;
  try {
    text = fs.readFileSync(list, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (err as Error).message;
    throw new DataError(`The image list ${list} ${reason}: it should name the images of ${what}.`);
  }
  const entries = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (entries.length === 0) throw new DataError(`The image list ${list} is empty: it should name the images of ${what}, one per line.`);
  const files: string[] = [];
  let missing = 0;
  for (const [i, entry] of entries.entries()) {
    const file = path.resolve(folder, entry);
    const problem = fileProblem(file);
    if (problem === undefined) {
      files.push(file);
    } else {
      missing++;
      onWarning?.(`${list}:${i + 1}: '${entry}' ${problem} (looked for ${file}); left out.`);
    }
  }
  if (files.length === 0) {
    throw new DataError(`None of the ${missing} entries of the image list ${list} exists under ${folder} (${what}).`);
  }
  return files;
}

/**
 * The files of one split and what's known to be wrong with them. `load` never returns a broken image: a file that
 * fails to decode is warned about once, remembered, and replaced by the next good file (cyclically). The replacement
 * depends only on which files are bad, not on timing, so a seed still fixes the order of a run.
 */
export class ImageDataset {
  private readonly bad = new Map<number, string>();

  constructor(
    readonly files: readonly string[],
    /** For messages: which split, from which folder or list. */
    readonly description: string,
    private readonly onWarning: WarningHandler = () => {},
  ) {
    if (files.length === 0) throw new DataError(`No images for ${description}.`);
  }

  get size(): number {
    return this.files.length;
  }

  /** Files skipped so far, with the reason. */
  get badFiles(): ReadonlyMap<string, string> {
    return new Map([...this.bad].map(([i, reason]) => [this.files[i], reason]));
  }

  async load(index: number, transform: ImageTransform): Promise<Float32Array> {
    const n = this.files.length;
    for (let k = 0; k < n; k++) {
      const i = (index + k) % n;
      if (this.bad.has(i)) continue;
      try {
        return await loadImageFile(this.files[i], transform);
      } catch (err) {
        if (!(err instanceof ImageFileError)) throw err;
        this.markBad(i, err);
      }
    }
    const [, example] = this.bad.entries().next().value ?? [0, 'unknown'];
    throw new DataError(`Every one of the ${n} images of ${this.description} failed to decode (for example: ${example}).`);
  }

  private markBad(i: number, err: ImageFileError): void {
    if (this.bad.has(i)) return; // two prefetched batches can trip over the same file
    this.bad.set(i, err.message);
    this.onWarning(`${err.message}; skipped (${this.description}).`);
  }
}

function isImageName(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

function isDirectory(p: string): boolean {
  return fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** Why `p` is not a readable file's path, or undefined when it is one. Never throws (ELOOP, EACCES ...). */
function fileProblem(p: string): string | undefined {
  try {
    return fs.statSync(p, { throwIfNoEntry: false })?.isFile() ? undefined : 'is not a file';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return 'is a symbolic link loop';
    if (code === 'EACCES' || code === 'EPERM') return `cannot be reached: permission denied (${code})`;
    return `cannot be read (${(err as Error).message})`;
  }
}

/** A symbolic link found in a folder: true if it leads to a file; a broken link is ignored, a loop is warned about. */
function linkedFile(link: string, onWarning: WarningHandler): boolean {
  const problem = fileProblem(link);
  if (problem !== undefined && problem !== 'is not a file') onWarning(`${link} ${problem}; skipped.`);
  return problem === undefined;
}

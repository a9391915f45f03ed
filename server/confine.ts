// What the engine reads for a config, checked against the workspace before it is read: the data folders and lists
// (each image file too, since an image may be a link or a list entry may name any path) and the VGG weights.
import * as path from 'node:path';
import { checkDataPaths, ConfigError, dataSources, DATA_SPLITS, type DataSplit, type MunitConfig } from '../munit-core/config/config.js';
import { listSplitImages } from '../munit-core/data/dataset.js';
import type { PathGuard } from './workspace.js';

/** Fails with the config's data problems, a path outside the workspace among them, before any data is read. */
export function checkConfigData(config: MunitConfig, configPath: string, guard: PathGuard): void {
  const errors = checkDataPaths(config, path.dirname(configPath), undefined, (resolved) => guard.refusal(resolved)).filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new ConfigError(configPath, errors);
  if (config.vgg_w > 0 && config.vgg_model_path !== undefined) guard.check(path.resolve(path.dirname(configPath), config.vgg_model_path), 'vgg_model_path');
}

/**
 * The images of `splits` as the trainer lists them, each checked to lie inside the workspace; at most `limit` per
 * split (the preview needs only the first few). Call checkConfigData first: the lists are read here.
 */
export function workspaceImages(
  config: MunitConfig,
  configDir: string,
  guard: PathGuard,
  splits: readonly DataSplit[] = DATA_SPLITS,
  limit = Infinity,
): Record<DataSplit, string[]> {
  const sources = dataSources(config);
  if (!sources) throw new Error('the config names no data: set data_root, or all eight data_folder_*/data_list_* keys');
  const result = {} as Record<DataSplit, string[]>;
  for (const split of splits) {
    const source = sources[split];
    const files = listSplitImages(split, source, { configDir }).slice(0, limit);
    const key = source.listKey ?? source.folderKey;
    for (const file of files) guard.check(file, `${key} (${split} image)`);
    result[split] = files;
  }
  return result;
}

// Live reload's eyes: watches the Python import paths for changed .py files,
// and reports a burst of changes (an editor's save, a git checkout) once.

import { type FSWatcher, watch } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from '@snakebridge/core';

/** Quiet time after the last change before the workers are replaced. */
export const RELOAD_DEBOUNCE_MS = 200;

/**
 * Calls `changed` with the first changed `.py` file of each burst, once the
 * directories have been quiet for `debounceMs`. Returns the function that
 * stops watching. A directory that cannot be watched is logged and skipped.
 */
export function watchPythonSources(
  directories: readonly string[],
  changed: (file: string) => void,
  logger: Logger,
  debounceMs = RELOAD_DEBOUNCE_MS,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  let first: string | undefined;
  const onChange = (directory: string, file: string | null): void => {
    if (file === null || !file.endsWith('.py')) return;
    first ??= resolve(directory, file);
    clearTimeout(timer);
    timer = setTimeout(() => {
      const what = first as string;
      first = undefined;
      changed(what);
    }, debounceMs);
  };
  const watchers: FSWatcher[] = [];
  for (const directory of new Set(directories.map((path) => resolve(path)))) {
    try {
      const watcher = watch(directory, { recursive: true }, (_event, file) => onChange(directory, file));
      watcher.on('error', (error) => logger.warn(`python.reload stopped watching ${directory}: ${error.message}`));
      watchers.push(watcher);
    } catch (error) {
      logger.warn(`python.reload cannot watch ${directory}: ${(error as Error).message}`);
    }
  }
  return () => {
    clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
  };
}

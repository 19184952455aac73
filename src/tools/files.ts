// Files that survive crashes and paths users write: the one home for fsync, atomic writes and
// `~/` expansion.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Makes a rename durable. Best effort: some platforms cannot open a directory for fsync. */
export function fsyncDirectory(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* not fatal */
  }
}

/**
 * Writes `text` under a temporary name beside `file` and renames it into place, so a reader sees
 * the old file or the whole new one, never half of one. The directory must exist unless `mkdir`
 * (a provider's state must not bring a torn-down environment's directory back).
 */
export function writeFileAtomically(file: string, text: string, opts: { mode?: number; mkdir?: boolean } = {}): void {
  const target = path.resolve(file);
  if (opts.mkdir) fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, text, opts.mode === undefined ? undefined : { mode: opts.mode });
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** A path as a user writes it: `~` and `~/x` under the home directory, relative ones against `baseDir`. */
export function resolveUserPath(raw: string, baseDir: string): string {
  const expanded = raw === '~' ? os.homedir() : raw.startsWith('~/') ? path.join(os.homedir(), raw.slice(2)) : raw;
  return path.resolve(baseDir, expanded);
}

/** The last `lines` lines of a log file, for an error message ("(no log)" when it cannot be read). */
export function lastLines(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

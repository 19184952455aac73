// Stored runs: $STRATA_HOME/runs/<id>/run.json, one file per run, written once when the run ends.
// The file is written beside its final name and renamed over it, so a reader sees a whole run or
// none, and a retried activity that reuses its run id replaces the earlier attempt instead of
// adding a second run.

import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { LoadResult } from './generator';
import type { LoadProfile } from './profile';
import { strataPaths } from '../paths';

export interface RunCandidate {
  name: string;
  version: string;
  digest: string;
}

export interface StoredRun {
  id: string;
  createdAt: string;
  /** The layer whose environment was loaded. */
  layer: string;
  profile: LoadProfile;
  seed: number;
  candidate: RunCandidate;
  /** The URL the requests went to. */
  target: string;
  results: LoadResult;
  /** The run this one replays (same profile, seed and candidate). */
  replayOf?: string;
}

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const RUN_FILE = 'run.json';

export class RunNotFoundError extends Error {
  override name = 'RunNotFoundError';
}

export class InvalidRunError extends Error {
  override name = 'InvalidRunError';
}

/** `run-20261125T143012-3fa9c1`: UTC time to the second, then 6 random hex digits. */
export function newRunId(now: Date = new Date()): string {
  return `run-${stampOf(now)}-${randomBytes(3).toString('hex')}`;
}

/** The same id for the same time and key: a retried activity's run replaces the first attempt's. */
export function stableRunId(time: Date, key: string): string {
  return `run-${stampOf(time)}-${createHash('sha256').update(key).digest('hex').slice(0, 6)}`;
}

function stampOf(time: Date): string {
  return time
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '');
}

export function checkRunId(id: string): string {
  if (!RUN_ID.test(id)) {
    throw new InvalidRunError(
      `invalid run id "${id}": expected letters, digits, ".", "_" or "-" (e.g. run-20261125T143012-3fa9c1)`,
    );
  }
  return id;
}

export class RunStore {
  readonly dir: string;

  constructor(readonly home: string) {
    this.dir = strataPaths(home).runs;
  }

  file(id: string): string {
    return path.join(this.dir, checkRunId(id), RUN_FILE);
  }

  /** Writes the run atomically, replacing any earlier run with the same id. */
  save(run: StoredRun): string {
    const file = this.file(run.id);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      const fd = fs.openSync(tmp, 'w');
      try {
        fs.writeSync(fd, `${JSON.stringify(run, null, 2)}\n`);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, file);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    return file;
  }

  has(id: string): boolean {
    return fs.existsSync(this.file(id));
  }

  get(id: string): StoredRun {
    const file = this.file(id);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new RunNotFoundError(`no run "${id}" in ${this.dir} (see \`strata runs ls\`)`);
      }
      throw err;
    }
    return parseRun(text, file, id);
  }

  /**
   * Every stored run, newest first (by createdAt, then id). A run file that cannot be read is left
   * out and reported to `onProblem`, so one damaged file does not hide the others.
   */
  list(onProblem?: (file: string, message: string) => void): StoredRun[] {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(this.dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const runs: StoredRun[] = [];
    for (const entry of entries) {
      if (!entry.isDirectory() || !RUN_ID.test(entry.name)) continue;
      const file = path.join(this.dir, entry.name, RUN_FILE);
      try {
        runs.push(parseRun(fs.readFileSync(file, 'utf8'), file, entry.name));
      } catch (err) {
        // A directory without run.json is a run still in progress (or one that never ended).
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        onProblem?.(file, (err as Error).message);
      }
    }
    return runs.sort((a, b) =>
      a.createdAt === b.createdAt ? b.id.localeCompare(a.id) : b.createdAt.localeCompare(a.createdAt),
    );
  }
}

function parseRun(text: string, file: string, id: string): StoredRun {
  let run: unknown;
  try {
    run = JSON.parse(text);
  } catch (err) {
    throw new InvalidRunError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  const r = run as Partial<StoredRun> | null;
  const missing = (['id', 'createdAt', 'layer', 'profile', 'candidate', 'target', 'results'] as const).filter(
    (k) => r?.[k] === undefined,
  );
  if (missing.length > 0) throw new InvalidRunError(`${file}: not a stored run: missing ${missing.join(', ')}`);
  if (r!.id !== id) throw new InvalidRunError(`${file}: holds run "${r!.id}", expected "${id}"`);
  return r as StoredRun;
}

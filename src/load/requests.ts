// Request bodies for a load run: made from the environment's own records (its synthetic users),
// or replayed from a recorded request log (JSONL, one request body a line). Either way body i is
// a pure function of (source, seed, i), so a replayed run sends the same bodies in the same order.

import fs from 'node:fs';
import path from 'node:path';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { InputSchema } from '../domain/ladder';
import { readRecords } from '../envdb/records';
import { openReadOnly } from '../envdb/sqlite';
import { intendedCount, type LoadProfile } from './profile';

/** Distinct records read from the environment at most; bodies cycle through them. */
export const MAX_DISTINCT_RECORDS = 50_000;

export interface RequestBodies {
  /** The JSON text of request i's body. */
  body: (i: number) => string;
  /** Distinct records (environment) or lines (replay) the bodies cycle through. */
  distinct: number;
  /** Where the bodies come from, for messages. */
  source: string;
}

/**
 * Bodies `{"records": [...]}` of `batch` records each, from the environment's input table. The
 * first rows of the table (as many as the run can use, at most MAX_DISTINCT_RECORDS) are shuffled
 * by `seed` (Fisher–Yates on xoroshiro128+), then request i takes records i·batch … i·batch+batch−1,
 * cycling. Each record is serialised once.
 */
export function environmentBodies(opts: {
  dbPath: string;
  input: InputSchema;
  seed: number;
  batch: number;
  requests: number;
}): RequestBodies {
  const limit = Math.max(1, Math.min(MAX_DISTINCT_RECORDS, opts.requests * opts.batch));
  const db = openReadOnly(opts.dbPath);
  let records: string[];
  try {
    records = Array.from(readRecords(db, opts.input, { withLabel: false, limit }), (r) => JSON.stringify(r.record));
  } catch (err) {
    throw new Error(
      `cannot read request records from ${opts.input.table} in ${opts.dbPath}: ${(err as Error).message}`,
    );
  } finally {
    db.close();
  }
  if (records.length === 0) throw new Error(`no records in table ${opts.input.table} of ${opts.dbPath} to send`);
  shuffle(records, opts.seed);
  const { batch } = opts;
  const n = records.length;
  return {
    body: (i) => {
      let text = '{"records":[';
      for (let j = 0; j < batch; j++) text += (j > 0 ? ',' : '') + records[(i * batch + j) % n];
      return `${text}]}`;
    },
    distinct: n,
    source: `${n} records of ${opts.input.table} in ${opts.dbPath}, shuffled by seed ${opts.seed}, ${batch} per request`,
  };
}

/** In-place Fisher–Yates shuffle driven by a seeded xoroshiro128+ stream. */
export function shuffle<T>(items: T[], seed: number): T[] {
  const rng = xoroshiro128plus(seed);
  for (let i = items.length - 1; i > 0; i--) {
    const j = uniformInt(rng, 0, i);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * Bodies replayed from a JSONL request log: every non-empty line is one request body, a JSON
 * object, sent as written and in file order (cycling when the run needs more requests than the
 * log has lines). A missing file or a malformed line is an Error naming the file and the line.
 */
export function replayBodies(file: string): RequestBodies {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(
      `${file}: cannot read the replay file${code === 'ENOENT' ? ': no such file' : `: ${(err as Error).message}`}`,
    );
  }
  const lines: string[] = [];
  text.split('\n').forEach((raw, at) => {
    const line = raw.trim();
    if (line === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new Error(
        `${file}:${at + 1}: not valid JSON (${(err as Error).message}); expected one request body, a JSON object, a line`,
      );
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new Error(
        `${file}:${at + 1}: expected a JSON object (one request body), got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`,
      );
    }
    lines.push(line);
  });
  if (lines.length === 0) throw new Error(`${file}: no request bodies (the file has no non-empty lines)`);
  return {
    body: (i) => lines[i % lines.length],
    distinct: lines.length,
    source: `${lines.length} request bodies replayed from ${file}`,
  };
}

/** The profile with a relative replay file made absolute against `baseDir` (e.g. the ladder file's directory). */
export function resolveRequestFile(profile: LoadProfile, baseDir: string): LoadProfile {
  if (profile.requests.source !== 'replay' || path.isAbsolute(profile.requests.file)) return profile;
  return { ...profile, requests: { ...profile.requests, file: path.resolve(baseDir, profile.requests.file) } };
}

/**
 * The bodies a profile asks for. The environment source needs the environment's database and the
 * candidate's input schema; a relative replay file is read relative to `baseDir` (default: cwd).
 */
export function requestBodies(
  profile: LoadProfile,
  env: { dbPath?: string; input?: InputSchema; baseDir?: string },
): RequestBodies {
  if (profile.requests.source === 'replay') {
    return replayBodies(path.resolve(env.baseDir ?? process.cwd(), profile.requests.file));
  }
  if (!env.dbPath || !env.input)
    throw new Error("requests from the environment need its database and the candidate's input schema");
  return environmentBodies({
    dbPath: env.dbPath,
    input: env.input,
    seed: profile.seed,
    batch: profile.batch,
    requests: intendedCount(profile),
  });
}

// Held-out real rows: a uniform sample of an approved real file (CSV or SQLite), kept in the data
// steward's area, $STRATA_HOME/data/holdout/<sha256 of the file>.json (mode 600, directory 700),
// never in an environment. The seed step scores synthetic rows against it (fidelity-rows.ts). The
// sample is drawn once per file content (algorithm R on a stream seeded by the digest), so every
// seed of every layer is scored against the same rows, and a changed file is a new sample.

import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomically } from '../../tools/files';
import { DataInputError } from '../profile/errors';
import { createRandom } from '../profile/random';
import { type Cell, openSource } from '../profile/sources';
import type { RealSample } from './fidelity-rows';

/** Rows held out per file unless the ladder says otherwise: enough for KS to resolve ~2 %. */
export const DEFAULT_HOLDOUT_ROWS = 5000;

export interface Holdout extends RealSample {
  /** Where the sample is kept. */
  file: string;
  /** Rows in the source file. */
  sourceRows: number;
  /** True when this call drew the sample (false: read back). */
  created: boolean;
}

export function holdoutDir(home: string): string {
  return path.join(home, 'data', 'holdout');
}

export function holdoutPath(home: string, digest: string, rows: number): string {
  return path.join(holdoutDir(home), `${digest}.${rows}.json`);
}

/** The held-out sample of `source` (whose sha256 is `digest`), drawn on first use. */
export async function heldOutRows(
  home: string,
  source: string,
  digest: string,
  options: { table?: string; rows?: number } = {},
): Promise<Holdout> {
  const size = options.rows ?? DEFAULT_HOLDOUT_ROWS;
  const file = holdoutPath(home, digest, size);
  if (fs.existsSync(file)) {
    try {
      const kept = JSON.parse(fs.readFileSync(file, 'utf8')) as RealSample & { sourceRows: number };
      return { ...kept, file, created: false };
    } catch {
      // A torn or edited file: draw it again.
    }
  }
  const opened = await openSource(source, options.table);
  const random = createRandom(parseInt(digest.slice(0, 12), 16), 0x401d);
  const sample: Cell[][] = [];
  let seen = 0;
  try {
    for await (const batch of opened.batches()) {
      for (const row of batch) {
        if (sample.length < size) sample.push(row);
        else {
          const slot = Math.floor(random.next() * (seen + 1));
          if (slot < size) sample[slot] = row;
        }
        seen++;
      }
    }
  } finally {
    await opened.close();
  }
  if (seen === 0) throw new DataInputError(source, '', 'no rows to hold out; the real file is empty');
  const kept = { columns: opened.columns, rows: sample, sourceRows: seen };
  fs.mkdirSync(holdoutDir(home), { recursive: true, mode: 0o700 });
  writeFileAtomically(file, JSON.stringify(kept), { mode: 0o600 });
  return { ...kept, file, created: true };
}

// Real pieces for the drill library's tests: a seeded SQLite environment in a temp dir and the
// example candidate running as a detached process, as the local provider runs it.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { seedTransactions } from '../../src/data/transactions';
import { freePort } from '../../src/tools/ports';
import { installExample } from './example-candidates';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `strata-${prefix}-`));
}

/** envs/<layer>/data.db with `rows` seeded transactions, like the local provider's seed step. */
export function seededEnv(root: string, rows = 2000, seed = 7): { dir: string; dbPath: string } {
  const dir = path.join(root, 'envs', 'mirror');
  const dbPath = path.join(dir, 'data.db');
  seedTransactions(dbPath, { rows, seed });
  return { dir, dbPath };
}

export async function healthy(url: string): Promise<boolean> {
  try {
    const res = await request(`${url}/health`, { signal: AbortSignal.timeout(500) });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}

export interface Candidate {
  pid: number;
  url: string;
  kill(): void;
}

/**
 * The fraud-v2 example server, detached (its own process group), healthy on return. It runs from a
 * release directory beside the database, as the local provider runs it.
 */
export async function startCandidate(dbPath: string): Promise<Candidate> {
  const port = await freePort();
  const release = path.join(path.dirname(dbPath), 'release');
  await installExample('fraud-v2', release);
  const child = spawn(process.execPath, ['server.js'], {
    cwd: release,
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), STRATA_DB_PATH: dbPath },
  });
  child.unref();
  const pid = child.pid!;
  const url = `http://127.0.0.1:${port}`;
  const kill = (): void => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  };
  const deadline = Date.now() + 10_000;
  while (!(await healthy(url))) {
    if (Date.now() > deadline) {
      kill();
      throw new Error(`candidate did not become healthy at ${url}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return { pid, url, kill };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

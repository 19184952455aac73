// Injecting the drill's disruption into a local environment. Each scenario really breaks what it
// names; detect.ts is what notices.

import fs from 'node:fs';
import Database from 'better-sqlite3';
import { DRILL_SCENARIOS, type DrillScenario } from '../domain/drill';
import { TRANSACTIONS_TABLE } from '../data/transactions';
import { DrillError } from './errors';
import { processAlive, signalProcessTree, waitForExit } from '../tools/processes';
import { SIDE_FILES } from './restore';
import { hasTable } from './writes-table';

export interface FaultTarget {
  dbPath: string;
  /** The candidate's process (a process-group leader with the local provider), or null. */
  pid: number | null;
}

export interface FaultOptions {
  /** rows-corrupted: share of the table's rows to overwrite, in percent (default 10). */
  percent?: number;
  /** The table the data scenarios break (default transactions). */
  table?: string;
}

export interface InjectedFault {
  scenario: DrillScenario;
  injectedAt: string;
  detail: string;
}

const BUSY_TIMEOUT_MS = 5000;

export function isDrillScenario(name: string): name is DrillScenario {
  return (DRILL_SCENARIOS as readonly string[]).includes(name);
}

/** Throws a DrillError naming the valid scenarios when `name` is not one. */
export function assertScenario(name: string): DrillScenario {
  if (!isDrillScenario(name))
    throw new DrillError(`unknown drill scenario "${name}"; expected one of ${DRILL_SCENARIOS.join(', ')}`);
  return name;
}

function openForFault(dbPath: string, table: string): Database.Database {
  if (!fs.existsSync(dbPath)) throw new DrillError(`cannot inject: database ${dbPath} does not exist`);
  const db = new Database(dbPath, { fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  if (!hasTable(db, table)) {
    db.close();
    throw new DrillError(`cannot inject: table ${table} does not exist in ${dbPath}`);
  }
  return db;
}

async function killCandidate(pid: number | null): Promise<{ detail: string; at: string }> {
  if (!pid || !processAlive(pid))
    throw new DrillError(
      `cannot inject process-killed: no candidate process is running${pid ? ` (pid ${pid} is gone)` : ''}`,
    );
  signalProcessTree(pid, 'SIGKILL');
  const at = new Date().toISOString();
  if (!(await waitForExit(pid, 5000))) throw new DrillError(`process ${pid} survived SIGKILL for 5 s`);
  return { detail: `SIGKILL sent to the candidate's process group ${pid}; it exited`, at };
}

function corruptRows(dbPath: string, table: string, percent: number): string {
  if (!(percent > 0 && percent <= 100))
    throw new DrillError(`rows-corrupted: percent must be in (0, 100], got ${percent}`);
  const db = openForFault(dbPath, table);
  try {
    const ids = db.prepare(`SELECT rowid FROM "${table}" ORDER BY rowid`).pluck().all() as number[];
    const count = Math.min(ids.length, Math.ceil((ids.length * percent) / 100));
    if (count === 0) throw new DrillError(`rows-corrupted: table ${table} is empty`);
    // Evenly spread over the table, so the damage is not one contiguous block.
    const step = ids.length / count;
    const update = db.prepare(`UPDATE "${table}" SET amount = -1, channel = 'corrupt' WHERE rowid = ?`);
    db.transaction(() => {
      for (let i = 0; i < count; i++) update.run(ids[Math.floor(i * step)]);
    })();
    return `overwrote ${count} of ${ids.length} rows (${percent} %) of ${table} with amount = -1, channel = 'corrupt'`;
  } finally {
    db.close();
  }
}

function dropTable(dbPath: string, table: string): string {
  const db = openForFault(dbPath, table);
  try {
    const rows = (db.prepare(`SELECT count(*) FROM "${table}"`).pluck().get() as number) ?? 0;
    db.exec(`DROP TABLE "${table}"`);
    return `dropped table ${table} (${rows} rows)`;
  } finally {
    db.close();
  }
}

function removeDatabase(dbPath: string): string {
  if (!fs.existsSync(dbPath)) throw new DrillError(`cannot inject database-removed: ${dbPath} does not exist`);
  const bytes = fs.statSync(dbPath).size;
  fs.rmSync(dbPath);
  const side = SIDE_FILES.filter((s) => fs.existsSync(`${dbPath}${s}`));
  for (const s of side) fs.rmSync(`${dbPath}${s}`, { force: true });
  return `removed ${dbPath} (${bytes} bytes)${side.length ? ` and its ${side.join(', ')} files` : ''}`;
}

/** Injects `scenario` into the environment; `injectedAt` is when the damage was done. */
export async function injectFault(
  scenario: DrillScenario,
  env: FaultTarget,
  opts: FaultOptions = {},
): Promise<InjectedFault> {
  const table = opts.table ?? TRANSACTIONS_TABLE;
  let detail: string;
  switch (scenario) {
    case 'process-killed': {
      const killed = await killCandidate(env.pid);
      return { scenario, injectedAt: killed.at, detail: killed.detail };
    }
    case 'rows-corrupted':
      detail = corruptRows(env.dbPath, table, opts.percent ?? 10);
      break;
    case 'table-dropped':
      detail = dropTable(env.dbPath, table);
      break;
    case 'database-removed':
      detail = removeDatabase(env.dbPath);
      break;
    case 'dependency-down':
      // The drill activity injects it through the provider (it kills the environment's feature-lookup service).
      throw new DrillError(
        "scenario dependency-down stops the environment's feature-lookup service: the drill injects it through " +
          'the provider (killDependency), not into a database file',
      );
    case 'server-killed':
      throw new DrillError(
        "scenario server-killed kills a PostgreSQL server (the layer's provider.server): a SQLite file has none",
      );
    default:
      throw new DrillError(
        `unknown drill scenario "${String(scenario)}"; expected one of ${DRILL_SCENARIOS.join(', ')}`,
      );
  }
  return { scenario, injectedAt: new Date().toISOString(), detail };
}

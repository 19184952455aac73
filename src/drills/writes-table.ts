// The drill_writes table: what the drill's writer inserts, and what recovery is measured by.

import type Database from 'better-sqlite3';

export const WRITES_TABLE = 'drill_writes';

export const WRITES_TABLE_DDL = `CREATE TABLE IF NOT EXISTS ${WRITES_TABLE} (seq INTEGER PRIMARY KEY, written_at TEXT NOT NULL)`;

export function hasTable(db: Database.Database, table: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
}

/** Highest seq in drill_writes, or null when the table is missing or empty. */
export function maxWriteSeq(db: Database.Database): number | null {
  if (!hasTable(db, WRITES_TABLE)) return null;
  const row = db.prepare(`SELECT max(seq) AS seq FROM ${WRITES_TABLE}`).get() as { seq: number | null };
  return row.seq;
}

/** Every seq present in drill_writes (empty when the table is missing). */
export function writeSeqs(db: Database.Database): Set<number> {
  if (!hasTable(db, WRITES_TABLE)) return new Set();
  return new Set(db.prepare(`SELECT seq FROM ${WRITES_TABLE}`).pluck().all() as number[]);
}

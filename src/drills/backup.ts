// Backups with SQLite's online backup API: a consistent copy of a live database that other
// processes keep writing to, written under a temporary name and renamed, with a JSON description
// (tables, row counts, checksums, the last drill write it holds) beside it.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { DrillBackupSummary, TableFingerprints } from '../domain/drill';
import { DrillError } from './errors';
import { fingerprintTables } from './fingerprint';
import { fsyncDirectory, fsyncFile } from '../tools/files';
import { maxWriteSeq, WRITES_TABLE } from './writes-table';

export interface BackupInfo extends DrillBackupSummary {
  /** The database the backup was taken of. */
  source: string;
  /** How long the backup took (copy, fingerprints, rename). */
  ms: number;
}

const BACKUP_PREFIX = 'backup-';
const BUSY_TIMEOUT_MS = 5000;

/** Opens an existing database for reading, waiting for writers' locks rather than failing. */
export function openExisting(dbPath: string, opts: { readonly?: boolean } = {}): Database.Database {
  if (!fs.existsSync(dbPath)) throw new DrillError(`database ${dbPath} does not exist`);
  const db = new Database(dbPath, { fileMustExist: true, readonly: opts.readonly ?? true, timeout: BUSY_TIMEOUT_MS });
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  return db;
}

/**
 * Row counts and checksums of the live database's tables, by default every table except the
 * drill writer's (which changes all the time): the pre-fault snapshot recovery is verified against.
 */
export async function snapshotTables(dbPath: string, tables?: string[]): Promise<TableFingerprints> {
  const db = openExisting(dbPath);
  try {
    return fingerprintTables(db, tables ? { tables } : { exclude: [WRITES_TABLE] });
  } finally {
    db.close();
  }
}

/** Backs up `dbPath` into `backupDir` (created if missing). */
export async function backupDatabase(dbPath: string, backupDir: string): Promise<BackupInfo> {
  const started = Date.now();
  fs.mkdirSync(backupDir, { recursive: true });
  const source = openExisting(dbPath);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('.', '');
  const name = `${BACKUP_PREFIX}${stamp}-${randomBytes(3).toString('hex')}`;
  const file = path.join(backupDir, `${name}.db`);
  const tmp = path.join(backupDir, `.${name}.db.tmp`);
  let at: string;
  try {
    // All pages in one step: the copy is taken under one read lock, so a writer committing every
    // few ms cannot make the backup restart forever (it waits on its busy timeout instead).
    await source.backup(tmp, { progress: () => 0x7fffffff });
    at = new Date().toISOString();
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new DrillError(`backup of ${dbPath} failed: ${(err as Error).message}`);
  } finally {
    source.close();
  }
  let tables: TableFingerprints;
  let lastWriteSeq: number | null;
  try {
    const copy = openExisting(tmp);
    try {
      tables = fingerprintTables(copy);
      lastWriteSeq = maxWriteSeq(copy);
    } finally {
      copy.close();
    }
    fsyncFile(tmp);
    fs.renameSync(tmp, file);
    fsyncDirectory(backupDir);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  const info: BackupInfo = {
    file,
    at,
    bytes: fs.statSync(file).size,
    tables,
    lastWriteSeq,
    source: path.resolve(dbPath),
    ms: Date.now() - started,
  };
  const meta = path.join(backupDir, `${name}.json`);
  fs.writeFileSync(`${meta}.tmp`, JSON.stringify(info, null, 2));
  fs.renameSync(`${meta}.tmp`, meta);
  return info;
}

/** Every complete backup in `backupDir`, oldest first (those whose database file is gone are skipped). */
export function listBackups(backupDir: string): BackupInfo[] {
  let names: string[];
  try {
    names = fs.readdirSync(backupDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const found: Array<{ info: BackupInfo; written: bigint }> = [];
  for (const n of names) {
    if (!n.startsWith(BACKUP_PREFIX) || !n.endsWith('.json')) continue;
    const meta = path.join(backupDir, n);
    try {
      const info = JSON.parse(fs.readFileSync(meta, 'utf8')) as BackupInfo;
      if (fs.existsSync(info.file)) found.push({ info, written: fs.statSync(meta, { bigint: true }).mtimeNs });
    } catch {
      // a half-written or foreign file: not a backup we can use
    }
  }
  // Two backups within one millisecond share `at`; the description's write time orders them.
  found.sort(
    (a, b) => a.info.at.localeCompare(b.info.at) || (a.written < b.written ? -1 : a.written > b.written ? 1 : 0),
  );
  return found.map((f) => f.info);
}

/** The newest complete backup in `backupDir`, or null when there is none. */
export function latestBackup(backupDir: string): BackupInfo | null {
  return listBackups(backupDir).at(-1) ?? null;
}

/** The summary a drill report keeps of a backup. */
export function backupSummary(info: BackupInfo): DrillBackupSummary {
  return { file: info.file, at: info.at, bytes: info.bytes, tables: info.tables, lastWriteSeq: info.lastWriteSeq };
}

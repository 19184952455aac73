// The drill's writer, run as its own process by startWriter (writer.ts): inserts one row into
// drill_writes every interval and acknowledges each commit in the log file. It never crashes on a
// database problem: it logs the failed attempt, drops its connection and tries again next tick,
// so it resumes by itself once the database is restored.
//
// Usage: node --import tsx writer-process.ts '{"dbPath":…,"logFile":…,"intervalMs":20,"watchParent":true}'

import fs from 'node:fs';
import Database from 'better-sqlite3';
import { logSafe, maxAckedSeq, readAckLog } from './ack-log';
import { maxWriteSeq, WRITES_TABLE, WRITES_TABLE_DDL } from './writes-table';

interface WriterConfig {
  dbPath: string;
  logFile: string;
  intervalMs: number;
  /** Exit when the process that started the writer is gone (no orphaned writers). */
  watchParent: boolean;
  busyTimeoutMs: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as WriterConfig;
const parentPid = process.ppid;

let db: Database.Database | null = null;
let insert: Database.Statement | null = null;
/** Inode of the file `db` has open: a file renamed over dbPath (a restore) is a different one. */
let openIno: number | null = null;
let nextSeq = maxAckedSeq(readAckLog(config.logFile)) + 1;
let timer: NodeJS.Timeout | null = null;
let stopping = false;

function append(line: string): void {
  try {
    fs.appendFileSync(config.logFile, `${line}\n`);
  } catch {
    // The log is our only output; if it cannot be written there is nobody to tell. Keep going.
  }
}

function closeDb(): void {
  try {
    db?.close();
  } catch {
    /* already unusable */
  }
  db = null;
  insert = null;
  openIno = null;
}

/** The database file's inode; throws a readable error when the file is gone. */
function currentIno(): number {
  try {
    return fs.statSync(config.dbPath).ino;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`database file ${config.dbPath} is missing`);
    throw err;
  }
}

function openDb(ino: number): void {
  // fileMustExist: a removed database stays removed until it is restored; the writer never
  // creates an empty one in its place.
  const conn = new Database(config.dbPath, { fileMustExist: true, timeout: config.busyTimeoutMs });
  try {
    conn.pragma(`busy_timeout = ${config.busyTimeoutMs}`);
    conn.exec(WRITES_TABLE_DDL);
    // Rows committed but never acknowledged (a writer killed in between) must not collide.
    nextSeq = Math.max(nextSeq, (maxWriteSeq(conn) ?? 0) + 1);
    insert = conn.prepare(`INSERT INTO ${WRITES_TABLE} (seq, written_at) VALUES (?, ?)`);
  } catch (err) {
    conn.close();
    throw err;
  }
  db = conn;
  openIno = ino;
}

function writeOnce(): void {
  const seq = nextSeq;
  try {
    const ino = currentIno();
    if (db && ino !== openIno) closeDb(); // the file was replaced: write to the new one
    if (!db) openDb(ino);
    insert!.run(seq, new Date().toISOString());
    // Committed. If the file was replaced meanwhile, the row went to the old file: not durable here.
    if (currentIno() !== openIno) throw new Error('database file was replaced during the write; not acknowledged');
    append(`${seq}\t${new Date().toISOString()}`);
    nextSeq = seq + 1;
  } catch (err) {
    append(`${seq}\tERR\t${logSafe((err as Error).message)}`);
    closeDb(); // reopen from scratch next time: the table, the file or the lock may have changed
  }
}

function tick(): void {
  timer = null;
  if (stopping) return;
  if (config.watchParent && process.ppid !== parentPid) {
    stop('parent-exited');
    return;
  }
  writeOnce();
  if (!stopping) timer = setTimeout(tick, config.intervalMs);
}

function stop(reason: string): void {
  if (stopping) return;
  stopping = true;
  if (timer) clearTimeout(timer);
  closeDb();
  append(`#\tstop\t${new Date().toISOString()}\t${reason}`);
  process.exit(0);
}

process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
process.on('uncaughtException', (err) => {
  append(`${nextSeq}\tERR\tunexpected: ${logSafe(err.message)}`);
  closeDb();
  if (!stopping && !timer) timer = setTimeout(tick, config.intervalMs);
});

append(`#\tstart\t${new Date().toISOString()}\t${process.pid}\t${nextSeq}`);
tick();

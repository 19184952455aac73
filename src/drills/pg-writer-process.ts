// The drill's writer for a postgres environment, run as its own process by startWriter (writer.ts)
// with `postgresUrl`: inserts one row into PG_WRITES_TABLE every interval through the environment's
// own login and acknowledges each commit in the log file, in the format of writer-process.ts
// (ack-log.ts). A failed write (table or database gone) is logged, the connection dropped, and the
// same seq tried again next tick, so it resumes by itself once the database is restored.
//
// Usage: STRATA_DRILL_WRITER_URL=postgres://… node --import tsx pg-writer-process.ts '{"logFile":…,"intervalMs":20,"watchParent":true}'
// The URL (with its password) comes in the environment: argv is readable by anyone in /proc.

import fs from 'node:fs';
import { Client } from 'pg';
import { logSafe, maxAckedSeq, readAckLog } from './ack-log';
import { PG_WRITES_TABLE } from './postgres';

interface WriterConfig {
  logFile: string;
  intervalMs: number;
  watchParent: boolean;
}

const config = JSON.parse(process.argv[2] ?? '{}') as WriterConfig;
const url = process.env.STRATA_DRILL_WRITER_URL ?? '';
delete process.env.STRATA_DRILL_WRITER_URL;
const parentPid = process.ppid;

let client: Client | null = null;
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

/** A message without the URL's password, should a driver ever put it there. */
function safe(message: string): string {
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    // no URL: nothing to hide
  }
  return logSafe(password ? message.split(password).join('***') : message);
}

async function closeClient(): Promise<void> {
  const c = client;
  client = null;
  await c?.end().catch(() => undefined);
}

async function connect(): Promise<Client> {
  const c = new Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    await c.query(`CREATE TABLE IF NOT EXISTS ${PG_WRITES_TABLE} (seq bigint PRIMARY KEY, at timestamptz NOT NULL)`);
    // Rows committed but never acknowledged (a writer killed in between) must not collide.
    const r = await c.query<{ max: string | null }>(`SELECT max(seq) AS max FROM ${PG_WRITES_TABLE}`);
    nextSeq = Math.max(nextSeq, Number(r.rows[0].max ?? 0) + 1);
  } catch (err) {
    await c.end().catch(() => undefined);
    throw err;
  }
  return c;
}

async function writeOnce(): Promise<void> {
  const seq = nextSeq;
  try {
    client ??= await connect();
    await client.query(`INSERT INTO ${PG_WRITES_TABLE} (seq, at) VALUES ($1, now())`, [seq]);
    append(`${seq}\t${new Date().toISOString()}`);
    nextSeq = seq + 1;
  } catch (err) {
    append(`${seq}\tERR\t${safe((err as Error).message)}`);
    await closeClient(); // reconnect next time: the table or the database may have changed
  }
}

async function tick(): Promise<void> {
  timer = null;
  if (stopping) return;
  if (config.watchParent && process.ppid !== parentPid) return stop('parent-exited');
  await writeOnce();
  if (!stopping) timer = setTimeout(() => void tick(), config.intervalMs);
}

async function stop(reason: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (timer) clearTimeout(timer);
  await closeClient();
  append(`#\tstop\t${new Date().toISOString()}\t${reason}`);
  process.exit(0);
}

process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
process.on('uncaughtException', (err) => {
  append(`${nextSeq}\tERR\tunexpected: ${safe(err.message)}`);
  void closeClient();
  if (!stopping && !timer) timer = setTimeout(() => void tick(), config.intervalMs);
});

if (!url) {
  append(`#\tfailed\t${new Date().toISOString()}\tSTRATA_DRILL_WRITER_URL is not set`);
  process.exit(2);
}
append(`#\tstart\t${new Date().toISOString()}\t${process.pid}\t${nextSeq}`);
void tick();

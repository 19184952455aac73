import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readAckLog } from '../../../src/drills/ack-log';
import { backupDatabase, snapshotTables } from '../../../src/drills/backup';
import { processAlive, waitForExit } from '../../../src/tools/processes';
import { restoreDatabase } from '../../../src/drills/restore';
import { injectFault } from '../../../src/drills/scenarios';
import { verifyRecovery } from '../../../src/drills/verify';
import { readAcks, startWriter, type WriterHandle } from '../../../src/drills/writer';
import { WRITES_TABLE } from '../../../src/drills/writes-table';
import { seededEnv, sleep, tempDir } from '../../helpers/drill-env';

let root: string;
const running: WriterHandle[] = [];
beforeAll(() => {
  root = tempDir('drill-writer');
});
afterEach(async () => {
  for (const w of running.splice(0)) await w.stop();
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

async function until(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function seqsInDb(dbPath: string): number[] {
  const db = new Database(dbPath, { readonly: true, timeout: 2000 });
  try {
    return db.prepare(`SELECT seq FROM ${WRITES_TABLE} ORDER BY seq`).pluck().all() as number[];
  } finally {
    db.close();
  }
}

describe('the drill writer', () => {
  it('survives the database’s removal, resumes after the restore, and the lost writes give the RPO', async () => {
    const { dir, dbPath } = seededEnv(path.join(root, 'removed'), 1000);
    const logFile = path.join(root, 'removed', 'writer', 'acks.log'); // outside the env dir
    const snapshot = await snapshotTables(dbPath);
    const writer = await startWriter({ dbPath, logFile, intervalMs: 10 });
    running.push(writer);
    expect(processAlive(writer.pid)).toBe(true);
    await until('5 acknowledged writes', () => readAcks(logFile).length >= 5);

    const backupStarted = Date.now();
    const backup = await backupDatabase(dbPath, path.join(dir, 'backups'));
    expect(backup.lastWriteSeq).toBeGreaterThanOrEqual(5);
    await until('writes after the backup', () => readAcks(logFile).some((a) => a.seq > backup.lastWriteSeq! + 5));

    const fault = await injectFault('database-removed', { dbPath, pid: null });
    const errorsAtInjection = readAckLog(logFile).errors.length;
    await until(
      'failed attempts while the database is gone',
      () => readAckLog(logFile).errors.length >= errorsAtInjection + 5,
    );
    expect(processAlive(writer.pid)).toBe(true);
    expect(fs.existsSync(dbPath)).toBe(false); // the writer never creates an empty database in its place
    expect(readAckLog(logFile).errors.at(-1)!.message).toMatch(/database file .* is missing/);
    const injected = Date.parse(fault.injectedAt);
    expect(readAcks(logFile).filter((a) => Date.parse(a.at) > injected + 50)).toEqual([]);

    const restore = await restoreDatabase(backup.file, dbPath);
    const restored = Date.parse(restore.restoredAt);
    await until(
      'writes after the restore',
      () => readAcks(logFile).filter((a) => Date.parse(a.at) > restored).length >= 3,
    );

    const acks = readAcks(logFile);
    const verification = await verifyRecovery({ dbPath, snapshot, backup, acks, injectedAt: fault.injectedAt });
    const expectedLost = acks.filter((a) => a.seq > backup.lastWriteSeq! && Date.parse(a.at) <= injected);
    expect(verification.ok).toBe(true);
    expect(verification.writesLost).toBeGreaterThan(0);
    expect(verification.writesLost).toBe(expectedLost.length);
    expect(verification.lastPresentAfterRecovery?.seq).toBe(backup.lastWriteSeq);
    expect(verification.lastAckBeforeInjection).toEqual(expectedLost.at(-1));
    expect(verification.rpoMs).toBeGreaterThan(0);
    expect(verification.rpoMs).toBeLessThanOrEqual(injected - backupStarted + 20);
    expect(verification.rpoMs).toBe(
      Date.parse(verification.lastAckBeforeInjection!.at) - Date.parse(verification.lastPresentAfterRecovery!.at),
    );

    // The writer carried on in the restored file, with seqs after every one it had acknowledged.
    const inDb = seqsInDb(dbPath);
    const resumed = acks.filter((a) => Date.parse(a.at) > restored);
    expect(resumed[0].seq).toBeGreaterThan(verification.lastAckBeforeInjection!.seq);
    for (const a of resumed) expect(inDb).toContain(a.seq);

    const summary = await writer.stop();
    running.splice(running.indexOf(writer), 1);
    expect(processAlive(writer.pid)).toBe(false);
    expect(summary.acknowledged).toBe(readAcks(logFile).length);
    expect(summary.errors).toBeGreaterThanOrEqual(5);
    expect(summary.lastSeq).toBe(readAcks(logFile).at(-1)!.seq);
    expect(readAckLog(logFile).events.map((e) => e.event)).toEqual(['start', 'stop']);
  });

  it('keeps going when its table is dropped or the database is locked', async () => {
    const { dbPath } = seededEnv(path.join(root, 'locked'), 10);
    const logFile = path.join(root, 'locked', 'acks.log');
    const writer = await startWriter({ dbPath, logFile, intervalMs: 10, busyTimeoutMs: 50 });
    running.push(writer);
    await until('first writes', () => readAcks(logFile).length >= 3);

    const other = new Database(dbPath);
    other.exec(`DROP TABLE ${WRITES_TABLE}`);
    const afterDrop = readAcks(logFile).length;
    await until('writes after the drop', () => readAcks(logFile).length >= afterDrop + 3);

    other.exec('BEGIN EXCLUSIVE');
    await until('a locked error', () => readAckLog(logFile).errors.some((e) => /locked|busy/i.test(e.message)));
    other.exec('COMMIT');
    other.close();
    const afterLock = readAcks(logFile).length;
    await until('writes after the lock', () => readAcks(logFile).length >= afterLock + 3);
    expect(processAlive(writer.pid)).toBe(true);
    // The seqs acknowledged after the drop are in the recreated table.
    const inDb = seqsInDb(dbPath);
    expect(
      readAcks(logFile)
        .slice(afterDrop)
        .every((a) => inDb.includes(a.seq)),
    ).toBe(true);
  });

  it('continues the sequence after a restart, and a second start reuses the running writer', async () => {
    const { dbPath } = seededEnv(path.join(root, 'restart'), 10);
    const logFile = path.join(root, 'restart', 'acks.log');
    const first = await startWriter({ dbPath, logFile, intervalMs: 10 });
    await until('writes', () => readAcks(logFile).length >= 3);
    const again = await startWriter({ dbPath, logFile, intervalMs: 10 });
    expect(again).toMatchObject({ pid: first.pid, reused: true });
    const stopped = await first.stop();

    const second = await startWriter({ dbPath, logFile, intervalMs: 10 });
    running.push(second);
    expect(second.reused).toBe(false);
    expect(second.pid).not.toBe(first.pid);
    await until('writes of the second writer', () => readAcks(logFile).length >= stopped.acknowledged + 2);
    // Compare once the writer has stopped: while it runs, a row can be committed between reading the
    // log and reading the table. It stops between writes, so every committed row is acknowledged.
    await second.stop();
    running.splice(running.indexOf(second), 1);
    const seqs = readAcks(logFile).map((a) => a.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1)); // one unbroken sequence across both runs
    expect(seqsInDb(dbPath)).toEqual(seqs.filter((s) => s <= seqsInDb(dbPath).at(-1)!));
  });

  it('exits when the process that started it exits', async () => {
    const { dbPath } = seededEnv(path.join(root, 'orphan'), 10);
    const logFile = path.join(root, 'orphan', 'acks.log');
    const script = path.join(root, 'orphan', 'parent.ts');
    fs.writeFileSync(
      script,
      `import { startWriter } from ${JSON.stringify(path.resolve(__dirname, '../../../src/drills/writer'))};\n` +
        `startWriter({ dbPath: ${JSON.stringify(dbPath)}, logFile: ${JSON.stringify(logFile)}, intervalMs: 10 })` +
        `.then((w) => { console.log(w.pid); process.exit(0); });\n`,
    );
    const parent = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: path.resolve(__dirname, '../../..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    parent.stdout.on('data', (d) => (out += d));
    await new Promise((r) => parent.once('exit', r));
    const pid = Number(out.trim());
    expect(pid).toBeGreaterThan(0);
    expect(await waitForExit(pid, 3000)).toBe(true);
    expect(readAckLog(logFile).events.at(-1)).toMatchObject({ event: 'stop', detail: ['parent-exited'] });
  });
});

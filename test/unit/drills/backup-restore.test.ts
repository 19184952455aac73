import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupDatabase, latestBackup, listBackups, snapshotTables } from '../../../src/drills/backup';
import { DrillError } from '../../../src/drills/errors';
import { compareFingerprints } from '../../../src/drills/fingerprint';
import { restoreDatabase } from '../../../src/drills/restore';
import { WRITES_TABLE, WRITES_TABLE_DDL } from '../../../src/drills/writes-table';
import { seededEnv, tempDir } from '../../helpers/drill-env';

let root: string;
beforeAll(() => {
  root = tempDir('drill-backup');
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

function addWrites(dbPath: string, n: number): void {
  const db = new Database(dbPath);
  db.exec(WRITES_TABLE_DDL);
  const insert = db.prepare(`INSERT INTO ${WRITES_TABLE} (seq, written_at) VALUES (?, ?)`);
  for (let i = 1; i <= n; i++) insert.run(i, new Date().toISOString());
  db.close();
}

describe('snapshotTables', () => {
  it('fingerprints every table except the drill writer’s, stable across calls', async () => {
    const { dbPath } = seededEnv(path.join(root, 'snap'), 500);
    addWrites(dbPath, 3);
    const a = await snapshotTables(dbPath);
    expect(Object.keys(a)).toEqual(['transactions']);
    expect(a.transactions.rows).toBe(500);
    expect(a.transactions.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(await snapshotTables(dbPath)).toEqual(a);
    expect(Object.keys(await snapshotTables(dbPath, ['transactions', WRITES_TABLE]))).toEqual([
      'transactions',
      WRITES_TABLE,
    ]);
  });

  it('changes its checksum when one value changes, and the comparison says which table', async () => {
    const { dbPath } = seededEnv(path.join(root, 'snap-change'), 300);
    const before = await snapshotTables(dbPath);
    const db = new Database(dbPath);
    db.prepare('UPDATE transactions SET amount = amount + 0.01 WHERE id = 150').run();
    db.close();
    const after = await snapshotTables(dbPath);
    expect(after.transactions.rows).toBe(300);
    expect(after.transactions.checksum).not.toBe(before.transactions.checksum);
    expect(compareFingerprints(before, after)).toEqual([expect.stringMatching(/table transactions content differs/)]);
    expect(compareFingerprints(before, {})).toEqual(['table transactions is missing']);
  });

  it('refuses a database that does not exist rather than creating one', async () => {
    const missing = path.join(root, 'nope', 'data.db');
    await expect(snapshotTables(missing)).rejects.toThrow(DrillError);
    expect(fs.existsSync(missing)).toBe(false);
  });
});

describe('backupDatabase / restoreDatabase', () => {
  it('round-trips: the restored database equals the pre-fault snapshot', async () => {
    const { dbPath } = seededEnv(path.join(root, 'rt'), 1500);
    addWrites(dbPath, 42);
    const snapshot = await snapshotTables(dbPath);
    const backupDir = path.join(root, 'rt', 'backups');
    const info = await backupDatabase(dbPath, backupDir);

    expect(path.dirname(info.file)).toBe(backupDir);
    expect(fs.statSync(info.file).size).toBe(info.bytes);
    expect(Date.parse(info.at)).not.toBeNaN();
    expect(info.lastWriteSeq).toBe(42);
    expect(info.tables.transactions).toEqual(snapshot.transactions);
    expect(info.tables[WRITES_TABLE].rows).toBe(42);
    expect(fs.readdirSync(backupDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    // Ruin the live database, then restore.
    fs.writeFileSync(dbPath, 'not a database any more');
    fs.writeFileSync(`${dbPath}-journal`, 'stale journal');
    const restored = await restoreDatabase(info.file, dbPath);
    expect(restored.bytes).toBe(info.bytes);
    expect(restored.ms).toBeGreaterThan(0);
    expect(Date.parse(restored.restoredAt)).not.toBeNaN();
    expect(fs.existsSync(`${dbPath}-journal`)).toBe(false);
    expect(fs.readdirSync(path.dirname(dbPath)).filter((f) => f.includes('.restore-'))).toEqual([]);
    expect(await snapshotTables(dbPath)).toEqual(snapshot);
    expect((await snapshotTables(dbPath, [WRITES_TABLE]))[WRITES_TABLE]).toEqual(info.tables[WRITES_TABLE]);
  });

  it('reports lastWriteSeq null without drill writes, and latestBackup finds the newest', async () => {
    const { dbPath } = seededEnv(path.join(root, 'latest'), 100);
    const backupDir = path.join(root, 'latest', 'backups');
    expect(latestBackup(backupDir)).toBeNull();
    const first = await backupDatabase(dbPath, backupDir);
    expect(first.lastWriteSeq).toBeNull();
    addWrites(dbPath, 5);
    const second = await backupDatabase(dbPath, backupDir);
    expect(second.lastWriteSeq).toBe(5);
    expect(listBackups(backupDir).map((b) => b.file)).toEqual([first.file, second.file]);
    expect(latestBackup(backupDir)).toEqual(second);
    fs.rmSync(second.file);
    expect(latestBackup(backupDir)?.file).toBe(first.file); // a backup whose file is gone is not offered
  });

  it('restore refuses a file that is not an SQLite database and leaves the target alone', async () => {
    const { dbPath } = seededEnv(path.join(root, 'bad'), 50);
    const before = await snapshotTables(dbPath);
    const bogus = path.join(root, 'bad', 'bogus.db');
    fs.writeFileSync(bogus, 'hello');
    await expect(restoreDatabase(bogus, dbPath)).rejects.toThrow(/not an SQLite database/);
    await expect(restoreDatabase(path.join(root, 'bad', 'missing.db'), dbPath)).rejects.toThrow(/cannot be read/);
    expect(await snapshotTables(dbPath)).toEqual(before);
  });
});

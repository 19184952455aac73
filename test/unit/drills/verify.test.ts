import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrillWriteAck } from '../../../src/domain/drill';
import { snapshotTables } from '../../../src/drills/backup';
import { verifyRecovery } from '../../../src/drills/verify';
import { WRITES_TABLE, WRITES_TABLE_DDL } from '../../../src/drills/writes-table';
import { seededEnv, tempDir } from '../../helpers/drill-env';

let root: string;
beforeAll(() => {
  root = tempDir('drill-verify');
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const at = (ms: number): string => new Date(T0 + ms).toISOString();
/** Acks 1..n, one every 100 ms from T0 + 100 ms. */
const acks = (n: number): DrillWriteAck[] =>
  Array.from({ length: n }, (_, i) => ({ seq: i + 1, at: at((i + 1) * 100) }));

function envWithWrites(name: string, seqs: number[]): string {
  const { dbPath } = seededEnv(path.join(root, name), 50);
  const db = new Database(dbPath);
  db.exec(WRITES_TABLE_DDL);
  const insert = db.prepare(`INSERT INTO ${WRITES_TABLE} VALUES (?, ?)`);
  for (const s of seqs) insert.run(s, at(s * 100));
  db.close();
  return dbPath;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('verifyRecovery', () => {
  it('counts the acknowledged writes lost before the injection and measures the window', async () => {
    // Backup held 1..10; 11..13 acknowledged before the injection at +1350 ms; 14, 15 after it, lost
    // to the restore too; 16..18 written after the restore.
    const dbPath = envWithWrites('lost', [...range(1, 10), 16, 17, 18]);
    const snapshot = await snapshotTables(dbPath);
    const result = await verifyRecovery({
      dbPath,
      snapshot,
      backup: { at: at(1050), lastWriteSeq: 10 },
      acks: acks(18),
      injectedAt: at(1350),
    });
    expect(result).toEqual({
      ok: true,
      problems: [],
      writesLost: 3,
      writesLostAfterInjection: 2,
      rpoMs: 300,
      lastAckBeforeInjection: { seq: 13, at: at(1300) },
      lastPresentAfterRecovery: { seq: 10, at: at(1000) },
      tablesChecked: ['transactions'],
    });
  });

  it('is 0 when nothing acknowledged was lost', async () => {
    const dbPath = envWithWrites('none-lost', range(1, 8));
    const result = await verifyRecovery({
      dbPath,
      snapshot: await snapshotTables(dbPath),
      acks: acks(8),
      injectedAt: at(900),
    });
    expect(result).toMatchObject({ ok: true, writesLost: 0, rpoMs: 0, lastPresentAfterRecovery: { seq: 8 } });
  });

  it('measures from the backup when no acknowledged write survived', async () => {
    const dbPath = envWithWrites('all-lost', []);
    const snapshot = await snapshotTables(dbPath);
    const result = await verifyRecovery({
      dbPath,
      snapshot,
      backup: { at: at(50), lastWriteSeq: null },
      acks: acks(4),
      injectedAt: at(450),
    });
    expect(result).toMatchObject({
      ok: true,
      writesLost: 4,
      rpoMs: 350,
      lastPresentAfterRecovery: null,
      lastAckBeforeInjection: { seq: 4 },
    });
  });

  it('fails when the data differs from the snapshot or is older than the backup', async () => {
    const dbPath = envWithWrites('differs', range(1, 3));
    const snapshot = await snapshotTables(dbPath);
    const db = new Database(dbPath);
    db.prepare('DELETE FROM transactions WHERE id = 7').run();
    db.close();
    const result = await verifyRecovery({
      dbPath,
      snapshot,
      backup: { at: at(600), lastWriteSeq: 5 },
      acks: acks(5),
      injectedAt: at(700),
    });
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      'table transactions has 49 rows, the snapshot had 50',
      expect.stringMatching(/lacks the backup's last write \(seq 5\)/),
    ]);
  });

  it('fails when the database is missing', async () => {
    const result = await verifyRecovery({
      dbPath: path.join(root, 'missing.db'),
      snapshot: { transactions: { rows: 1, checksum: 'x' } },
      acks: acks(2),
      injectedAt: at(1000),
    });
    expect(result).toMatchObject({ ok: false, writesLost: 2, problems: [expect.stringMatching(/is missing/)] });
  });
});

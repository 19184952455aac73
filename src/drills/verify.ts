// Verifying a recovery: the data matches the pre-fault snapshot, and the acknowledged writes lost
// (from the writer's log, which outlived the database) give the measured recovery point.

import fs from 'node:fs';
import type { DrillBackupSummary, DrillVerification, DrillWriteAck, TableFingerprints } from '../domain/drill';
import { openExisting } from './backup';
import { compareFingerprints, fingerprintTables } from './fingerprint';
import { hasTable, WRITES_TABLE, writeSeqs } from './writes-table';

export type VerifyResult = DrillVerification;

export interface VerifyInput {
  dbPath: string;
  /** The pre-fault snapshot (snapshotTables): every table in it must be back, equal. */
  snapshot: TableFingerprints;
  /** The backup recovery restored, if any: the recovered database must hold at least its writes. */
  backup?: Pick<DrillBackupSummary, 'at' | 'lastWriteSeq'> | null;
  /** The writer's acknowledged writes (readAcks). */
  acks: DrillWriteAck[];
  /** When the fault was injected: writes acknowledged up to then count toward the RPO. */
  injectedAt: string;
}

const ms = (iso: string): number => Date.parse(iso);

export async function verifyRecovery(input: VerifyInput): Promise<VerifyResult> {
  const problems: string[] = [];
  const tablesChecked = Object.keys(input.snapshot).filter((t) => t !== WRITES_TABLE);
  let present = new Set<number>();
  if (!fs.existsSync(input.dbPath)) {
    problems.push(`database file ${input.dbPath} is missing`);
  } else {
    try {
      const db = openExisting(input.dbPath);
      try {
        const check = db.pragma('integrity_check', { simple: true });
        if (check !== 'ok') problems.push(`database integrity_check: ${String(check)}`);
        const expected = Object.fromEntries(tablesChecked.map((t) => [t, input.snapshot[t]]));
        problems.push(...compareFingerprints(expected, fingerprintTables(db, { tables: tablesChecked })));
        if (input.acks.length > 0 && !hasTable(db, WRITES_TABLE)) problems.push(`table ${WRITES_TABLE} is missing`);
        present = writeSeqs(db);
      } finally {
        db.close();
      }
    } catch (err) {
      problems.push(`database ${input.dbPath} cannot be read: ${(err as Error).message}`);
    }
  }

  const loss = measureLoss(present, { ...input, problems });
  return { ok: problems.length === 0, problems, ...loss, tablesChecked };
}

/**
 * The writes lost by a recovery and the measured RPO, from the seqs `present` in the recovered
 * database and the writer's acknowledgements (SQLite and PostgreSQL drills alike). Adds a problem
 * when the recovered database is older than the backup it was restored from.
 */
export function measureLoss(
  present: Set<number>,
  input: Pick<VerifyInput, 'acks' | 'injectedAt' | 'backup'> & { problems: string[] },
): Omit<DrillVerification, 'ok' | 'problems' | 'tablesChecked'> {
  const problems = input.problems;
  const injected = ms(input.injectedAt);
  const before = input.acks.filter((a) => ms(a.at) <= injected).sort((a, b) => a.seq - b.seq);
  const after = input.acks.filter((a) => ms(a.at) > injected);
  const lost = before.filter((a) => !present.has(a.seq));
  const lastAckBeforeInjection = before.at(-1) ?? null;
  let lastPresentAfterRecovery: DrillWriteAck | null = null;
  for (const a of before) if (present.has(a.seq)) lastPresentAfterRecovery = a;

  let rpoMs = 0;
  if (lost.length > 0) {
    // The recovery point: the last write still present before the first lost one. With none
    // present, the data is as of the backup (or, without one, just before the first lost write).
    const firstLost = lost[0];
    let recoveryPoint: number;
    const presentBefore = before.filter((a) => a.seq < firstLost.seq && present.has(a.seq)).at(-1);
    if (presentBefore) recoveryPoint = ms(presentBefore.at);
    else if (input.backup) recoveryPoint = Math.min(ms(input.backup.at), ms(firstLost.at));
    else recoveryPoint = ms(firstLost.at);
    rpoMs = Math.max(0, ms(lost.at(-1)!.at) - recoveryPoint);
  }

  const backupSeq = input.backup?.lastWriteSeq;
  if (backupSeq != null && !present.has(backupSeq)) {
    problems.push(
      `the recovered database lacks the backup's last write (seq ${backupSeq}): it is older than the backup`,
    );
  }

  return {
    writesLost: lost.length,
    writesLostAfterInjection: after.filter((a) => !present.has(a.seq)).length,
    rpoMs,
    lastAckBeforeInjection,
    lastPresentAfterRecovery,
  };
}

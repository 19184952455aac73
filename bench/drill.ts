// `npm run bench -- drill [--rows N] [--rounds N]`
//
// 1. Restore throughput: restoreDatabase (copy beside, fsync, rename) against the raw ways to put
//    a backup file back, on the same backup of a 200k-row transactions database, in alternating
//    rounds in one process: fs.copyFileSync over the target, and SQLite's own backup API
//    (db.backup() of the backup file into a fresh file). Target: ≥ 0.9× the raw copy.
// 2. Drill overhead: a full library drill sequence (snapshot + backup + inject table-dropped +
//    restore + verify) against the raw restore alone.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { seedTransactions } from '../src/data/transactions';
import { backupDatabase, snapshotTables } from '../src/drills/backup';
import { restoreDatabase } from '../src/drills/restore';
import { injectFault } from '../src/drills/scenarios';
import { verifyRecovery } from '../src/drills/verify';
import { flag, median, table } from './support';

async function timed(fn: () => unknown): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function rawCopy(backupFile: string, target: string, sync = false): void {
  fs.copyFileSync(backupFile, target);
  if (!sync) return;
  const fd = fs.openSync(target, 'r+');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
}

async function rawBackupApi(backupFile: string, target: string): Promise<void> {
  fs.rmSync(target, { force: true });
  const db = new Database(backupFile, { readonly: true, fileMustExist: true });
  try {
    await db.backup(target, { progress: () => 0x7fffffff });
  } finally {
    db.close();
  }
}

const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
const fmt = (ms: number): string => ms.toFixed(1);

export async function run(args: string[]): Promise<void> {
  const rows = flag(args, 'rows', 200_000);
  const rounds = flag(args, 'rounds', 15);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-drill-'));
  try {
    const dbPath = path.join(dir, 'env', 'data.db');
    const t = Date.now();
    seedTransactions(dbPath, { rows, seed: 1 });
    const backup = await backupDatabase(dbPath, path.join(dir, 'backups'));
    console.log(
      `drill bench: ${rows} rows, backup ${mb(backup.bytes)} MB (seeded and backed up in ${Date.now() - t} ms), ${rounds} rounds, node ${process.version}, ${os.cpus().length} CPUs`,
    );

    // 1. Restore throughput, alternating the order each round so no arm always runs first.
    const target = (name: string): string => path.join(dir, name, 'data.db');
    const arms = {
      rawCopy: { label: 'raw fs.copyFileSync (baseline)', run: async () => rawCopy(backup.file, target('rawCopy')) },
      rawCopySync: {
        label: 'raw fs.copyFileSync + fsync',
        run: async () => rawCopy(backup.file, target('rawCopySync'), true),
      },
      rawApi: { label: 'raw SQLite backup API, fresh file', run: () => rawBackupApi(backup.file, target('rawApi')) },
      lib: { label: 'restoreDatabase (default, durable)', run: () => restoreDatabase(backup.file, target('lib')) },
      libFast: {
        label: 'restoreDatabase {durable: false}',
        run: () => restoreDatabase(backup.file, target('libFast'), { durable: false }),
      },
    };
    type Arm = keyof typeof arms;
    const names = Object.keys(arms) as Arm[];
    const times = Object.fromEntries(names.map((k) => [k, [] as number[]])) as Record<Arm, number[]>;
    for (const k of names) fs.mkdirSync(path.join(dir, k), { recursive: true });
    for (const k of names) await arms[k].run(); // warm-up; creates every target
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...names].reverse() : names;
      for (const k of order) times[k].push(await timed(arms[k].run));
    }
    const restored = await snapshotTables(target('lib'));
    if (restored.transactions?.checksum !== backup.tables.transactions.checksum)
      throw new Error('restored copy differs from the backup');

    const med = Object.fromEntries(names.map((k) => [k, median(times[k])])) as Record<Arm, number>;
    const thr = (ms: number): string => (backup.bytes / 1024 / 1024 / (ms / 1000)).toFixed(0);
    const vs = (base: number, ms: number): string => `${(base / ms).toFixed(2)}×`;
    console.log('\nrestore throughput (median of rounds; ratio = throughput / baseline throughput)');
    console.log(
      table([
        ['restore', 'median ms', 'MB/s', 'vs raw copy', 'vs raw copy+fsync'],
        ...names.map((k) => [
          arms[k].label,
          fmt(med[k]),
          thr(med[k]),
          vs(med.rawCopy, med[k]),
          vs(med.rawCopySync, med[k]),
        ]),
      ]),
    );
    const verdict = (x: number): string => `${x.toFixed(2)}× (${x >= 0.9 ? 'meets' : 'misses'} ≥ 0.9×)`;
    console.log(
      `restoreDatabase, durable, vs the equally durable raw copy+fsync: ${verdict(med.rawCopySync / med.lib)}`,
    );
    console.log(
      `restoreDatabase {durable: false} vs the raw copy:               ${verdict(med.rawCopy / med.libFast)}`,
    );
    console.log(`restoreDatabase, durable, vs the plain raw copy:                ${verdict(med.rawCopy / med.lib)}`);
    console.log(`restoreDatabase, durable, vs the raw SQLite backup API:         ${verdict(med.rawApi / med.lib)}`);

    // 2. A full drill sequence against the raw restore alone.
    const drillRounds = Math.max(3, Math.ceil(rounds / 2));
    const steps = {
      snapshot: [] as number[],
      backup: [] as number[],
      inject: [] as number[],
      restore: [] as number[],
      verify: [] as number[],
      total: [] as number[],
      raw: [] as number[],
    };
    const live = path.join(dir, 'drill', 'data.db');
    for (let r = 0; r < drillRounds; r++) {
      fs.mkdirSync(path.dirname(live), { recursive: true });
      fs.copyFileSync(dbPath, live);
      const start = process.hrtime.bigint();
      let snapshot: Awaited<ReturnType<typeof snapshotTables>> = {};
      let b: Awaited<ReturnType<typeof backupDatabase>> | null = null;
      let injectedAt = '';
      steps.snapshot.push(await timed(async () => (snapshot = await snapshotTables(live))));
      steps.backup.push(await timed(async () => (b = await backupDatabase(live, path.join(dir, 'drill', 'backups')))));
      steps.inject.push(
        await timed(
          async () => (injectedAt = (await injectFault('table-dropped', { dbPath: live, pid: null })).injectedAt),
        ),
      );
      steps.restore.push(await timed(() => restoreDatabase(b!.file, live)));
      let ok = false;
      steps.verify.push(
        await timed(
          async () => (ok = (await verifyRecovery({ dbPath: live, snapshot, backup: b, acks: [], injectedAt })).ok),
        ),
      );
      steps.total.push(Number(process.hrtime.bigint() - start) / 1e6);
      if (!ok) throw new Error('drill verification failed');
      steps.raw.push(await timed(() => rawCopy(b!.file, target('rawCopy'))));
      fs.rmSync(b!.file);
    }
    const m = Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, median(v)])) as Record<
      keyof typeof steps,
      number
    >;
    console.log(`\nfull drill sequence (median of ${drillRounds} rounds)`);
    console.log(
      table([
        ['step', 'median ms'],
        ['snapshotTables (pre-fault fingerprints)', fmt(m.snapshot)],
        ['backupDatabase (online backup + fingerprints)', fmt(m.backup)],
        ['injectFault table-dropped', fmt(m.inject)],
        ['restoreDatabase', fmt(m.restore)],
        ['verifyRecovery (integrity_check + fingerprints)', fmt(m.verify)],
        ['drill total', fmt(m.total)],
        ['raw restore (fs.copyFileSync)', fmt(m.raw)],
      ]),
    );
    console.log(
      `drill overhead over the raw restore: +${fmt(m.total - m.raw)} ms (${(m.total / m.raw).toFixed(1)}× the raw restore)`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// `npm run bench -- drill [--rows N] [--rounds N]`
//
// Baseline: what a user would otherwise do to put a backup file back with the same durability —
// copy it over the database (fs.copyFileSync, i.e. copy_file_range) and fsync the copy.
//
// 1. Restore throughput: restoreDatabase (durable: copy beside, fsync, rename, fsync directory)
//    against that baseline on the same backup of a 200k-row transactions database, in alternating
//    rounds in one process; medians with min and max, and the median of the per-round ratios.
//    Target: ≥ 0.9×. Shown beside them, not as baselines: a plain copy with no fsync, the restore
//    with {durable: false}, and SQLite's backup API into a fresh file.
// 2. Drill overhead: a full library drill sequence (snapshot + backup + inject table-dropped +
//    restore + verify) against the baseline restore alone.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { seedTransactions } from '../src/data/transactions';
import { backupDatabase, snapshotTables } from '../src/drills/backup';
import { restoreDatabase } from '../src/drills/restore';
import { injectFault } from '../src/drills/scenarios';
import { verifyRecovery } from '../src/drills/verify';
import { flag, ratios, roundsFlag, spread, spreadCells, spreadText, table, times } from './support';

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
  const rounds = roundsFlag(args, 15);
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
      rawCopySync: {
        label: 'copy + fsync (baseline)',
        run: async () => rawCopy(backup.file, target('rawCopySync'), true),
      },
      lib: { label: 'restoreDatabase (default, durable)', run: () => restoreDatabase(backup.file, target('lib')) },
      rawCopy: {
        label: 'plain copy, no fsync (not durable)',
        run: async () => rawCopy(backup.file, target('rawCopy')),
      },
      libFast: {
        label: 'restoreDatabase {durable: false}',
        run: () => restoreDatabase(backup.file, target('libFast'), { durable: false }),
      },
      rawApi: { label: 'SQLite backup API, fresh file', run: () => rawBackupApi(backup.file, target('rawApi')) },
    };
    type Arm = keyof typeof arms;
    const names = Object.keys(arms) as Arm[];
    const ms = Object.fromEntries(names.map((k) => [k, [] as number[]])) as Record<Arm, number[]>;
    for (const k of names) fs.mkdirSync(path.join(dir, k), { recursive: true });
    for (const k of names) await arms[k].run(); // warm-up; creates every target
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...names].reverse() : names;
      for (const k of order) ms[k].push(await timed(arms[k].run));
    }
    const restored = await snapshotTables(target('lib'));
    if (restored.transactions?.checksum !== backup.tables.transactions.checksum)
      throw new Error('restored copy differs from the backup');

    const base = ms.rawCopySync;
    const thr = (ms: number): string => (backup.bytes / 1024 / 1024 / (ms / 1000)).toFixed(0);
    console.log(
      `\nrestore of the same ${mb(backup.bytes)} MB backup (${rounds} rounds; ms; vs baseline = baseline ms / arm ms, per round, median)`,
    );
    console.log(
      table([
        ['restore', 'median ms', 'min', 'max', 'MB/s', 'vs baseline'],
        ...names.map((k) => [
          arms[k].label,
          ...spreadCells(ms[k], fmt),
          thr(spread(ms[k]).median),
          times(spread(ratios(base, ms[k])).median),
        ]),
      ]),
    );
    const perRound = ratios(base, ms.lib);
    const ofMedians = spread(base).median / spread(ms.lib).median;
    const met = spread(perRound).median >= 0.9;
    console.log(
      `restoreDatabase (durable) vs copy + fsync: ${spreadText(perRound, times)} per round; ${times(ofMedians)} of the medians (target ≥ 0.9×: ${met ? 'meets' : 'misses'})`,
    );

    // 2. A full drill sequence against the raw restore alone.
    const drillRounds = Math.max(5, Math.ceil(rounds / 2));
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
      steps.raw.push(await timed(() => rawCopy(b!.file, target('rawCopySync'), true)));
      fs.rmSync(b!.file);
    }
    const m = Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, spread(v).median])) as Record<
      keyof typeof steps,
      number
    >;
    console.log(`\nfull drill sequence (${drillRounds} rounds, ms)`);
    const step = (label: string, k: keyof typeof steps) => [label, ...spreadCells(steps[k], fmt)];
    console.log(
      table([
        ['step', 'median', 'min', 'max'],
        step('snapshotTables (pre-fault fingerprints)', 'snapshot'),
        step('backupDatabase (online backup + fingerprints)', 'backup'),
        step('injectFault table-dropped', 'inject'),
        step('restoreDatabase', 'restore'),
        step('verifyRecovery (integrity_check + fingerprints)', 'verify'),
        step('drill total', 'total'),
        step('baseline restore (copy + fsync)', 'raw'),
      ]),
    );
    console.log(
      `drill overhead over the baseline restore: +${fmt(m.total - m.raw)} ms (${(m.total / m.raw).toFixed(1)}× the baseline restore)`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

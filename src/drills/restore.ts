// Restoring a backup over an environment's database: copy beside it, then rename over it, so the
// database path holds either the old file or the complete backup, never half of one.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fsyncDirectory } from '../tools/files';
import { DrillError } from './errors';

export interface RestoreResult {
  restoredAt: string;
  bytes: number;
  ms: number;
}

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/** The files SQLite keeps beside a database; stale ones would be applied to the restored file. */
export const SIDE_FILES = ['-wal', '-shm', '-journal'] as const;

function assertSqliteFile(file: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new DrillError(`backup ${file} cannot be read: ${(err as Error).message}`);
  }
  try {
    const head = Buffer.alloc(SQLITE_HEADER.length);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    if (n < head.length || !head.equals(SQLITE_HEADER))
      throw new DrillError(`backup ${file} is not an SQLite database`);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Replaces `dbPath` with a copy of `backupFile`. Stale -wal/-shm/-journal files are removed first:
 * SQLite would otherwise replay them into the restored database. Processes that still have the
 * old file open keep the old (now unlinked) file until they reopen; the drill writer does so by
 * itself. With `durable` (the default) the copy is fsynced before the rename and the directory
 * after it, so a machine crash right after the restore cannot leave a truncated database behind;
 * `durable: false` skips both (faster, see `npm run bench -- drill`; for throwaway copies only).
 *
 * The copy is the kernel's (`copy_file_range`, or a reflink where the file system shares blocks):
 * no byte passes through this process. The one fsync of the file is what a plain copy + fsync
 * costs; the rename's directory fsync is the price of atomicity (measured in the drill bench).
 */
export async function restoreDatabase(
  backupFile: string,
  dbPath: string,
  opts: { durable?: boolean } = {},
): Promise<RestoreResult> {
  const durable = opts.durable ?? true;
  const started = process.hrtime.bigint();
  assertSqliteFile(backupFile);
  const target = path.resolve(dbPath);
  const dir = path.dirname(target);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${target}.restore-${process.pid}-${randomBytes(3).toString('hex')}.tmp`;
  let bytes: number;
  try {
    // EXCL: the temporary name is ours alone; FICLONE: share blocks where the file system can
    // (falls back to copy_file_range elsewhere).
    fs.copyFileSync(backupFile, tmp, fs.constants.COPYFILE_EXCL | fs.constants.COPYFILE_FICLONE);
    const fd = fs.openSync(tmp, 'r+');
    try {
      if (durable) fs.fsyncSync(fd);
      bytes = fs.fstatSync(fd).size;
    } finally {
      fs.closeSync(fd);
    }
    for (const suffix of SIDE_FILES) fs.rmSync(`${target}${suffix}`, { force: true });
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new DrillError(`restore of ${backupFile} over ${target} failed: ${(err as Error).message}`);
  }
  if (durable) fsyncDirectory(dir);
  const restoredAt = new Date().toISOString();
  return { restoredAt, bytes, ms: Number(process.hrtime.bigint() - started) / 1e6 };
}

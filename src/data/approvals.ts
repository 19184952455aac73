// The dataset approval registry: which dataset digests people have approved for seeding, who did,
// when and why. `strata data approve FILE` adds an entry; the seed step refuses a source whose
// digest has no live entry before a single row moves. Kept in $STRATA_HOME/data/approvals.db
// (SQLite, WAL): append-only — a revocation is a new row, so the registry is its own audit log.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError } from '../validation/errors';

export interface DatasetApproval {
  digest: string;
  /** The file as it was approved (absolute path); the digest, not the path, is what counts. */
  file: string;
  bytes: number;
  actor: string;
  reason: string;
  at: string;
  /** Set when the approval was revoked. */
  revoked?: { actor: string; reason: string; at: string };
}

/** sha256 over the file's bytes, streamed (datasets may be large). */
export async function fileDigest(file: string): Promise<{ digest: string; bytes: number }> {
  const absolute = path.resolve(file);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(absolute);
  } catch {
    throw new ConfigError(absolute, [{ path: '', message: 'dataset file not found' }]);
  }
  if (!stat.isFile())
    throw new ConfigError(absolute, [
      { path: '', message: 'expected a dataset file (CSV, SQLite or a profile JSON), got a directory' },
    ]);
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of fs.createReadStream(absolute)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { digest: hash.digest('hex'), bytes };
}

export function approvalsPath(home: string): string {
  return path.join(home, 'data', 'approvals.db');
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS approvals (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  digest TEXT NOT NULL,
  action TEXT NOT NULL CHECK (action IN ('approve', 'revoke')),
  file TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT NOT NULL,
  at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS approvals_digest ON approvals (digest, seq);
`;

interface Row {
  digest: string;
  action: 'approve' | 'revoke';
  file: string;
  bytes: number;
  actor: string;
  reason: string;
  at: string;
}

export class ApprovalRegistry {
  readonly file: string;

  constructor(home: string) {
    this.file = approvalsPath(home);
  }

  private open(write: boolean): Database.Database | undefined {
    if (!write && !fs.existsSync(this.file)) return undefined;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const db = new Database(this.file, { readonly: !write, fileMustExist: !write });
    db.pragma('busy_timeout = 5000');
    if (write) {
      db.pragma('journal_mode = WAL');
      db.exec(SCHEMA);
    }
    return db;
  }

  /** Approves the file's current content. Approving an already approved digest adds nothing. */
  async approve(
    file: string,
    actor: string,
    reason: string,
    now = new Date(),
  ): Promise<{ approval: DatasetApproval; added: boolean }> {
    const { digest, bytes } = await fileDigest(file);
    const current = this.lookup(digest);
    if (current && !current.revoked) return { approval: current, added: false };
    const row: Row = {
      digest,
      action: 'approve',
      file: path.resolve(file),
      bytes,
      actor,
      reason,
      at: now.toISOString(),
    };
    this.append(row);
    return { approval: this.lookup(digest)!, added: true };
  }

  /** Revokes the approval of the file's current content (or of a digest given as hex). */
  async revoke(fileOrDigest: string, actor: string, reason: string, now = new Date()): Promise<DatasetApproval> {
    const digest = /^[0-9a-f]{64}$/.test(fileOrDigest) ? fileOrDigest : (await fileDigest(fileOrDigest)).digest;
    const current = this.lookup(digest);
    if (!current || current.revoked) {
      throw new ConfigError(fileOrDigest, [
        {
          path: '',
          message: `no live approval for sha256 ${digest.slice(0, 12)}; \`strata data approvals\` lists them`,
        },
      ]);
    }
    this.append({
      digest,
      action: 'revoke',
      file: current.file,
      bytes: current.bytes,
      actor,
      reason,
      at: now.toISOString(),
    });
    return this.lookup(digest)!;
  }

  private append(row: Row): void {
    const db = this.open(true)!;
    try {
      db.prepare(
        'INSERT INTO approvals (digest, action, file, bytes, actor, reason, at) VALUES (@digest, @action, @file, @bytes, @actor, @reason, @at)',
      ).run(row);
    } finally {
      db.close();
    }
  }

  /** The latest approval of `digest`, with its revocation if one followed it. */
  lookup(digest: string): DatasetApproval | undefined {
    const db = this.open(false);
    if (!db) return undefined;
    try {
      const rows = db
        .prepare('SELECT digest, action, file, bytes, actor, reason, at FROM approvals WHERE digest = ? ORDER BY seq')
        .all(digest) as Row[];
      return fold(rows).get(digest);
    } finally {
      db.close();
    }
  }

  /** Every digest ever approved, newest first. */
  list(): DatasetApproval[] {
    const db = this.open(false);
    if (!db) return [];
    try {
      const rows = db
        .prepare('SELECT digest, action, file, bytes, actor, reason, at FROM approvals ORDER BY seq')
        .all() as Row[];
      return [...fold(rows).values()].sort((a, b) => b.at.localeCompare(a.at));
    } finally {
      db.close();
    }
  }
}

function fold(rows: Row[]): Map<string, DatasetApproval> {
  const byDigest = new Map<string, DatasetApproval>();
  for (const r of rows) {
    if (r.action === 'approve') {
      byDigest.set(r.digest, {
        digest: r.digest,
        file: r.file,
        bytes: r.bytes,
        actor: r.actor,
        reason: r.reason,
        at: r.at,
      });
    } else {
      const current = byDigest.get(r.digest);
      if (current) current.revoked = { actor: r.actor, reason: r.reason, at: r.at };
    }
  }
  return byDigest;
}

// The API server's own state under $STRATA_HOME/api.db: API tokens (only their hashes) and the
// append-only log of refused requests.

import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DURATION_HINT, parseDuration } from '../domain/duration';
import { type Role } from './roles';
import { TokenStoreError } from './store-error';

export const API_DB = 'api.db';
const TOKEN_PREFIX = 'strata_';

export interface TokenRecord {
  name: string;
  role: Role;
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

export interface Refusal {
  at: string;
  /** `<issuer>#<subject>` of the verified identity, or `anonymous` when none was verified. */
  actor: string;
  /** How the actor was verified (`token ci-bot`), or why not (`no credentials`). */
  auth: string;
  method: string;
  route: string;
  /**
   * 401 no valid credential, 403 wrong role, 405 a write through the read-only Temporal Web UI,
   * 409 the engine refused (the workflow's reason).
   */
  status: 401 | 403 | 405 | 409;
  reason: string;
  remote: string;
}

export { TokenStoreError };

/**
 * A token's hash. Tokens are 32 random bytes, so a fast hash is enough: nobody brute-forces 256
 * bits, and the database never holds anything that works as a credential.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A fresh token: `strata_` and 32 random bytes, base64url. */
export function generateToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** When a token created now with `--expires <text>` expires. */
export function expiryOf(text: string, now = new Date()): Date {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new TokenStoreError(`--expires: expected ${DURATION_HINT} (got "${text}")`);
  return new Date(now.getTime() + ms);
}

export function apiDbPath(home: string): string {
  return path.join(home, API_DB);
}

export class ApiStore {
  private readonly db: Database.Database;

  constructor(home: string) {
    fs.mkdirSync(home, { recursive: true });
    this.db = new Database(apiDbPath(home));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS tokens (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        expires_at TEXT,
        revoked_at TEXT
      );
      CREATE TABLE IF NOT EXISTS refusals (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL, actor TEXT NOT NULL, auth TEXT NOT NULL, method TEXT NOT NULL,
        route TEXT NOT NULL, status INTEGER NOT NULL, reason TEXT NOT NULL, remote TEXT NOT NULL
      );
      -- Append-only: a refusal, once written, stays.
      CREATE TRIGGER IF NOT EXISTS refusals_no_update BEFORE UPDATE ON refusals
        BEGIN SELECT RAISE(ABORT, 'the refusal log is append-only'); END;
      CREATE TRIGGER IF NOT EXISTS refusals_no_delete BEFORE DELETE ON refusals
        BEGIN SELECT RAISE(ABORT, 'the refusal log is append-only'); END;
    `);
    fs.chmodSync(apiDbPath(home), 0o600);
  }

  close(): void {
    this.db.close();
  }

  /** Creates token `name` with `role`; returns the token itself, which is stored nowhere. */
  createToken(args: { name: string; role: Role; createdBy: string; expiresAt?: Date; now?: Date }): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(args.name)) {
      throw new TokenStoreError(`--name: expected letters, digits, ".", "_" or "-" (got "${args.name}")`);
    }
    const existing = this.db.prepare('SELECT revoked_at FROM tokens WHERE name = ?').get(args.name) as
      { revoked_at: string | null } | undefined;
    if (existing) {
      throw new TokenStoreError(
        existing.revoked_at
          ? `token "${args.name}" was revoked; names are not reused, choose another --name`
          : `a token named "${args.name}" exists already (strata token revoke ${args.name} first)`,
      );
    }
    const token = generateToken();
    this.db
      .prepare('INSERT INTO tokens (name, role, hash, created_at, created_by, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(
        args.name,
        args.role,
        hashToken(token),
        (args.now ?? new Date()).toISOString(),
        args.createdBy,
        args.expiresAt?.toISOString() ?? null,
      );
    return token;
  }

  listTokens(): TokenRecord[] {
    const rows = this.db.prepare('SELECT * FROM tokens ORDER BY created_at, name').all() as TokenRow[];
    return rows.map(toRecord);
  }

  /** Revokes token `name`; false when there is no such live token. */
  revokeToken(name: string, now = new Date()): boolean {
    const result = this.db
      .prepare('UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL')
      .run(now.toISOString(), name);
    return result.changes > 0;
  }

  /** The live (not revoked, not expired) token `token` is, or undefined. */
  findToken(token: string, now = new Date()): TokenRecord | undefined {
    if (!token.startsWith(TOKEN_PREFIX)) return undefined;
    const found = this.listTokenByHash(hashToken(token));
    if (!found || found.revokedAt) return undefined;
    if (found.expiresAt && Date.parse(found.expiresAt) <= now.getTime()) return undefined;
    return found;
  }

  private listTokenByHash(hash: string): TokenRecord | undefined {
    const row = this.db.prepare('SELECT * FROM tokens WHERE hash = ?').get(hash) as TokenRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  hasLiveTokens(now = new Date()): boolean {
    return this.listTokens().some((t) => !t.revokedAt && (!t.expiresAt || Date.parse(t.expiresAt) > now.getTime()));
  }

  recordRefusal(refusal: Refusal): void {
    this.db
      .prepare(
        'INSERT INTO refusals (at, actor, auth, method, route, status, reason, remote) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        refusal.at,
        refusal.actor,
        refusal.auth,
        refusal.method,
        refusal.route,
        refusal.status,
        refusal.reason,
        refusal.remote,
      );
  }

  refusals(limit = 1000): Refusal[] {
    return this.db
      .prepare('SELECT at, actor, auth, method, route, status, reason, remote FROM refusals ORDER BY seq DESC LIMIT ?')
      .all(limit) as Refusal[];
  }
}

type TokenRow = Record<'name' | 'role' | 'created_at' | 'created_by', string> &
  Record<'expires_at' | 'revoked_at', string | null>;

function toRecord(r: TokenRow): TokenRecord {
  return {
    name: r.name,
    role: r.role as Role,
    createdAt: r.created_at,
    createdBy: r.created_by,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
  };
}

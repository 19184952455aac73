// The postgres provider's configuration and naming, without a server: the ladder's `provider:`
// (a password in the ladder is refused, naming the field), where the admin URL comes from, the
// names derived for an environment, and the SCRAM verifiers sent instead of passwords.

import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLadder } from '../../../src/config/ladder';
import {
  connectionUrl,
  databaseNames,
  type DatabaseCredentials,
  redactedUrl,
  resolveAdminUrl,
  scramVerifier,
} from '../../../src/providers/postgres';
import { ConfigError } from '../../../src/validation/errors';

function ladderWith(provider: string): string {
  return `
name: pg
layers:
  - name: sandbox
    seed: { rows: 10, seed: 1 }
    gates: []
    approval: auto
  - name: mirror
    seed: { rows: 10, seed: 1 }
    gates: []
    approval: auto
    provider: ${provider}
`;
}

function issuesOf(text: string): string[] {
  try {
    parseLadder(text, '/tmp/ladders/pg.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected a ConfigError');
}

describe('provider: in the ladder', () => {
  it('takes a postgres provider per layer, with env: and file: references (file: relative to the ladder)', () => {
    const fromEnv = parseLadder(ladderWith('{ type: postgres, url: "env:STRATA_POSTGRES_URL" }'), 'l.yaml');
    expect(fromEnv.layers[0].provider).toBeUndefined();
    expect(fromEnv.layers[1].provider).toEqual({ type: 'postgres', url: 'env:STRATA_POSTGRES_URL' });
    const fromFile = parseLadder(ladderWith('{ type: postgres, url: "file:secrets/pg.url" }'), '/tmp/ladders/pg.yaml');
    expect(fromFile.layers[1].provider).toEqual({ type: 'postgres', url: 'file:/tmp/ladders/secrets/pg.url' });
    const local = parseLadder(ladderWith('{ type: local }'), 'l.yaml');
    expect(local.layers[1].provider).toEqual({ type: 'local' });
    const noPassword = parseLadder(
      ladderWith('{ type: postgres, url: "postgres://strata@db:5432/postgres" }'),
      'l.yaml',
    );
    expect(noPassword.layers[1].provider).toEqual({ type: 'postgres', url: 'postgres://strata@db:5432/postgres' });
  });

  it('refuses a URL with a password in the ladder, naming the field and never echoing the password', () => {
    const issues = issuesOf(ladderWith('{ type: postgres, url: "postgres://admin:hunter2@db:5432/postgres" }'));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^layers\[1\]\.provider\.url: the URL holds a password/);
    expect(issues[0]).toContain('env:STRATA_POSTGRES_URL');
    expect(issues[0]).not.toContain('hunter2');
    const inQuery = issuesOf(ladderWith('{ type: postgres, url: "postgres://admin@db/postgres?password=hunter2" }'));
    expect(inQuery[0]).toMatch(/^layers\[1\]\.provider\.url: the URL holds a password/);
  });

  it('refuses unknown provider types, bad references and other URL schemes', () => {
    expect(issuesOf(ladderWith('{ type: kubernetes }'))[0]).toMatch(/^layers\[1\]\.provider/);
    expect(issuesOf(ladderWith('{ type: postgres }'))[0]).toMatch(/^layers\[1\]\.provider\.url/);
    expect(issuesOf(ladderWith('{ type: postgres, url: "env:not a name" }'))[0]).toMatch(
      /^layers\[1\]\.provider\.url: expected env:NAME/,
    );
    expect(issuesOf(ladderWith('{ type: postgres, url: "mysql://db/x" }'))[0]).toMatch(/got a mysql: URL/);
    expect(issuesOf(ladderWith('{ type: postgres, url: "x", extra: 1 }')).join('\n')).toMatch(/extra/);
  });
});

describe('resolveAdminUrl', () => {
  it('reads env: and file: references on the worker, and says which reference is missing (not its value)', () => {
    expect(resolveAdminUrl('env:PG_ADMIN', { PG_ADMIN: 'postgres://a:b@h:5/p' })).toBe('postgres://a:b@h:5/p');
    expect(() => resolveAdminUrl('env:PG_ADMIN', {})).toThrow(/no environment variable PG_ADMIN/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-pgurl-'));
    try {
      fs.writeFileSync(path.join(dir, 'url'), 'postgres://a:secret@h:5/p\n');
      expect(resolveAdminUrl(`file:${path.join(dir, 'url')}`)).toBe('postgres://a:secret@h:5/p');
      expect(() => resolveAdminUrl(`file:${path.join(dir, 'missing')}`)).toThrow(/cannot read .*missing \(ENOENT\)/);
      fs.writeFileSync(path.join(dir, 'bad'), 'mysql://a:secret@h/p\n');
      let message = '';
      try {
        resolveAdminUrl(`file:${path.join(dir, 'bad')}`);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/does not hold a postgres:\/\/ URL/);
      expect(message).not.toContain('secret');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('names and credentials', () => {
  it('derives the same names for the same home and layer, different ones for another home, within 63 bytes', () => {
    const a = databaseNames('/srv/strata/envs', 'mirror');
    expect(databaseNames('/srv/strata/envs', 'mirror')).toEqual(a);
    expect(a.database).toMatch(/^strata_[0-9a-f]{8}_mirror$/);
    expect(a.logins).toEqual({ a: `${a.database}_a`, b: `${a.database}_b` });
    expect(databaseNames('/other/envs', 'mirror').database).not.toBe(a.database);
    expect(databaseNames('/srv/strata/envs', 'feature-store').database).toMatch(/_feature_store$/);
    const long = databaseNames('/srv/strata/envs', `l${'x'.repeat(62)}`);
    const long2 = databaseNames('/srv/strata/envs', `l${'x'.repeat(61)}y`);
    for (const name of [long.database, long.logins.a]) expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
    expect(long.database).not.toBe(long2.database);
  });

  it('makes a SCRAM-SHA-256 verifier that checks against the password (RFC 5802 StoredKey/ServerKey)', () => {
    const verifier = scramVerifier('correct horse');
    const m = /^SCRAM-SHA-256\$4096:([^$]+)\$([^:]+):(.+)$/.exec(verifier)!;
    expect(m).not.toBeNull();
    const salted = pbkdf2Sync('correct horse', Buffer.from(m[1], 'base64'), 4096, 32, 'sha256');
    const stored = createHash('sha256').update(createHmac('sha256', salted).update('Client Key').digest()).digest();
    expect(m[2]).toBe(stored.toString('base64'));
    expect(m[3]).toBe(createHmac('sha256', salted).update('Server Key').digest('base64'));
    expect(scramVerifier('correct horse')).not.toBe(verifier); // a fresh salt each time
  });

  it("builds the candidate's URL from the admin URL's host and the active login, and redacts it for display", () => {
    const creds: DatabaseCredentials = {
      adminRef: 'env:X',
      database: 'strata_1_m',
      owner: 'strata_1_m',
      active: 'b',
      roles: { a: { name: 'strata_1_m_a', password: null }, b: { name: 'strata_1_m_b', password: 'p/w@x' } },
      rotatedAt: '',
    };
    const url = connectionUrl('postgres://admin:root@db.internal:6543/postgres?sslmode=require', creds);
    const parsed = new URL(url);
    expect(parsed.username).toBe('strata_1_m_b');
    expect(decodeURIComponent(parsed.password)).toBe('p/w@x');
    expect(parsed.host).toBe('db.internal:6543');
    expect(parsed.pathname).toBe('/strata_1_m');
    expect(parsed.searchParams.get('sslmode')).toBe('require');
    expect(redactedUrl(url)).not.toContain('p%2Fw');
    expect(() => connectionUrl('postgres://h/p', creds, 'a')).toThrow(/has no password/);
  });
});

describe('the example ladder', () => {
  it('runs its mirror on PostgreSQL when STRATA_POSTGRES_URL is set, and on the local provider otherwise', async () => {
    const { loadLadder } = await import('../../../src/config/ladder');
    const { adminUrlAvailable } = await import('../../../src/providers/postgres');
    const ladder = loadLadder(path.join(__dirname, '../../../examples/ladder.yaml'));
    const mirror = ladder.layers.find((l) => l.name === 'mirror')!;
    expect(mirror.provider).toEqual({ type: 'postgres', url: 'env:STRATA_POSTGRES_URL', fallback: 'local' });
    expect(ladder.layers.filter((l) => l.provider).map((l) => l.name)).toEqual(['mirror']);
    expect(adminUrlAvailable('env:STRATA_POSTGRES_URL', {})).toBe(false);
    expect(adminUrlAvailable('env:STRATA_POSTGRES_URL', { STRATA_POSTGRES_URL: 'postgres://h/p' })).toBe(true);
    expect(adminUrlAvailable('file:/nonexistent/strata-pg-url')).toBe(false);
  });

  it('refuses fallback with a value other than local', () => {
    expect(issuesOf(ladderWith('{ type: postgres, url: "env:X", fallback: remote }'))[0]).toMatch(
      /^layers\[1\]\.provider\.fallback/,
    );
  });
});

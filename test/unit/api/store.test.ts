import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiStore, expiryOf, generateToken, hashToken, TokenStoreError } from '../../../src/api/store';

let home: string;
let store: ApiStore;

beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-api-store-'));
  store = new ApiStore(home);
});
afterEach(() => {
  store.close();
  fs.rmSync(home, { recursive: true, force: true });
});

describe('token hashing', () => {
  it('tokens are 32 random bytes behind a prefix; the hash is sha256 hex and differs per token', () => {
    const a = generateToken();
    const b = generateToken();
    expect(a).toMatch(/^strata_[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(hashToken(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(a)).toBe(hashToken(a));
    expect(hashToken(a)).not.toBe(hashToken(b));
  });
});

describe('ApiStore', () => {
  it('finds a live token by its secret, never stores the secret, and refuses revoked or expired ones', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const secret = store.createToken({ name: 'ci-bot', role: 'operator', createdBy: 'local:me', now });
    expect(store.findToken(secret)?.name).toBe('ci-bot');
    expect(store.findToken(`${secret}x`)).toBeUndefined();
    expect(fs.readFileSync(path.join(home, 'api.db')).toString('latin1')).not.toContain(secret);
    expect(fs.statSync(path.join(home, 'api.db')).mode & 0o777).toBe(0o600);

    const short = store.createToken({
      name: 'short',
      role: 'auditor',
      createdBy: 'local:me',
      expiresAt: expiryOf('1h', now),
    });
    expect(store.findToken(short, new Date('2026-01-01T00:59:00Z'))?.name).toBe('short');
    expect(store.findToken(short, new Date('2026-01-01T01:00:00Z'))).toBeUndefined();

    expect(store.revokeToken('ci-bot')).toBe(true);
    expect(store.revokeToken('ci-bot')).toBe(false);
    expect(store.findToken(secret)).toBeUndefined();
    expect(() => store.createToken({ name: 'ci-bot', role: 'operator', createdBy: 'x' })).toThrow(/was revoked/);
    expect(() => store.createToken({ name: 'short', role: 'operator', createdBy: 'x' })).toThrow(/exists already/);
    expect(() => store.createToken({ name: 'bad name', role: 'operator', createdBy: 'x' })).toThrow(TokenStoreError);
    expect(() => expiryOf('soon')).toThrow(/--expires: expected a duration/);
  });

  it('keeps refusals append-only', () => {
    const refusal = {
      at: '2026-01-01T00:00:00.000Z',
      actor: 'anonymous',
      auth: 'no credentials',
      method: 'GET',
      route: '/promotions',
      status: 401 as const,
      reason: 'no credentials',
      remote: '127.0.0.1',
    };
    store.recordRefusal(refusal);
    store.recordRefusal({ ...refusal, route: '/ladders' });
    expect(store.refusals().map((r) => r.route)).toEqual(['/ladders', '/promotions']);
    const db = (store as unknown as { db: { exec(sql: string): void } }).db;
    expect(() => db.exec('DELETE FROM refusals')).toThrow(/append-only/);
    expect(() => db.exec("UPDATE refusals SET reason = 'x'")).toThrow(/append-only/);
  });
});

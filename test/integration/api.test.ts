import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAccess } from '../../src/api/access';
import { hashToken } from '../../src/api/store';
import type { AuditEntry } from '../../src/audit/trail';
import { waitForResult } from '../../src/temporal/promotions';
import { waitForStatus, workerSuite } from '../helpers/harness';
import { exampleCandidate } from '../helpers/ladders';
import { callApi, createTokens, startTestApi, type TestApi } from '../helpers/api';
import { runStrata } from '../helpers/cli';

// The API door: a real `strata serve` server (in this process) on a real port, real HTTP with
// undici and the real CLI in API mode, against the real dev server and a real worker.

const suite = workerSuite('api');
let dir: string;
let api: TestApi;
const tokens: Record<string, string> = {};

const LADDER = `name: api-ladder
layers:
  - name: sandbox
    seed: { rows: 500, seed: 1 }
    gates: [{ type: schema }]
    approval: auto
  - name: traffic
    seed: { rows: 500, seed: 3 }
    gates: [{ type: schema }]
    approval: { required: 1, approvers: [group:release], expiry: 1h }
`;

// ci-bot starts promotions and is also a release approver: it must still not approve its own.
const ACCESS = `grants:
  - role: approver:release
    tokens: [ci-bot, Alice]
`;

/** The CLI in local mode against this suite (config under the test's own folder). */
const strata = (args: string[], env: Record<string, string> = {}) =>
  runStrata(args, suite, { XDG_CONFIG_HOME: path.join(dir, 'config'), ...env });

/** The CLI in API mode with `token`. */
const viaApi = (args: string[], token?: string) =>
  strata(args, { STRATA_API: api.base, ...(token ? { STRATA_TOKEN: token } : { STRATA_TOKEN: '' }) });

const call = (method: 'GET' | 'POST' | 'DELETE', route: string, token?: string, body?: unknown) =>
  callApi(api.base, method, route, token, body);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(suite.home, 'api-'));
  fs.writeFileSync(path.join(dir, 'ladder.yaml'), LADDER);
  fs.writeFileSync(path.join(dir, 'access.yaml'), ACCESS);
  // Tokens through the real CLI, local mode, into the home the server reads.
  Object.assign(
    tokens,
    await createTokens(suite, [
      ['ci-bot', 'operator'],
      ['rel-bot', 'approver:release'],
      ['auditor', 'auditor'],
      ['admin', 'admin'],
      // Two identities whose subjects differ in case only: two people.
      ['Alice', 'operator'],
      ['alice', 'approver:release'],
    ]),
  );
  api = await startTestApi({ ...suite, access: loadAccess(path.join(dir, 'access.yaml')) });
});

afterAll(async () => {
  await api?.close();
});

describe('strata serve (real HTTP, real dev server)', () => {
  it('serves an OpenAPI 3.1 document with a path for each route, and rendered docs, without credentials', async () => {
    const doc = await call('GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    for (const p of [
      '/promotions',
      '/promotions/{id}',
      '/promotions/{id}/approve',
      '/promotions/{id}/reject',
      '/promotions/{id}/abort',
      '/promotions/{id}/audit',
      '/audit/refusals',
      '/ladders',
      '/ladders/{name}',
      '/ladders/{name}/history',
      '/tokens',
      '/tokens/{name}',
      '/whoami',
      '/environments',
      '/environments/{layer}',
      '/environments/{layer}/hold',
      '/environments/{layer}/release',
      '/drills',
      '/drills/schedules',
      '/data/approvals',
    ]) {
      expect(Object.keys(doc.body.paths), p).toContain(p);
    }
    expect(doc.body.paths['/promotions'].post.requestBody.content['application/json'].schema.required).toEqual(
      expect.arrayContaining(['ladder', 'candidate']),
    );
    const docs = await request(`${api.base}/docs/`);
    expect(docs.statusCode).toBe(200);
    expect(await docs.body.text()).toContain('swagger');
  });

  it('stores only hashes of tokens; lists them without the secret', async () => {
    const raw = fs.readFileSync(path.join(suite.home, 'api.db')).toString('latin1');
    expect(raw).not.toContain(tokens['ci-bot']);
    expect(raw).toContain(hashToken(tokens['ci-bot']));
    const ls = await strata(['token', 'ls']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(/ci-bot\s+operator\s+live/);
    expect(ls.stdout).not.toContain(tokens['ci-bot']);
  });

  it('401 without or with a bad token, 403 naming the role for the wrong role; both in the refusal log', async () => {
    const none = await call('GET', '/promotions');
    expect(none.status).toBe(401);
    const bad = await call('GET', '/promotions', 'strata_not-a-token');
    expect(bad.status).toBe(401);
    const wrong = await call('POST', '/promotions', tokens['rel-bot'], { ladder: 'api-ladder', candidate: dir });
    expect(wrong.status).toBe(403);
    expect(wrong.body.needed).toBe('operator');
    expect(wrong.body.error).toContain('needs the role operator');
    const cli = await viaApi(['list']);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('API 401');

    const refusals = await call('GET', '/audit/refusals', tokens.auditor);
    expect(refusals.status).toBe(200);
    const rows = refusals.body as Array<{ actor: string; status: number; route: string; reason: string }>;
    expect(rows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ actor: 'anonymous', status: 401, route: '/promotions', reason: 'no credentials' }),
        expect.objectContaining({ actor: 'strata-token#rel-bot', status: 403, route: '/promotions' }),
      ]),
    );
    const notAuditor = await call('GET', '/audit/refusals', tokens['ci-bot']);
    expect(notAuditor.status).toBe(403);
    expect(notAuditor.body.error).toContain('auditor');
  });

  it('operator promotes, the initiator cannot approve, an approver can; the audit names the verified identities', async () => {
    const applied = await viaApi(
      ['ladder', 'apply', path.join(dir, 'ladder.yaml'), '--reason', 'api test'],
      tokens.admin,
    );
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('stored ladder api-ladder version 1');
    const refusedApply = await viaApi(
      ['ladder', 'apply', path.join(dir, 'ladder.yaml'), '--reason', 'x'],
      tokens['ci-bot'],
    );
    expect(refusedApply.code).toBe(1);
    expect(refusedApply.stderr).toContain('needs the role admin');

    const candidate = await exampleCandidate('fraud-v2');
    // --as is ignored in API mode: the server acts as the token's identity.
    const promoted = await viaApi(
      ['promote', '--ladder', 'api-ladder', '--candidate', candidate.dir, '--as', 'someone-else'],
      tokens['ci-bot'],
    );
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(promoted.stderr).toContain('--as is ignored');
    const id = promoted.stdout.trim();
    await waitForStatus(suite.client, id, (s) => s.state === 'awaiting-approval', 120_000);

    const status = await viaApi(['status', id, '--json'], tokens.auditor);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).initiator).toBe('strata-token#ci-bot');

    // ci-bot holds approver:release too (access.yaml), but it started the promotion.
    const own = await call('POST', `/promotions/${id}/approve`, tokens['ci-bot'], { layer: 'traffic', reason: 'mine' });
    expect(own.status).toBe(409);
    expect(own.body.error).toContain('strata-token#ci-bot started this promotion and may not approve it');
    // The admin role does not approve: 403 naming the role.
    const admin = await call('POST', `/promotions/${id}/approve`, tokens.admin, { layer: 'traffic', reason: 'x' });
    expect(admin.status).toBe(403);
    expect(admin.body.needed).toBe('approver:<group>');
    const approved = await viaApi(['approve', id, '--layer', 'traffic', '--reason', 'looks good'], tokens['rel-bot']);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toContain('strata-token#rel-bot approved traffic');
    expect((await waitForResult(suite.client, id)).state).toBe('promoted');

    const audit = await call('GET', `/promotions/${id}/audit`, tokens.auditor);
    expect(audit.status).toBe(200);
    const entries = audit.body as AuditEntry[];
    expect(entries.find((e) => e.action === 'promotion.started')).toMatchObject({
      actor: 'strata-token#ci-bot',
      authentication: 'api (token ci-bot)',
    });
    expect(entries.find((e) => e.action === 'approval.refused')).toMatchObject({
      actor: 'strata-token#ci-bot',
      authentication: 'api (token ci-bot)',
    });
    const granted = entries.find((e) => e.action === 'approval.granted');
    expect(granted).toMatchObject({ actor: 'strata-token#rel-bot', authentication: 'api (token rel-bot)' });
    expect(granted?.detail).toContain('[groups: release]');
    expect(entries.some((e) => e.authentication === 'local (unauthenticated)')).toBe(false);

    const cliAudit = await viaApi(['audit', id], tokens['ci-bot']);
    expect(cliAudit.code).toBe(1);
    expect(cliAudit.stderr).toContain('needs the role auditor');

    const refusals = (await call('GET', '/audit/refusals', tokens.auditor)).body as Array<Record<string, unknown>>;
    expect(refusals).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ actor: 'strata-token#ci-bot', status: 409, route: `/promotions/${id}/approve` }),
      ]),
    );
  });

  it('compares identities on issuer + subject exactly: Alice may not approve her promotion, alice may', async () => {
    const candidate = await exampleCandidate('fraud-v2');
    const promoted = await viaApi(
      ['promote', '--ladder', 'api-ladder', '--candidate', candidate.dir, '--id', 'alice-case'],
      tokens.Alice!,
    );
    expect(promoted.code, promoted.stderr).toBe(0);
    // The CLI uploaded the candidate; the server stored it under the digest computed here.
    expect(promoted.stderr).toMatch(/(uploaded|server already holds) fraud-scoring 2\.0\.0 \(sha256 [0-9a-f]{12}\)/);
    expect(fs.existsSync(path.join(suite.home, 'artifacts', 'sha256', candidate.digest))).toBe(true);
    await waitForStatus(suite.client, 'alice-case', (s) => s.state === 'awaiting-approval', 120_000);
    const own = await call('POST', '/promotions/alice-case/approve', tokens.Alice, {
      layer: 'traffic',
      reason: 'mine',
    });
    expect(own.status).toBe(409);
    expect(own.body.error).toContain('strata-token#Alice started this promotion and may not approve it');
    const other = await viaApi(['approve', 'alice-case', '--layer', 'traffic', '--reason', 'reviewed'], tokens.alice);
    expect(other.code, other.stderr).toBe(0);
    expect(other.stdout).toContain('strata-token#alice approved traffic');
    expect((await waitForResult(suite.client, 'alice-case')).state).toBe('promoted');
  });

  it('environments, holds, drills and data approvals behind their roles', async () => {
    const envs = await viaApi(['env', 'ls', '--json'], tokens.auditor);
    expect(envs.code, envs.stderr).toBe(0);
    expect((JSON.parse(envs.stdout) as Array<{ layer: string }>).map((e) => e.layer)).toEqual(
      expect.arrayContaining(['sandbox', 'traffic']),
    );
    const notOperator = await viaApi(['hold', '--layer', 'traffic', '--reason', 'freeze'], tokens['rel-bot']);
    expect(notOperator.code).toBe(1);
    expect(notOperator.stderr).toContain('needs the role operator');
    const held = await viaApi(['hold', '--layer', 'traffic', '--reason', 'freeze'], tokens['ci-bot']);
    expect(held.code, held.stderr).toBe(0);
    const shown = await viaApi(['env', 'show', 'traffic', '--json'], tokens.auditor);
    expect(JSON.parse(shown.stdout).hold).toMatchObject({ by: 'strata-token#ci-bot' });
    const released = await viaApi(['release', '--layer', 'traffic', '--reason', 'thaw'], tokens['ci-bot']);
    expect(released.code, released.stderr).toBe(0);

    expect((await call('GET', '/drills?layer=traffic', tokens.auditor)).body).toEqual([]);
    expect((await call('GET', '/drills/schedules', tokens.auditor)).status).toBe(200);
    const data = await call('GET', '/data/approvals', tokens['ci-bot']);
    expect(data.status).toBe(403);
    expect(data.body.needed).toBe('steward');
  });

  it('revoked tokens get 401; login stores the token with mode 600', async () => {
    expect((await call('GET', '/whoami', tokens.auditor)).status).toBe(200);
    const revoked = await viaApi(['token', 'revoke', 'auditor'], tokens.admin);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect((await call('GET', '/whoami', tokens.auditor)).status).toBe(401);
    const ls = await strata(['token', 'ls', '--json']);
    expect(JSON.parse(ls.stdout).find((t: { name: string }) => t.name === 'auditor').revokedAt).toBeTruthy();

    const login = await strata(['login', '--token', tokens.admin]);
    expect(login.code, login.stderr).toBe(0);
    const file = path.join(dir, 'config', 'strata', 'credentials');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    // No STRATA_TOKEN: the stored credentials are used.
    const whoLadders = await strata(['ladder', 'ls'], { STRATA_API: api.base });
    expect(whoLadders.code, whoLadders.stderr).toBe(0);
    expect(whoLadders.stdout).toContain('api-ladder');
  });

  it('strata serve: access.yaml errors exit 2 naming file and field; no door open beyond loopback without credentials', async () => {
    const bad = path.join(dir, 'bad-access.yaml');
    fs.writeFileSync(bad, 'grants:\n  - role: boss\n    tokens: [x]\n  - role: operator\n');
    const served = await strata(['serve', '--access', bad, '--port', '0']);
    expect(served.code).toBe(2);
    expect(served.stderr).toContain(`${bad}: grants[0].role: expected one of operator`);
    expect(served.stderr).toContain(`${bad}: grants[1]: a grant must name at least one of tokens, groups or subjects`);

    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-api-empty-'));
    try {
      const open = await strata(['serve', '--host', '0.0.0.0', '--port', '0'], { STRATA_HOME: empty });
      expect(open.code).toBe(2);
      expect(open.stderr).toContain('refusing to listen beyond loopback');
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});

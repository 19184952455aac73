import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAccess } from '../../src/api/access';
import { candidateUpload } from '../../src/api/upload';
import type { PromotionStatus } from '../../src/domain/status';
import { waitForResult } from '../../src/temporal/promotions';
import { EXAMPLES, waitForStatus, workerSuite } from '../helpers/harness';
import { exampleCandidate } from '../helpers/ladders';
import { callApi, createTokens, startTestApi, type TestApi, uploadCandidate } from '../helpers/api';
import { runStrata } from '../helpers/cli';

// The operator operations through the API door: rollback, teardown, drill, unlock and dataset
// approvals, each behind its role, with the verified identity as the actor. A real `strata serve`
// server on a real port, the real CLI in API mode, the real dev server and a real worker.

const suite = workerSuite('api-ops');
let dir: string;
let api: TestApi;
const tokens: Record<string, string> = {};

const LADDER = `name: ops-ladder
layers:
  - name: mirror
    seed: { rows: 500, seed: 1 }
    gates: [{ type: schema }]
    approval: auto
    drills:
      table-dropped: { rto: 60s, rpo: 5s }
  - name: traffic
    seed: { rows: 500, seed: 3 }
    gates: [{ type: schema }]
    approval: { required: 1, approvers: [group:release], expiry: 1h }
`;

const ACCESS = `grants:
  - role: approver:release
    tokens: [rel-bot]
`;

/** The CLI in local mode against this suite (config under the test's own folder). */
const strata = (args: string[], env: Record<string, string> = {}) =>
  runStrata(args, suite, { XDG_CONFIG_HOME: path.join(dir, 'config'), ...env });

/** The CLI in API mode with `token`. */
const viaApi = (args: string[], token?: string) =>
  strata(args, { STRATA_API: api.base, ...(token ? { STRATA_TOKEN: token } : { STRATA_TOKEN: '' }) });

const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', route: string, token?: string, body?: unknown) =>
  callApi(api.base, method, route, token, body);

/**
 * The mirror's environment once it has recorded both of rollback `id`'s events (rolled-back, then
 * promoted), or after 30 s: the environment takes a holder's version events once it has asked the
 * holder (verified-lease), which may take two asks.
 */
async function mirrorOnceRecorded(id: string) {
  const recorded = (body: { history?: Array<{ by: string }> } | undefined) =>
    (body?.history ?? []).filter((e) => e.by === id).length >= 2;
  let env = await call('GET', '/environments/mirror', tokens['rel-bot']);
  for (let i = 0; i < 120 && !recorded(env.body); i++) {
    await new Promise((r) => setTimeout(r, 250));
    env = await call('GET', '/environments/mirror', tokens['rel-bot']);
  }
  return env;
}

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
      ['steward', 'steward'],
      ['admin', 'admin'],
    ]),
  );
  api = await startTestApi({ ...suite, access: loadAccess(path.join(dir, 'access.yaml')) });
  const applied = await viaApi(
    ['ladder', 'apply', path.join(dir, 'ladder.yaml'), '--reason', 'ops test'],
    tokens.admin,
  );
  expect(applied.code, applied.stderr).toBe(0);
});

afterAll(async () => {
  await api?.close();
});

/** Promotes `name` through the API as ci-bot into `layer` only; the promotion id. */
async function promote(name: 'fraud-v1' | 'fraud-v2', layer: string): Promise<string> {
  const candidate = await exampleCandidate(name);
  const res = await call('POST', '/promotions', tokens['ci-bot'], {
    ladder: 'ops-ladder',
    candidate: await uploadCandidate(api.base, tokens['ci-bot'], candidate.dir),
    from: layer,
    to: layer,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

const phaseOf = (layer: string, phase: string) => (s: PromotionStatus) =>
  s.layers.find((l) => l.name === layer)?.phase === phase;

describe('operator operations through strata serve (real HTTP, real dev server)', () => {
  it('lists each new route in the OpenAPI document', async () => {
    const doc = await call('GET', '/openapi.json');
    for (const p of [
      '/rollbacks',
      '/teardowns',
      '/drills',
      '/environments/{layer}/unlock',
      '/data/approvals',
      '/data/approvals/{digest}',
      '/candidates/{digest}',
      '/drills/schedules',
      '/drills/schedules/{id}',
      '/drills/schedules/{id}/{action}',
      '/environments/{layer}/repair',
      '/runs',
      '/runs/{id}',
      '/runs/{id}/replay',
      '/data/keyring',
      '/access',
    ]) {
      expect(Object.keys(doc.body.paths), p).toContain(p);
    }
    expect(doc.body.paths['/rollbacks'].post.requestBody.content['application/json'].schema.required).toEqual(
      expect.arrayContaining(['ladder', 'layer', 'reason']),
    );
    expect(doc.body.paths['/data/approvals/{digest}'].delete).toBeDefined();
    // Body schemas are strict: the document says so too.
    expect(doc.body.paths['/rollbacks'].post.requestBody.content['application/json'].schema.additionalProperties).toBe(
      false,
    );
  });

  it('access: the policy in force, for admins only', async () => {
    const denied = await call('GET', '/access', tokens['ci-bot']);
    expect(denied.status).toBe(403);
    expect(denied.body.needed).toBe('admin');
    const access = await call('GET', '/access', tokens.admin);
    expect(access.status).toBe(200);
    expect(access.body).toEqual({ oidc: null, grants: [{ role: 'approver:release', tokens: ['rel-bot'] }] });
  });

  it('rollback: 403 naming operator; as ci-bot, rolls mirror back to its known-good version', async () => {
    const v1 = await promote('fraud-v1', 'mirror');
    expect((await waitForResult(suite.client, v1)).state).toBe('promoted');
    const v2 = await promote('fraud-v2', 'mirror');
    expect((await waitForResult(suite.client, v2)).state).toBe('promoted');

    const denied = await call('POST', '/rollbacks', tokens['rel-bot'], {
      ladder: 'ops-ladder',
      layer: 'mirror',
      reason: 'x',
    });
    expect(denied.status).toBe(403);
    expect(denied.body.needed).toBe('operator');
    // An actor in the body is refused, not believed: the verified identity acts.
    const rollback = { ladder: 'ops-ladder', layer: 'mirror', to: '1.0.0', reason: 'p99' };
    const withActor = await call('POST', '/rollbacks', tokens['ci-bot'], { ...rollback, actor: 'someone-else' });
    expect(withActor.status).toBe(400);
    expect(withActor.body.error).toBe('body: unknown field "actor"');
    const viaHttp = await call('POST', '/rollbacks', tokens['ci-bot'], rollback);
    expect(viaHttp.status, JSON.stringify(viaHttp.body)).toBe(200);
    expect(viaHttp.body).toMatchObject({ layer: 'mirror', state: 'rolled-back', from: '2.0.0', to: '1.0.0' });
    let env = await mirrorOnceRecorded(viaHttp.body.id);
    expect(env.body.history.at(-2)).toMatchObject({ event: 'rolled-back', version: '1.0.0' });
    expect(env.body.history.at(-2).reason).toContain('strata-token#ci-bot: p99');
    expect(JSON.stringify(env.body)).not.toContain('someone-else');

    const rolled = await viaApi(
      ['rollback', '--ladder', 'ops-ladder', '--layer', 'mirror', '--to', '2.0.0', '--reason', 'fixed', '--json'],
      tokens['ci-bot'],
    );
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(JSON.parse(rolled.stdout)).toMatchObject({
      layer: 'mirror',
      state: 'rolled-back',
      from: '1.0.0',
      to: '2.0.0',
    });
    env = await mirrorOnceRecorded(JSON.parse(rolled.stdout).id);
    expect(env.body.history.at(-2)).toMatchObject({ event: 'rolled-back', version: '2.0.0' });
    expect(env.body.history.at(-2).reason).toContain('strata-token#ci-bot: fixed');
    const never = await viaApi(
      ['rollback', '--ladder', 'ops-ladder', '--layer', 'mirror', '--to', '9.9.9', '--reason', 'x'],
      tokens['ci-bot'],
    );
    expect(never.code).toBe(2);
    expect(never.stderr).toContain('to: version 9.9.9 was never deployed in mirror');
  });

  it('drill: 403 naming operator; as ci-bot, runs a drill on mirror and returns its report', async () => {
    const denied = await call('POST', '/drills', tokens.steward, {
      ladder: 'ops-ladder',
      layer: 'mirror',
      scenario: 'table-dropped',
    });
    expect(denied.status).toBe(403);
    expect(denied.body.needed).toBe('operator');
    const drilled = await viaApi(
      ['drill', 'run', '--ladder', 'ops-ladder', '--layer', 'mirror', '--scenario', 'table-dropped', '--json'],
      tokens['ci-bot'],
    );
    expect(drilled.stderr).toContain('through the API');
    const report = JSON.parse(drilled.stdout);
    expect(report.scenario).toBe('table-dropped');
    expect(report.layer).toBe('mirror');
    expect(report.verdict.met).toBe(drilled.code === 0);
    const history = await call('GET', '/drills?layer=mirror', tokens.steward);
    expect((history.body as Array<{ id: string }>).map((d) => d.id)).toContain(report.id);
  });

  it('drill history, drill schedules and env at go through the API in API mode', async () => {
    const history = await viaApi(['drill', 'history', '--layer', 'mirror', '--json'], tokens.steward);
    expect(history.code, history.stderr).toBe(0);
    expect((JSON.parse(history.stdout) as Array<{ scenario: string }>)[0]).toMatchObject({ scenario: 'table-dropped' });

    const schedule = [
      'drill',
      'schedule',
      '--ladder',
      'ops-ladder',
      '--layer',
      'mirror',
      '--scenario',
      'table-dropped',
    ];
    const denied = await viaApi([...schedule, '--every', '7d'], tokens.steward);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('needs the role operator');
    const noObjective = await call('POST', '/drills/schedules', tokens['ci-bot'], {
      ladder: 'ops-ladder',
      layer: 'traffic',
      scenario: 'table-dropped',
      every: '7d',
    });
    expect(noObjective.status).toBe(400);
    expect(noObjective.body.error).toContain('declares no RTO/RPO objective');
    const created = await viaApi([...schedule, '--every', '7d', '--json'], tokens['ci-bot']);
    expect(created.code, created.stderr).toBe(0);
    const { id } = JSON.parse(created.stdout) as { id: string };
    const ls = await viaApi(['drill', 'schedule', 'ls', '--json'], tokens.steward);
    expect(ls.code, ls.stderr).toBe(0);
    expect(JSON.parse(ls.stdout)).toEqual([
      expect.objectContaining({ id, layer: 'mirror', spec: 'every 7d', paused: false }),
    ]);
    const paused = await viaApi(['drill', 'schedule', 'pause', id], tokens['ci-bot']);
    expect(paused.code, paused.stderr).toBe(0);
    const described = await suite.client.schedule.getHandle(id).describe();
    expect(described.state.paused).toBe(true);
    expect(described.state.note).toContain('strata-token#ci-bot');
    // Only this server's drill schedules are reachable.
    const other = await call('DELETE', '/drills/schedules/elsewhere.backup', tokens['ci-bot']);
    expect(other.status).toBe(404);
    const deniedDelete = await viaApi(['drill', 'schedule', 'delete', id], tokens.steward);
    expect(deniedDelete.code).toBe(1);
    const deleted = await viaApi(['drill', 'schedule', 'delete', id], tokens['ci-bot']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(JSON.parse((await viaApi(['drill', 'schedule', 'ls', '--json'], tokens.steward)).stdout)).toEqual([]);

    const at = await viaApi(['env', 'at', 'mirror', '--time', '0s', '--json'], tokens.steward);
    expect(at.code, at.stderr).toBe(0);
    expect(JSON.parse(at.stdout)).toMatchObject({ layer: 'mirror', version: expect.any(String) });
  });

  it('unlock: 403 naming operator; as ci-bot, takes the lease from a stuck holder', async () => {
    // a holds the lease, alive, waiting for an approval nobody gives. (A terminated holder's lease
    // is released by the environment on its own: environments.test.ts.)
    const a = await promote('fraud-v1', 'traffic');
    await waitForStatus(suite.client, a, phaseOf('traffic', 'awaiting-approval'), 120_000);
    const b = await promote('fraud-v2', 'traffic');
    await waitForStatus(suite.client, b, phaseOf('traffic', 'waiting-for-lease'), 120_000);

    const denied = await viaApi(['env', 'unlock', 'traffic', '--reason', 'x'], tokens['rel-bot']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('needs the role operator');
    const unlocked = await viaApi(['env', 'unlock', 'traffic', '--reason', 'holder terminated'], tokens['ci-bot']);
    expect(unlocked.code, unlocked.stderr).toBe(0);
    expect(unlocked.stdout).toContain(`took the lease of traffic from ${a}.traffic`);
    const shown = await viaApi(['env', 'show', 'traffic', '--json'], tokens.steward);
    expect(JSON.parse(shown.stdout).operations).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'break-lease', actor: 'strata-token#ci-bot', holder: `${a}.traffic` }),
      ]),
    );
    await waitForStatus(suite.client, b, phaseOf('traffic', 'awaiting-approval'), 120_000);
    await suite.client.workflow.getHandle(a).terminate('test done');
    await call('POST', `/promotions/${b}/abort`, tokens['ci-bot'], { reason: 'test done' });
    await waitForResult(suite.client, b);
  });

  it('teardown: 403 naming operator; as ci-bot, removes mirror and records the verified actor', async () => {
    const denied = await call('POST', '/teardowns', tokens.steward, { layers: ['mirror'], reason: 'x' });
    expect(denied.status).toBe(403);
    expect(denied.body.needed).toBe('operator');
    expect(fs.existsSync(path.join(suite.home, 'envs', 'mirror'))).toBe(true);
    const torn = await viaApi(['teardown', 'mirror', '--reason', 'disk full'], tokens['ci-bot']);
    expect(torn.code, torn.stderr).toBe(0);
    expect(torn.stdout).toContain('removed mirror');
    expect(fs.existsSync(path.join(suite.home, 'envs', 'mirror'))).toBe(false);
    // The environment records the teardown once it has checked it with the teardown's own claim
    // (the verified lease): an activity after the teardown's signal, so it may come a moment later.
    let last: { event?: string; version?: string | null; reason?: string } | undefined;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      last = (await call('GET', '/environments/mirror', tokens.steward)).body.history.at(-1);
      if (last?.event === 'torn-down') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(last).toMatchObject({ event: 'torn-down', version: null });
    expect(last?.reason).toContain('strata-token#ci-bot: disk full');
  });

  it('data approvals: 403 naming steward; as steward, approve then revoke by digest', async () => {
    const file = path.join(EXAMPLES, 'data', 'transactions.profile.json');
    const denied = await call('POST', '/data/approvals', tokens['ci-bot'], { file, reason: 'x' });
    expect(denied.status).toBe(403);
    expect(denied.body.needed).toBe('steward');
    const approved = await viaApi(['data', 'approve', file, '--reason', 'stats only', '--json'], tokens.steward);
    expect(approved.code, approved.stderr).toBe(0);
    const approval = JSON.parse(approved.stdout);
    expect(approval).toMatchObject({ actor: 'strata-token#steward', reason: 'stats only', added: true });
    const deniedRevoke = await call('DELETE', `/data/approvals/${approval.digest}`, tokens['ci-bot'], { reason: 'x' });
    expect(deniedRevoke.status).toBe(403);
    expect(deniedRevoke.body.needed).toBe('steward');
    const revoked = await viaApi(['data', 'revoke', approval.digest, '--reason', 'withdrawn'], tokens.steward);
    expect(revoked.code, revoked.stderr).toBe(0);
    const list = await call('GET', '/data/approvals', tokens.steward);
    expect(
      (list.body as Array<{ digest: string; revoked?: { actor: string } }>).find((a) => a.digest === approval.digest)
        ?.revoked,
    ).toMatchObject({ actor: 'strata-token#steward', reason: 'withdrawn' });
  });

  it('refuses a body with an unknown field with 400 naming it, and acts on nothing', async () => {
    // An `actor` field must not be dropped silently, nor believed: the server knows who acts.
    const held = await call('POST', '/environments/traffic/hold', tokens['ci-bot'], {
      reason: 'freeze',
      actor: 'someone-else',
    });
    expect(held.status).toBe(400);
    expect(held.body.error).toBe('body: unknown field "actor"');
    const env = await call('GET', '/environments/traffic', tokens.steward);
    expect(env.body.hold ?? null).toBeNull();
    const token = await call('POST', '/tokens', tokens.admin, { name: 'x', role: 'operator', expiry: '1d' });
    expect(token.status).toBe(400);
    expect(token.body.error).toBe('body: unknown field "expiry"');
    expect(
      ((await call('GET', '/tokens', tokens.admin)).body as Array<{ name: string }>).map((t) => t.name),
    ).not.toContain('x');
    const nested = await call('PUT', `/candidates/${'0'.repeat(64)}`, tokens['ci-bot'], {
      files: [{ path: 'candidate.yaml', content: '', mode: 420 }],
    });
    expect(nested.status).toBe(400);
    expect(nested.body.error).toBe('body.files.0: unknown field "mode"');
    const missing = await call('POST', '/environments/traffic/hold', tokens['ci-bot'], {});
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('body: missing field "reason"');
  });

  it('upload: the server stores a candidate under the digest it computes itself; a mismatch is 400, too large 413', async () => {
    const candidate = await exampleCandidate('fraud-v1');
    const { upload } = await candidateUpload(candidate.dir);
    const denied = await call('PUT', `/candidates/${candidate.digest}`, tokens.steward, upload);
    expect(denied.status).toBe(403);
    expect(denied.body.needed).toBe('operator');

    // One byte changed on the way: the server's digest differs, nothing is stored.
    const yaml = upload.files.find((f) => f.path === 'candidate.yaml')!;
    const tampered = {
      files: upload.files.map((f) =>
        f === yaml ? { ...f, content: Buffer.from(`${Buffer.from(f.content, 'base64')}\n# x`).toString('base64') } : f,
      ),
    };
    const mismatch = await call('PUT', `/candidates/${candidate.digest}`, tokens['ci-bot'], tampered);
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.error).toMatch(/^digest: the uploaded files have sha256 [0-9a-f]{64}, not the /);
    expect(mismatch.body.error).toContain(candidate.digest);
    const store = path.join(suite.home, 'artifacts', 'sha256');
    const before = fs.existsSync(store) ? fs.readdirSync(store) : [];

    const escaping = await call('PUT', `/candidates/${candidate.digest}`, tokens['ci-bot'], {
      files: [...upload.files, { path: '../../outside.txt', content: 'eA==' }],
    });
    expect(escaping.status).toBe(400);
    expect(escaping.body.error).toContain('is not a relative path inside the candidate');
    expect(fs.existsSync(path.join(suite.home, 'outside.txt'))).toBe(false);

    // Promoting a digest the server does not hold: 400 saying to upload it.
    const unknown = await call('POST', '/promotions', tokens['ci-bot'], {
      ladder: 'ops-ladder',
      candidate: 'f'.repeat(64),
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toContain(`no uploaded candidate sha256 ${'f'.repeat(64)}`);
    expect(fs.existsSync(store) ? fs.readdirSync(store) : []).toEqual(before);

    const stored = await call('PUT', `/candidates/${candidate.digest}`, tokens['ci-bot'], upload);
    expect(stored.status, JSON.stringify(stored.body)).toBeLessThan(300);
    expect(stored.body).toMatchObject({ digest: candidate.digest, name: candidate.name, version: candidate.version });
    expect(fs.readdirSync(store)).toContain(candidate.digest);

    // A server with a small limit: 413 with a message saying what to do.
    const small = await startTestApi({
      ...suite,
      access: loadAccess(path.join(dir, 'access.yaml')),
      uploadLimitMiB: 0.001,
    });
    try {
      const tooLarge = await callApi(small.base, 'PUT', `/candidates/${candidate.digest}`, tokens['ci-bot'], upload);
      expect(tooLarge.status).toBe(413);
      expect(tooLarge.body.error).toContain('0.001 MiB for a candidate upload');
      expect(tooLarge.body.error).toContain('strata serve --upload-limit');
      const viaCli = await strata(['promote', '--ladder', 'ops-ladder', '--candidate', candidate.dir], {
        STRATA_API: small.base,
        STRATA_TOKEN: tokens['ci-bot'],
      });
      expect(viaCli.code).toBe(1);
      expect(viaCli.stderr).toContain('API 413');
    } finally {
      await small.close();
    }
  });

  it('runs, keyring and teardown --all go through the API in API mode', async () => {
    const runs = await viaApi(['runs', 'ls', '--json'], tokens.steward);
    expect(runs.code, runs.stderr).toBe(0);
    expect(JSON.parse(runs.stdout)).toEqual([]);
    const missing = await viaApi(['runs', 'show', 'run-nope'], tokens.steward);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('API 404');
    const replay = await call('POST', '/runs/run-nope/replay', tokens.steward, {});
    expect(replay.status).toBe(403);
    expect(replay.body.needed).toBe('operator');

    // The server's keyring: where STRATA_KEYRING points in the server's environment (this process).
    const keyring = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'strata-keyring-')), 'keyring.yaml');
    const before = process.env.STRATA_KEYRING;
    process.env.STRATA_KEYRING = keyring;
    try {
      const denied = await viaApi(['data', 'keyring', 'init'], tokens['ci-bot']);
      expect(denied.code).toBe(1);
      expect(denied.stderr).toContain('needs the role steward');
      const created = await viaApi(['data', 'keyring', 'init', '--name', 'k7'], tokens.steward);
      expect(created.code, created.stderr).toBe(0);
      expect(created.stdout).toContain(`created the server's keyring ${keyring} (key k7, mode 600)`);
      expect(fs.statSync(keyring).mode & 0o777).toBe(0o600);
      const again = await viaApi(['data', 'keyring', 'init'], tokens.steward);
      expect(again.stdout).toContain('exists (active key k7); nothing written');
      expect(again.stdout + again.stderr).not.toMatch(/hex:[0-9a-f]{16}/);
    } finally {
      if (before === undefined) delete process.env.STRATA_KEYRING;
      else process.env.STRATA_KEYRING = before;
    }

    const envs = path.join(suite.home, 'envs');
    const present = fs.readdirSync(envs).filter((d) => fs.statSync(path.join(envs, d)).isDirectory());
    expect(present.length).toBeGreaterThan(0);
    const repaired = await viaApi(['env', 'repair', present[0]!, '--json'], tokens['ci-bot']);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(JSON.parse(repaired.stdout)).toMatchObject({ layer: present[0] });
    const deniedAll = await viaApi(['teardown', '--all', '--reason', 'x'], tokens.steward);
    expect(deniedAll.code).toBe(1);
    const torn = await viaApi(['teardown', '--all', '--reason', 'end of test', '--json'], tokens['ci-bot']);
    expect(torn.code, torn.stderr).toBe(0);
    expect(JSON.parse(torn.stdout).removed).toEqual(present.sort());
    expect(fs.readdirSync(envs).filter((d) => fs.statSync(path.join(envs, d)).isDirectory())).toEqual([]);
  });
});

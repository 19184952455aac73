import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAccess } from '../../src/api/access';
import type { PromotionStatus } from '../../src/domain/status';
import { waitForResult } from '../../src/temporal/promotions';
import { EXAMPLES, waitForStatus, workerSuite } from '../helpers/harness';
import { exampleCandidate } from '../helpers/ladders';
import { callApi, createTokens, startTestApi, type TestApi } from '../helpers/api';
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

const call = (method: 'GET' | 'POST' | 'DELETE', route: string, token?: string, body?: unknown) =>
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
    candidate: candidate.dir,
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
    ]) {
      expect(Object.keys(doc.body.paths), p).toContain(p);
    }
    expect(doc.body.paths['/rollbacks'].post.requestBody.content['application/json'].schema.required).toEqual(
      expect.arrayContaining(['ladder', 'layer', 'reason']),
    );
    expect(doc.body.paths['/data/approvals/{digest}'].delete).toBeDefined();
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
    // An actor in the body counts for nothing: the verified identity acts.
    const viaHttp = await call('POST', '/rollbacks', tokens['ci-bot'], {
      ladder: 'ops-ladder',
      layer: 'mirror',
      to: '1.0.0',
      reason: 'p99',
      actor: 'someone-else',
    });
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
    const env = await call('GET', '/environments/mirror', tokens.steward);
    expect(env.body.history.at(-1)).toMatchObject({ event: 'torn-down', version: null });
    expect(env.body.history.at(-1).reason).toContain('strata-token#ci-bot: disk full');
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
});

// The Temporal Web UI of `strata cluster up --ui-port`, read-only behind `strata serve`: the real
// Temporal server (v1.29.1, JWT authorizer) on a private PostgreSQL, the real UI server (v2.42.1)
// it starts, the real OpenID provider, and `strata serve` with --temporal-ui, all over real HTTP.
// The UI server holds no token: called directly it gets the frontend's refusal. Through serve, a
// signed-in person reads the workflow list; writes are refused and change nothing; without a
// session nothing passes.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAccess } from '../../src/api/access';
import { createOidcVerifier } from '../../src/api/oidc';
import { OIDC_TEST_PROVIDER, type RunningOidcProvider, startOidcProvider } from '../../src/api/oidc-provider';
import { loadSigningKey } from '../../src/temporal/auth';
import { type ClusterInfo, clusterDir, clusterDown, clusterStatus, clusterUp } from '../../src/temporal/cluster';
import { uiAnswers } from '../../src/temporal/cluster-ui';
import { authMetadata } from '../../src/temporal/connection';
import { freePort } from '../../src/tools/ports';
import { callApi, startTestApi, type TestApi } from '../helpers/api';
import { chromiumBinary, launchChromium, VIEWPORT } from '../helpers/prometheus-ui';
import { ROOT, teardownHome, tempHome } from '../helpers/harness';
import { runStrata } from '../helpers/cli';
import { authorizationCodeToken } from '../helpers/oidc';
import { type PrivatePostgres, privatePostgres } from '../helpers/postgres';

const NAMESPACE = 'strata';
const quiet = () => undefined;
let pg: PrivatePostgres;
let home: string;
let info: ClusterInfo;
let uiPort: number;
let connection: Connection;
let client: Client;
let provider: RunningOidcProvider;
let api: TestApi;
const workflowId = `ui-target-${process.pid}`;
const taskQueue = `ui-${process.pid}`;

type Response = Awaited<ReturnType<typeof request>>;

function setCookie(res: Response, name: string): string | undefined {
  const raw = res.headers['set-cookie'];
  for (const c of Array.isArray(raw) ? raw : raw ? [raw] : []) {
    const [pair] = c.split(';');
    if (pair.startsWith(`${name}=`)) return pair.slice(name.length + 1);
  }
  return undefined;
}

function location(res: Response, step: string): string {
  const loc = res.headers.location;
  if (res.statusCode < 300 || res.statusCode > 303 || typeof loc !== 'string')
    throw new Error(`${step}: expected a redirect, got HTTP ${res.statusCode}`);
  return loc;
}

/**
 * Signs `user` in to the web inbox the way a browser does, over plain HTTP: /ui/login, the
 * provider's authorize endpoint and login form, back to /ui/callback. The session cookie.
 */
async function signIn(user: keyof typeof OIDC_TEST_PROVIDER.users): Promise<string> {
  const start = await request(`${api.base}/ui/login?return=/temporal/`);
  await start.body.dump();
  const loginCookie = setCookie(start, 'strata_login');
  expect(loginCookie).toBeTruthy();
  const authorize = await request(location(start, '/ui/login'));
  await authorize.body.dump();
  const loginPage = new URL(location(authorize, 'authorize'), provider.issuer);
  const form = await request(new URL('/login/username', provider.issuer), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      username: user,
      password: OIDC_TEST_PROVIDER.users[user].password,
      id: loginPage.searchParams.get('authRequestID') ?? '',
    }).toString(),
  });
  await form.body.dump();
  const back = await request(new URL(location(form, 'login form'), provider.issuer));
  await back.body.dump();
  const callback = location(back, 'provider callback');
  expect(callback.startsWith(`${api.base}/ui/callback?`)).toBe(true);
  const done = await request(callback, { headers: { cookie: `strata_login=${loginCookie}` } });
  await done.body.dump();
  expect(location(done, '/ui/callback')).toBe('/temporal/');
  const session = setCookie(done, 'strata_session');
  expect(session).toMatch(/^[A-Za-z0-9_-]{43}$/);
  return `strata_session=${session}`;
}

async function get(url: string, cookie?: string) {
  const res = await request(url, { headers: cookie ? { cookie } : {} });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}

const json = (text: string) => JSON.parse(text) as Record<string, unknown>;
const listPath = `/temporal/api/v1/namespaces/${NAMESPACE}/workflows`;
const describePath = `${listPath}/${workflowId}`;

async function runningStatus(): Promise<string> {
  return (await client.workflow.getHandle(workflowId).describe()).status.name;
}

beforeAll(async () => {
  pg = await privatePostgres({ database: 'temporal' });
  await pg.start();
  home = tempHome('cluster-ui');
  uiPort = await freePort();
  info = await clusterUp({
    home,
    postgresUrl: pg.url,
    port: await freePort(),
    uiPort,
    namespace: NAMESPACE,
    retentionDays: 30,
    progress: quiet,
  });
  connection = await Connection.connect({
    address: info.address,
    ...authMetadata(fs.readFileSync(info.workerTokenFile, 'utf8').trim()),
  });
  client = new Client({ connection, namespace: NAMESPACE });
  // A workflow nobody works on: it stays running unless something terminates it.
  await client.workflow.start('promotion', { workflowId, taskQueue, args: [{}] });

  provider = await startOidcProvider({
    port: await freePort(),
    logFile: path.join(home, 'provider.log'),
    redirectUris: ['http://127.0.0.1/ui/callback', 'http://127.0.0.1/callback'],
  });
  fs.writeFileSync(
    path.join(home, 'access.yaml'),
    `oidc:
  issuer: ${provider.issuer}
  audience: ${provider.audience}
  webClientId: ${OIDC_TEST_PROVIDER.cliClientId}
grants:
  - role: auditor
    groups: [data-stewards]
`,
  );
  const access = loadAccess(path.join(home, 'access.yaml'));
  const verifier = createOidcVerifier(access.oidc!);
  await verifier.discover();
  api = await startTestApi({
    client,
    home,
    taskQueue,
    access,
    oidc: (token) => verifier.verify(token),
    temporalUi: { url: info.ui!.url, key: loadSigningKey(clusterDir(home)), namespace: NAMESPACE },
  });
}, 900_000);

afterAll(async () => {
  await api?.close();
  await provider?.stop();
  await connection?.close();
  if (home) {
    await clusterDown(home).catch(() => undefined);
    await teardownHome(home);
  }
  await pg?.remove();
}, 120_000);

describe('the Temporal Web UI of strata cluster', () => {
  it('runs the UI server on loopback only, and called directly (no token) the frontend refuses it', async () => {
    expect(info.ui).toMatchObject({ url: `http://127.0.0.1:${uiPort}`, reused: false });
    // Listening on 127.0.0.1 and nowhere else (/proc/net/tcp: local address, state 0A = LISTEN).
    const listening = [fs.readFileSync('/proc/net/tcp', 'utf8'), fs.readFileSync('/proc/net/tcp6', 'utf8')]
      .join('\n')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f[3] === '0A' && f[1]?.endsWith(`:${uiPort.toString(16).toUpperCase().padStart(4, '0')}`))
      .map((f) => f[1].split(':')[0]);
    expect(listening).toEqual(['0100007F']);
    const config = fs.readFileSync(path.join(clusterDir(home), 'ui-config', 'strata.yaml'), 'utf8');
    expect(config).toMatch(/^disableWriteActions: true$/m);
    expect(config).toMatch(/^host: 127\.0\.0\.1$/m);

    expect((await get(`${info.ui!.url}/healthz`)).status).toBe(200);
    for (const route of [listPath, listPath.replace('/temporal', ''), describePath]) {
      const res = await get(`${info.ui!.url}${route}`);
      expect(res.status, `${route}: ${res.text}`).toBe(403);
      expect(json(res.text)).toMatchObject({ code: 7, message: expect.stringMatching(/unauthorized/i) });
      expect(res.text).not.toContain(workflowId);
    }
    // A write is refused too: without a header by the UI server's CSRF check, with any bearer by its
    // write switch (disableWriteActions) before the frontend is asked; nothing changed.
    for (const headers of [{}, { authorization: 'Bearer not-a-token' }]) {
      const terminate = await request(`${info.ui!.url}${describePath}/terminate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ reason: 'side door' }),
      });
      await terminate.body.dump();
      if ('authorization' in headers) expect(terminate.statusCode).toBe(405);
      else expect([400, 403]).toContain(terminate.statusCode);
    }
    expect(await runningStatus()).toBe('RUNNING');
  });

  it('serves a signed-in person the workflow list and the UI through strata serve, read-only', async () => {
    const cookie = await signIn('bob');
    // Visibility is eventually consistent: the list shows the workflow within seconds.
    let list: Record<string, unknown> = {};
    await expect
      .poll(
        async () => {
          const res = await get(`${api.base}${listPath}`, cookie);
          expect(res.status, res.text).toBe(200);
          list = json(res.text);
          return ((list.executions ?? []) as { execution: { workflowId: string } }[]).map(
            (e) => e.execution.workflowId,
          );
        },
        { timeout: 30_000, interval: 500 },
      )
      .toContain(workflowId);
    const described = await get(`${api.base}${describePath}`, cookie);
    expect(described.status).toBe(200);
    expect(json(described.text)).toMatchObject({
      workflowExecutionInfo: { execution: { workflowId }, status: expect.stringMatching(/running/i) },
    });
    // The two cluster-scoped calls the UI makes on load: the namespace list holds the one namespace
    // the person reads; the cluster info comes back (and nothing else gets the cluster token).
    const namespaces = json((await get(`${api.base}/temporal/api/v1/namespaces?pageSize=100`, cookie)).text);
    expect((namespaces.namespaces as { namespaceInfo: { name: string } }[]).map((n) => n.namespaceInfo.name)).toEqual([
      NAMESPACE,
    ]);
    const cluster = await get(`${api.base}/temporal/api/v1/cluster-info`, cookie);
    expect(cluster.status, cluster.text).toBe(200);
    expect(json(cluster.text)).toMatchObject({ serverVersion: '1.29.1' });
    expect((await get(`${api.base}/temporal/api/v1/namespaces/temporal-system/workflows`, cookie)).status).toBe(403);
    // The UI's settings: every write action off.
    const settings = json((await get(`${api.base}/temporal/api/v1/settings`, cookie)).text);
    expect(settings).toMatchObject({
      DisableWriteActions: true,
      DefaultNamespace: NAMESPACE,
      Auth: { Enabled: false },
    });

    // The page itself, under /temporal, with its bootstrap script allowed by hash and nothing else inline.
    const page = await get(`${api.base}/temporal/namespaces/${NAMESPACE}/workflows`, cookie);
    expect(page.status).toBe(200);
    expect(page.text).toContain('base: "/temporal"');
    const csp = String(page.headers['content-security-policy']);
    const inline = /<script>([\s\S]*?)<\/script>/.exec(page.text)![1];
    expect(csp).toContain(`'sha256-${createHash('sha256').update(inline).digest('base64')}'`);
    expect(csp).toContain("'strict-dynamic'");
    expect(csp).not.toContain('unsafe-inline');
    // Its assets load through the same door; the UI server's own cookies stay behind it.
    const asset = /href="(\/temporal\/_app\/immutable\/[^"]+\.js)"/.exec(page.text)![1];
    const js = await get(`${api.base}${asset}`, cookie);
    expect(js.status).toBe(200);
    expect(String(js.headers['content-type'])).toMatch(/javascript/);
    expect(page.headers['set-cookie']).toBeUndefined();
    // /temporal leads to the namespace's workflows.
    const root = await request(`${api.base}/temporal`, { headers: { cookie } });
    await root.body.dump();
    expect(root.headers.location).toBe(`/temporal/namespaces/${NAMESPACE}/workflows`);
  });

  it.skipIf(!chromiumBinary())('renders the workflow list in headless Chromium, with no policy violation', async () => {
    const cookie = await signIn('bob');
    const browser = await launchChromium(chromiumBinary()!);
    try {
      const context = await browser.newContext({ viewport: VIEWPORT });
      await context.addCookies([
        { name: 'strata_session', value: cookie.split('=')[1], url: api.base, httpOnly: true, sameSite: 'Lax' },
      ]);
      const page = await context.newPage();
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/content security policy/i.test(m.text())) violations.push(m.text());
      });
      // Every API call the UI makes must succeed with the person's read-only tokens.
      const failed: string[] = [];
      page.on('response', (r) => {
        if (r.url().includes('/temporal/api/') && r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
      });
      await page.goto(`${api.base}/temporal/`);
      await page.waitForURL(`**/temporal/namespaces/${NAMESPACE}/workflows**`);
      await expect
        .poll(() => page.getByText(workflowId).count(), { timeout: 60_000, interval: 1_000 })
        .toBeGreaterThan(0);
      expect(violations).toEqual([]);
      expect(failed).toEqual([]);
      await page.screenshot({ path: path.join(ROOT, 'docs/img/temporal-ui.png') });
      // The workflow's own page: its status and history, read-only.
      await page.getByText(workflowId).first().click();
      await page.waitForURL(`**/workflows/${workflowId}/**`);
      await expect.poll(() => page.getByText('No Workers Running').count(), { timeout: 30_000 }).toBeGreaterThan(0);
      // The UI offers no write: its cancel button is disabled (disableWriteActions).
      expect(await page.getByRole('button', { name: 'Request Cancellation' }).isDisabled()).toBe(true);
      expect(failed).toEqual([]);
      expect(violations).toEqual([]);
      await context.close();
    } finally {
      await browser.close();
    }
  });

  it('refuses writes through the proxy (405, in the refusal log), and the workflow keeps running', async () => {
    const cookie = await signIn('bob');
    for (const [method, route] of [
      ['POST', `${describePath}/terminate`],
      ['POST', `${describePath}/signal/layerDecision`],
      ['POST', `${describePath}/cancel`],
      ['DELETE', describePath],
    ] as const) {
      const res = await request(`${api.base}${route}`, {
        method,
        headers: { cookie, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'through the UI' }),
      });
      const text = await res.body.text();
      expect(res.statusCode, `${method} ${route}: ${text}`).toBe(405);
      expect(res.headers.allow).toBe('GET, HEAD');
    }
    expect(await runningStatus()).toBe('RUNNING');
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    expect((history.events ?? []).some((e) => e.workflowExecutionSignaledEventAttributes)).toBe(false);

    const bobToken = (await authorizationCodeToken(provider.issuer, 'bob')).accessToken;
    const refusals = await callApi(api.base, 'GET', '/audit/refusals', bobToken);
    expect(refusals.status).toBe(200);
    const mine = (refusals.body as { status: number; actor: string; route: string }[]).filter((r) => r.status === 405);
    expect(mine.length).toBeGreaterThanOrEqual(4);
    expect(mine[0].actor).toBe(`${provider.issuer}#${OIDC_TEST_PROVIDER.users.bob.subject}`);
  });

  it('lets nothing through without a session, with a forged one, or without a role', async () => {
    for (const cookie of [undefined, 'strata_session=forged-0123456789012345678901234567890123']) {
      const api_ = await get(`${api.base}${listPath}`, cookie);
      expect(api_.status).toBe(401);
      expect(json(api_.text)).toMatchObject({ code: 16 });
      expect(api_.text).not.toContain(workflowId);
      const page = await request(`${api.base}/temporal/namespaces/${NAMESPACE}/workflows`, {
        headers: cookie ? { cookie } : {},
      });
      const body = await page.body.text();
      expect(page.statusCode).toBe(303);
      expect(page.headers.location).toBe(
        `/ui/login?return=${encodeURIComponent(`/temporal/namespaces/${NAMESPACE}/workflows`)}`,
      );
      expect(body).not.toContain('sveltekit');
      const post = await request(`${api.base}${describePath}/terminate`, {
        method: 'POST',
        headers: { ...(cookie ? { cookie } : {}), 'content-type': 'application/json' },
        body: '{}',
      });
      await post.body.dump();
      expect(post.statusCode).toBe(401);
    }
    // Alice signs in, but access.yaml grants her no role.
    const alice = await signIn('alice');
    const res = await get(`${api.base}${listPath}`, alice);
    expect(res.status).toBe(403);
    expect(res.text).not.toContain(workflowId);
    expect(await runningStatus()).toBe('RUNNING');
  });

  it('keeps the UI server across ups, shows it in status, and stops it with down', async () => {
    const again = await clusterUp({ home, namespace: NAMESPACE, retentionDays: 30, progress: quiet });
    expect(again.ui).toEqual({ url: info.ui!.url, pid: info.ui!.pid, reused: true });
    expect((await clusterStatus(home)).ui).toMatchObject({ state: 'running', url: info.ui!.url, pid: info.ui!.pid });
    // The CLI: a second up says where the UI server runs and how to open it; status shows it.
    const env = { TEMPORAL_ADDRESS: info.address, TEMPORAL_NAMESPACE: NAMESPACE };
    const upCli = await runStrata(['cluster', 'up'], { home, taskQueue }, env);
    expect(upCli.code, upCli.stderr).toBe(0);
    expect(upCli.stderr).toContain(`Web UI server already running at ${info.ui!.url} (pid ${info.ui!.pid})`);
    expect(upCli.stderr).toContain(`strata serve --temporal-ui ${info.ui!.url}`);
    const status = await runStrata(['cluster', 'status'], { home, taskQueue }, env);
    expect(status.stdout).toMatch(
      new RegExp(`^web ui +running ${info.ui!.url} \\(v2\\.42\\.1, pid ${info.ui!.pid} since `, 'm'),
    );
    const { stopped } = await clusterDown(home);
    expect(stopped).toContain(info.ui!.pid);
    expect(await uiAnswers(uiPort)).toBe(false);
    expect((await clusterStatus(home)).ui).toMatchObject({ state: 'stopped', url: info.ui!.url });
    // Through serve, a signed-in person now gets a clear 502, not a hang.
    const res = await get(`${api.base}${listPath}`, await signIn('bob'));
    expect(res.status).toBe(502);
    expect(res.text).toContain('strata cluster up --ui-port');
  });
});

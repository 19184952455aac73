// The approver's web inbox end to end: `strata serve` behind the real OpenID provider process, a
// real worker and dev server, and Debian's Chromium driven by playwright-core. People sign in through
// the provider's own login form (authorization code + PKCE), open a pending approval from the inbox,
// approve it with a reason, and see the layer move on; the initiator sees no approve button and is
// refused (403) when posting anyway; a POST without the CSRF token is refused (403). The inbox and
// approval page screenshots in docs/img/ come from here.

import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAccess } from '../../src/api/access';
import { createOidcVerifier } from '../../src/api/oidc';
import { OIDC_TEST_PROVIDER, type RunningOidcProvider, startOidcProvider } from '../../src/api/oidc-provider';
import { parseLadder } from '../../src/config/ladder';
import type { PromotionStatus } from '../../src/domain/status';
import { applyLadder } from '../../src/temporal/ladders';
import { freePort } from '../../src/tools/ports';
import { callApi, startTestApi, type TestApi, uploadCandidate } from '../helpers/api';
import { ROOT, waitForStatus, workerSuite } from '../helpers/harness';
import { exampleCandidate } from '../helpers/ladders';
import { authorizationCodeToken } from '../helpers/oidc';
import { chromiumBinary, launchChromium, pngSize, VIEWPORT } from '../helpers/prometheus-ui';

const chromiumPath = chromiumBinary();
const skip = !chromiumPath && process.env.CI !== 'true'; // on CI, .ci/run installs chromium: never skip there
if (skip) console.warn('web-inbox.test.ts skipped: no chromium here (apt-get install chromium)');

const LADDER = `
name: web-ladder
layers:
  - name: traffic
    seed: { rows: 500, seed: 3 }
    gates:
      - { type: quality, threshold: 0.6 }
      - type: slo
        threshold: 2000
        options:
          load: { phases: [ { constant: { rate: 20, duration: 4s } } ], maxConcurrency: 8 }
    approval: { required: 1, approvers: [group:prod], expiry: 2h }
    drills:
      process-killed: { rto: 30s, rpo: 0s }
  - name: mirror
    seed: { rows: 500, seed: 5 }
    gates:
      - { type: quality, threshold: 0.6 }
    approval: auto
`;

const suite = workerSuite('web-inbox');
let provider: RunningOidcProvider;
let api: TestApi;
let browser: Browser;
let aliceToken: string;
const alice = OIDC_TEST_PROVIDER.users.alice;
const bob = OIDC_TEST_PROVIDER.users.bob;

beforeAll(async () => {
  if (skip) return;
  const dir = fs.mkdtempSync(path.join(suite.home, 'web-'));
  provider = await startOidcProvider({
    port: await freePort(),
    logFile: path.join(dir, 'provider.log'),
    // A native (public) client: any loopback port goes with this redirect URI (RFC 8252).
    redirectUris: ['http://127.0.0.1/ui/callback', 'http://127.0.0.1/callback'],
  });
  fs.writeFileSync(
    path.join(dir, 'access.yaml'),
    `oidc:
  issuer: ${provider.issuer}
  audience: ${provider.audience}
  webClientId: ${OIDC_TEST_PROVIDER.cliClientId}
grants:
  - role: operator
    groups: [operators]
  - role: approver:prod
    groups: [approvers-prod, data-stewards]
  - role: auditor
    groups: [data-stewards]
`,
  );
  const access = loadAccess(path.join(dir, 'access.yaml'));
  const verifier = createOidcVerifier(access.oidc!);
  await verifier.discover();
  api = await startTestApi({ ...suite, access, oidc: (token) => verifier.verify(token) });
  await applyLadder(suite.client, suite.taskQueue, parseLadder(LADDER, 'web-ladder.yaml'), {
    actor: 'test',
    reason: 'web inbox test',
  });
  aliceToken = (await authorizationCodeToken(provider.issuer, 'alice')).accessToken;
  browser = await launchChromium(chromiumPath!);
});

afterAll(async () => {
  await browser?.close();
  await api?.close();
  await provider?.stop();
});

/** Alice (operator and approver) promotes a candidate through the API: she is its initiator. */
async function promoteAsAlice(name: 'fraud-v1' | 'fraud-v2'): Promise<string> {
  const candidate = await exampleCandidate(name);
  const res = await callApi(api.base, 'POST', '/promotions', aliceToken, {
    ladder: 'web-ladder',
    candidate: await uploadCandidate(api.base, aliceToken, candidate.dir),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

const awaiting = (s: PromotionStatus) => s.layers[0]?.phase === 'awaiting-approval';

/** A browser context signed in as `user` through the provider's login form. */
async function signIn(user: 'alice' | 'bob'): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  await page.goto(`${api.base}/`);
  await page.getByRole('link', { name: 'Sign in with OpenID Connect' }).click();
  await page.waitForURL(`${provider.issuer}/login/**`);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(OIDC_TEST_PROVIDER.users[user].password);
  await page.keyboard.press('Enter');
  await page.waitForURL(`${api.base}/`);
  await expect.poll(() => page.locator('form.who').innerText()).toContain(OIDC_TEST_PROVIDER.users[user].email);
  return { context, page };
}

describe.skipIf(skip)('the web inbox in headless Chromium', () => {
  it('signs in through the real provider; the session cookie is HttpOnly and SameSite', async () => {
    const { context } = await signIn('bob');
    const cookies = await context.cookies(api.base);
    const session = cookies.find((c) => c.name === 'strata_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    expect(session!.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Without the cookie, nothing but the sign-in page.
    const anonymous = await browser.newContext();
    const res = await anonymous.request.get(`${api.base}/`);
    expect(await res.text()).toContain('Sign in with OpenID Connect');
    await anonymous.close();
    await context.close();
  });

  it('bob approves a pending approval from the inbox and sees the layer move on', async () => {
    const id = await promoteAsAlice('fraud-v1');
    await waitForStatus(suite.client, id, awaiting, 120_000);
    const { context, page } = await signIn('bob');
    // The inbox lists it (live: it may appear on a refresh while the page is open).
    const row = page.locator('table.inbox tbody tr', { hasText: id });
    await expect.poll(async () => row.count(), { timeout: 15_000, interval: 1_000 }).toBe(1);
    expect(await row.innerText()).toContain('traffic');
    // Keyboard only: focus the candidate link and follow it.
    await row.getByRole('link', { name: 'fraud-scoring 1.0.0' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/ui/approvals/${encodeURIComponent(id)}/traffic`);
    await expect.poll(() => page.locator('#phase').innerText()).toBe('awaiting-approval');
    const gates = await page.locator('table.gates tbody').innerText();
    expect(gates).toMatch(/quality/);
    expect(gates).toMatch(/slo/);
    expect(await page.locator('figure.chart svg path.p99').count()).toBeGreaterThan(0);
    await page.getByLabel(/Reason/).fill('SLO and quality well within thresholds');
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL(/done=approve/);
    expect(await page.getByRole('status').innerText()).toContain('approval was recorded');
    const done = await waitForStatus(suite.client, id, (s) => s.state === 'promoted', 120_000);
    expect(done.layers[0].approvals).toMatchObject([
      {
        actor: `${provider.issuer}#${bob.subject}`,
        decision: 'approve',
        reason: 'SLO and quality well within thresholds',
      },
    ]);
    expect(done.layers[0].approvals[0].evidence).toMatch(/^[0-9a-f]{64}$/);
    // The timeline shows the traffic layer promoted and the mirror layer moved on, and who acted.
    await page.goto(`${api.base}/ui/promotions/${encodeURIComponent(id)}`);
    const timeline = await page.locator('table.timeline').innerText();
    expect(timeline).toMatch(/traffic\s+promoted/);
    expect(timeline).toMatch(/mirror\s+promoted/);
    expect(timeline).toContain(`${provider.issuer}#${bob.subject}`);
    await page.screenshot({ path: path.join(ROOT, 'docs/img/timeline.png'), fullPage: true });
    // The audit page (bob is an auditor) filters by promotion and action.
    await page.goto(`${api.base}/ui/audit?promotion=${encodeURIComponent(id)}&action=approval.`);
    const audit = await page.locator('table.audit').innerText();
    expect(audit).toContain('approval.granted');
    expect(audit).not.toContain('promotion.started');
    // A DR drill of the traffic layer (now running fraud v1): the next approval page shows its verdict.
    const drill = await callApi(api.base, 'POST', '/drills', aliceToken, {
      ladder: 'web-ladder',
      layer: 'traffic',
      scenario: 'process-killed',
    });
    expect(drill.status, JSON.stringify(drill.body)).toBeLessThan(300);
    await context.close();
  });

  it('shows the initiator no approve button and refuses her POST with 403; refuses a POST without CSRF token', async () => {
    // Bob's inbox is open before the promotion waits for him: it appears there live, without a reload.
    const asBob = await signIn('bob');
    expect(await asBob.page.locator('#inbox').innerText()).toContain('Nothing waits for your approval');
    const id = await promoteAsAlice('fraud-v2');
    await waitForStatus(suite.client, id, awaiting, 120_000);
    const url = `${api.base}/ui/approvals/${encodeURIComponent(id)}/traffic`;
    const inboxRow = asBob.page.locator('table.inbox tbody tr', { hasText: id });
    await expect.poll(async () => inboxRow.count(), { timeout: 20_000, interval: 1_000 }).toBe(1);
    expect(await asBob.page.locator('#inbox').getAttribute('data-refreshed')).toBeTruthy();

    // Bob's view: the evidence with the known-good (fraud v1) deltas and changed files; screenshots.
    const img = path.join(ROOT, 'docs/img');
    fs.mkdirSync(img, { recursive: true });
    await asBob.page.screenshot({ path: path.join(img, 'inbox.png'), fullPage: true });
    await asBob.page.goto(url);
    expect(await asBob.page.locator('table.compare').innerText()).toMatch(/Known-good\s+1\./);
    expect(await asBob.page.locator('table.gates thead').innerText()).toContain('Known-good');
    expect(await asBob.page.getByRole('button', { name: 'Approve' }).count()).toBe(1);
    expect(await asBob.page.locator('section', { hasText: 'Last DR drill' }).innerText()).toMatch(
      /met\s+process-killed/,
    );
    expect(await asBob.page.locator('ul.files').innerText()).toContain('model.json');
    await asBob.page.screenshot({ path: path.join(img, 'approval.png'), fullPage: true });
    for (const file of ['inbox.png', 'approval.png']) {
      const size = pngSize(path.join(img, file));
      expect(size.width).toBe(VIEWPORT.width);
    }
    // A POST with bob's session but no CSRF token: 403, and nothing decided.
    const csrfless = await asBob.context.request.post(`${url}/decide`, {
      form: { decision: 'approve', reason: 'no token', digest: 'a'.repeat(64) },
      maxRedirects: 0,
    });
    expect(csrfless.status()).toBe(403);
    expect(await csrfless.text()).toContain('CSRF');

    // Alice started it: no approve button, and her direct POST (with her own valid CSRF token) is 403.
    const asAlice = await signIn('alice');
    expect(await asAlice.page.locator('table.inbox tbody tr', { hasText: id }).count()).toBe(0);
    await asAlice.page.goto(url);
    expect(await asAlice.page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    expect(await asAlice.page.locator('#cannot').innerText()).toContain('You started this promotion');
    const csrf = await asAlice.page.locator('form.who input[name=csrf]').inputValue();
    const digest = (await asBob.page.locator('form.decide input[name=digest]').inputValue()) as string;
    const forced = await asAlice.context.request.post(`${url}/decide`, {
      form: { csrf, decision: 'approve', reason: 'my own', digest },
      maxRedirects: 0,
    });
    expect(forced.status()).toBe(403);
    expect(await forced.text()).toContain('You started this promotion');
    const still = await waitForStatus(suite.client, id, () => true);
    expect(still.layers[0]).toMatchObject({ phase: 'awaiting-approval', approvals: [] });
    // Both refusals are in the API's refusal log, with the verified actors (bob is an auditor).
    const bobToken = (await authorizationCodeToken(provider.issuer, 'bob')).accessToken;
    const refusals = await callApi(api.base, 'GET', '/audit/refusals', bobToken);
    expect(refusals.status).toBe(200);
    const logged = refusals.body as Array<{ actor: string; status: number; reason: string }>;
    expect(logged).toContainEqual(
      expect.objectContaining({
        actor: `${provider.issuer}#${bob.subject}`,
        status: 403,
        reason: expect.stringContaining('CSRF'),
      }),
    );
    expect(logged).toContainEqual(
      expect.objectContaining({
        actor: `${provider.issuer}#${alice.subject}`,
        status: 403,
        reason: expect.stringContaining('You started'),
      }),
    );

    // Bob rejects with a reason: the layer fails.
    await asBob.page.getByLabel(/Reason/).fill('not this one: see the p99 delta');
    await asBob.page.getByRole('button', { name: 'Reject' }).click();
    await asBob.page.waitForURL(/done=reject/);
    const rejected = await waitForStatus(suite.client, id, (s) => s.state === 'failed', 120_000);
    expect(rejected.layers[0].approvals[0]).toMatchObject({
      decision: 'reject',
      actor: `${provider.issuer}#${bob.subject}`,
    });
    await asAlice.context.close();
    await asBob.context.close();
  });
});

// Reminders, escalation and webhook notifications of a waiting approval (issue 12 §3), on the run's
// real dev server with a real worker: the layer's durable timers send reminders through the notify
// activity to local receiving HTTP servers (node:http) that fail their first deliveries, then widen
// the approvers to the escalation group. The Idempotency-Key stays the same across retries, the
// HMAC signature verifies, and an undeliverable webhook blocks nothing and is audited as
// notification.failed.

import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { collectAuditEntries } from '../../src/audit/collect';
import { type AuditEntry, auditTrail } from '../../src/audit/trail';
import { parseLadder } from '../../src/config/ladder';
import type { PromotionStatus } from '../../src/domain/status';
import { approve, getStatus, RefusedError, startPromotion, waitForResult } from '../../src/temporal/promotions';
import { verifyWebhook } from '../../src/notify/signature';
import { artifactsOf, waitForStatus, workerSuite } from '../helpers/harness';
import { exampleCandidate } from '../helpers/ladders';

const suite = workerSuite('reminders');
const SECRET_ENV = 'STRATA_TEST_REMINDER_SECRET';
const SECRET = 'a-shared-secret-for-the-test-receiver';

interface Received {
  at: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  status: number;
}

/**
 * A receiving webhook: answers the first `failFirst` deliveries of the first notice it receives
 * (by Idempotency-Key) with 503 (or every delivery with `status`), the rest with 200. Counted per
 * notice, so a later notice arriving between the retries of the first (a loaded machine delays
 * them) does not take one of its failures.
 */
async function receiver(opts: { failFirst?: number; status?: number } = {}) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const key = req.headers['idempotency-key'];
      const firstKey = received[0]?.headers['idempotency-key'] ?? key;
      const ofFirst = received.filter((r) => r.headers['idempotency-key'] === firstKey).length;
      const status = opts.status ?? (key === firstKey && ofFirst < (opts.failFirst ?? 0) ? 503 : 200);
      received.push({ at: Date.now(), headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'unavailable');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function writeStrataYaml(text: string) {
  fs.writeFileSync(path.join(suite.home, 'strata.yaml'), text);
}

function ladderWith(name: string, approval: string) {
  return parseLadder(
    `
name: ${name}
layers:
  - name: traffic
    seed: { rows: 1000, seed: 3 }
    gates:
      - { type: quality, threshold: 0.78 }
    approval: ${approval}
`,
    `${name}.yaml`,
  );
}

async function startOn(name: string, approval: string): Promise<string> {
  const ladder = ladderWith(name, approval);
  return startPromotion(suite.client, {
    id: `${name}-${path.basename(suite.home).slice(-6)}`,
    ladder,
    layers: ladder.layers,
    candidate: await exampleCandidate('fraud-v2'),
    initiator: 'dana',
    taskQueue: suite.taskQueue,
    artifacts: artifactsOf(suite.home),
  });
}

/**
 * With STRATA_RECORD_HISTORIES=1, writes the promotion's and its layer's histories to
 * test/replay/histories/ (the replay test then guards the approval-reminders path).
 */
async function recordHistories(id: string): Promise<void> {
  if (process.env.STRATA_RECORD_HISTORIES !== '1') return;
  const dir = path.join(__dirname, '..', 'replay', 'histories');
  for (const workflowId of [id, `${id}.traffic`]) {
    const history = await suite.client.workflow.getHandle(workflowId).fetchHistory();
    fs.writeFileSync(path.join(dir, `${workflowId}.json`), historyToJSON(history));
  }
}

const traffic = (s: PromotionStatus) => s.layers.find((l) => l.name === 'traffic');

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const servers: Array<{ close(): Promise<void> }> = [];
afterAll(async () => {
  for (const s of servers) await s.close();
  delete process.env[SECRET_ENV];
});

describe('approval reminders, escalation and webhooks (real dev server, real HTTP receivers)', () => {
  it('reminds through a flaky signed webhook and Slack, then escalates to a group whose member may then approve; all of it audited', async () => {
    process.env[SECRET_ENV] = SECRET;
    const signed = await receiver({ failFirst: 2 });
    const slack = await receiver();
    servers.push(signed, slack);
    writeStrataYaml(`
notifications:
  link: http://strata.example.test:8600
  webhooks:
    - { name: pager, format: signed, url: ${signed.url}, secret: { env: ${SECRET_ENV} }, events: [approval.reminder, approval.escalated] }
    - { name: team-slack, format: slack, url: ${slack.url}, events: [approval.reminder, approval.escalated] }
`);
    const id = await startOn(
      'remind-ladder',
      '{ required: 1, approvers: [alice], expiry: 1h, remind: [2s, 4s], escalate: { after: 7s, to: [group:sre-leads] } }',
    );
    const waiting = await waitForStatus(suite.client, id, (s) => traffic(s)?.phase === 'awaiting-approval', 120_000);
    expect(traffic(waiting)?.approval).toMatchObject({ allowed: ['alice'] });
    expect(traffic(waiting)?.approval.escalated).toBeUndefined();

    // Before the escalation a member of sre-leads is not an approver.
    const early = await approve(suite.client, id, {
      layer: 'traffic',
      actor: 'erin',
      groups: ['sre-leads'],
      reason: 'covering for alice',
    }).catch((err: unknown) => err);
    expect(early).toBeInstanceOf(RefusedError);
    expect((early as Error).message).toContain('erin is not an approver of layer traffic (allowed: alice)');

    // The escalation widens the approvers (the status says so) and is notified.
    const escalated = await waitForStatus(suite.client, id, (s) => traffic(s)?.approval.escalated === true, 30_000);
    expect(traffic(escalated)?.approval).toMatchObject({ allowed: ['alice', 'group:sre-leads'], reminders: 2 });
    await until('the escalation at both receivers', async () =>
      [signed, slack].every((r) => r.received.some((x) => x.headers['x-strata-event'] === 'approval.escalated'))
        ? true
        : undefined,
    );

    // Signed: reminder 1 failed twice (503) and was delivered on the third attempt, with the same
    // Idempotency-Key every time; each notice has its own key; every signature verifies.
    const byKey = new Map<string, Received[]>();
    for (const r of signed.received) {
      const key = String(r.headers['idempotency-key']);
      byKey.set(key, [...(byKey.get(key) ?? []), r]);
    }
    const bodies = signed.received.map((r) => JSON.parse(r.body) as Record<string, unknown>);
    const firstKey = bodies[0].idempotencyKey as string;
    expect(firstKey).toMatch(/^strata-[0-9a-f]{40}$/);
    expect(byKey.get(firstKey)!.map((r) => r.status)).toEqual([503, 503, 200]);
    expect(bodies[0]).toMatchObject({ event: 'approval.reminder', reminder: { sequence: 1, of: 2 } });
    expect(byKey.size).toBe(3); // reminder 1, reminder 2, the escalation
    for (const r of signed.received) {
      const check = verifyWebhook({
        secret: SECRET,
        body: r.body,
        timestamp: r.headers['x-strata-timestamp'] as string,
        signature: r.headers['x-strata-signature'] as string,
        nowSeconds: Math.floor(r.at / 1000),
      });
      expect(check).toEqual({ ok: true });
      expect(JSON.parse(r.body).idempotencyKey).toBe(r.headers['idempotency-key']);
      // A body altered in transit, or signed with another secret, does not verify.
      expect(
        verifyWebhook({
          secret: 'another-secret',
          body: r.body,
          timestamp: r.headers['x-strata-timestamp'] as string,
          signature: r.headers['x-strata-signature'] as string,
          nowSeconds: Math.floor(r.at / 1000),
        }).ok,
      ).toBe(false);
    }
    const escalation = bodies.find((b) => b.event === 'approval.escalated')!;
    expect(escalation).toMatchObject({
      promotionId: id,
      layer: 'traffic',
      candidate: { name: 'fraud-scoring', version: '2.0.0' },
      approvers: ['alice', 'group:sre-leads'],
      escalatedTo: ['group:sre-leads'],
      required: 1,
      approvals: 0,
      expiry: '1h',
      links: { inbox: 'http://strata.example.test:8600/' },
    });
    // No data values: identifiers, names, people and durations only.
    expect(Object.keys(escalation).sort()).toEqual(
      [
        'approvals',
        'approve',
        'approvers',
        'candidate',
        'escalatedTo',
        'event',
        'expiry',
        'idempotencyKey',
        'layer',
        'links',
        'promotionId',
        'required',
        'sentAt',
        'waited',
        'workflowId',
      ].sort(),
    );

    // Slack: {"text": …} for each notice, with the notice's idempotency header (a retry of a notice
    // that reached Slack but not the pager may post it again: at-least-once, same key).
    const slackKeys = [...new Set(slack.received.map((r) => String(r.headers['idempotency-key'])))];
    expect(slackKeys).toEqual([...byKey.keys()]);
    const texts = slackKeys.map(
      (key) => JSON.parse(slack.received.find((r) => r.headers['idempotency-key'] === key)!.body) as { text: string },
    );
    for (const r of slack.received) expect(Object.keys(JSON.parse(r.body))).toEqual(['text']);
    expect(texts[0].text).toContain('*Reminder 1/2*');
    expect(texts[0].text).toContain(id);
    expect(texts[0].text).toContain('Who may approve: alice');
    expect(texts[2].text).toContain('*Escalated*');
    expect(texts[2].text).toContain('group:sre-leads may now approve');

    // Now erin, as a member of the escalation group, may approve; the layer moves on.
    const reply = await approve(suite.client, id, {
      layer: 'traffic',
      actor: 'erin',
      groups: ['sre-leads'],
      reason: 'escalated to me',
    });
    expect(reply).toMatchObject({ quorumReached: true, count: 1, required: 1 });
    expect((await waitForResult(suite.client, id)).state).toBe('promoted');

    const audit = await auditTrail(suite.client, id);
    const actions = (a: string) => audit.filter((e) => e.action === a);
    // In the order they were delivered (reminder 1 needed its third attempt, after reminder 2).
    // A webhook reached by an earlier attempt is not posted again (when its heartbeat details arrived).
    expect(
      actions('notification.reminder-sent')
        .map((e) => e.detail)
        .sort(),
    ).toEqual([
      expect.stringMatching(
        /^reminder 1\/2 \[idempotency key strata-[0-9a-f]{40}\]: delivered to team-slack \(attempt [13]\), pager \(attempt 3\)$/,
      ),
      expect.stringMatching(/^reminder 2\/2 .*: delivered to pager \(attempt 1\), team-slack \(attempt 1\)$/),
    ]);
    expect(actions('approval.escalated')).toEqual([
      expect.objectContaining({
        layer: 'traffic',
        actor: 'strata',
        detail: 'no quorum after 7s: group:sre-leads may now approve as well',
      }),
    ]);
    expect(actions('notification.escalation-sent')).toHaveLength(1);
    expect(actions('notification.failed')).toEqual([]);
    const erin = audit.filter((e: AuditEntry) => e.actor === 'erin').map((e) => e.action);
    expect(erin).toEqual(['approval.refused', 'approval.granted']);
    // In time order: refused before the escalation, granted after it.
    const at = (a: string, actor?: string) => audit.findIndex((e) => e.action === a && (!actor || e.actor === actor));
    expect(at('approval.refused', 'erin')).toBeLessThan(at('approval.escalated'));
    expect(at('approval.escalated')).toBeLessThan(at('approval.granted', 'erin'));
    await recordHistories(id);
  }, 180_000);

  it('an undeliverable webhook (always 500, or a closed port) blocks nothing and is audited as notification.failed', async () => {
    const broken = await receiver({ status: 500 });
    servers.push(broken);
    const port = await closedPort();
    process.env[SECRET_ENV] = SECRET;
    writeStrataYaml(`
notifications:
  webhooks:
    - { name: broken, format: signed, url: ${broken.url}, secret: { env: ${SECRET_ENV} }, events: [approval.reminder] }
    - { name: nowhere, format: slack, url: "http://127.0.0.1:${port}/hook", events: [approval.reminder] }
`);
    const id = await startOn(
      'undeliverable-ladder',
      '{ required: 1, approvers: [alice], expiry: 1h, remind: [1s, 2s] }',
    );
    await waitForStatus(suite.client, id, (s) => traffic(s)?.phase === 'awaiting-approval', 120_000);

    // Reminder 1 runs out of retries (5 attempts, about 15 s) while the layer keeps waiting.
    const failed = await until(
      'notification.failed in the audit',
      async () => {
        const entries = (await auditTrail(suite.client, id)).filter((e) => e.action === 'notification.failed');
        return entries.length >= 2 ? entries : undefined;
      },
      60_000,
    );
    expect(failed[0].detail).toMatch(/^reminder [12]\/2 \[idempotency key strata-[0-9a-f]{40}\]: /);
    expect(failed[0].detail).toContain('webhook broken: HTTP 500');
    expect(failed[0].detail).toContain('webhook nowhere: ECONNREFUSED');
    expect(failed[0].detail).toContain('(attempt 5)');
    const stillWaiting = await getStatus(suite.client, id);
    expect(traffic(stillWaiting)?.phase).toBe('awaiting-approval');
    expect(traffic(stillWaiting)?.approval.reminders).toBe(2);
    // Every attempt of one notice carried the same key.
    const keys = new Set(broken.received.map((r) => r.headers['idempotency-key']));
    expect(keys.size).toBe(2);
    expect(broken.received).toHaveLength(10);

    // The approval goes through at once and the promotion completes.
    const started = Date.now();
    await approve(suite.client, id, { layer: 'traffic', actor: 'alice', reason: 'fine' });
    expect((await waitForResult(suite.client, id)).state).toBe('promoted');
    expect(Date.now() - started).toBeLessThan(30_000);
    const audit = await auditTrail(suite.client, id);
    expect(audit.filter((e) => e.action === 'notification.failed')).toHaveLength(2);
    expect(audit.some((e) => e.action === 'promotion.completed')).toBe(true);
    await recordHistories(id);

    // The audit export (strata audit export, the daily Schedule) carries the same entries, and the
    // first test's escalation (visibility may lag a moment behind the close).
    const exported = await until('both promotions in the export', async () => {
      const all = await collectAuditEntries(suite.client, suite.taskQueue, suite.home);
      return all.some((e) => e.source === `promotion:${id}` && e.action === 'promotion.completed') &&
        all.some((e) => e.action === 'approval.escalated')
        ? all
        : undefined;
    });
    expect(exported.filter((e) => e.source === `promotion:${id}` && e.action === 'notification.failed')).toHaveLength(
      2,
    );
    expect(exported.filter((e) => e.action === 'notification.reminder-sent').length).toBeGreaterThanOrEqual(2);
  }, 180_000);

  it('a notification still being retried when the approval arrives does not hold the promotion back', async () => {
    const broken = await receiver({ status: 503 });
    servers.push(broken);
    writeStrataYaml(`
notifications:
  webhooks:
    - { name: slow-down, format: slack, url: ${broken.url}, events: [approval.reminder] }
`);
    const id = await startOn('inflight-ladder', '{ required: 1, approvers: [alice], expiry: 1h, remind: [1s] }');
    await waitForStatus(suite.client, id, (s) => traffic(s)?.phase === 'awaiting-approval', 120_000);
    await until('a first failed delivery', async () => (broken.received.length > 0 ? true : undefined), 30_000);
    const started = Date.now();
    await approve(suite.client, id, { layer: 'traffic', actor: 'alice', reason: 'fine' });
    expect((await waitForResult(suite.client, id)).state).toBe('promoted');
    // Well before the notification's retries (about 15 s) could have run out; the audit says it was abandoned.
    expect(Date.now() - started).toBeLessThan(12_000);
    const audit = await auditTrail(suite.client, id);
    expect(audit.filter((e) => e.action === 'notification.failed').map((e) => e.detail)).toEqual([
      expect.stringMatching(
        /^reminder 1\/1 \[idempotency key strata-[0-9a-f]{40}\]: not delivered before the layer ended$/,
      ),
    ]);
  }, 180_000);
  it('tells the approvers when an approval is wanted and when it expired; the expiry notice is delivered before the layer ends', async () => {
    process.env[SECRET_ENV] = SECRET;
    const signed = await receiver();
    const slack = await receiver({ failFirst: 1 });
    servers.push(signed, slack);
    // No `events`: every event, the request and the expiry included.
    writeStrataYaml(`
notifications:
  webhooks:
    - { name: pager, format: signed, url: ${signed.url}, secret: { env: ${SECRET_ENV} } }
    - { name: team-slack, format: slack, url: ${slack.url} }
`);
    const id = await startOn('expiry-ladder', '{ required: 1, approvers: [alice], expiry: 4s }');
    const request = await until(
      'the approval request at the signed webhook',
      async () => signed.received.find((r) => r.headers['x-strata-event'] === 'approval.requested'),
      120_000,
    );
    const requested = JSON.parse(request.body) as Record<string, unknown>;
    expect(requested).toMatchObject({
      event: 'approval.requested',
      promotionId: id,
      layer: 'traffic',
      approvers: ['alice'],
      required: 1,
      approvals: 0,
      waited: '0s',
      expiry: '4s',
      approve: `strata approve ${id} --layer traffic --reason '…'`,
    });
    const result = await waitForResult(suite.client, id);
    expect(result.state).toBe('failed');
    expect(result.layers.find((l) => l.name === 'traffic')?.failure).toBe(
      'approval expired: 1 approval(s) needed within 4s',
    );
    // Delivered before the promotion ended: the layer waited for it (Slack's first delivery, the
    // request, got a 503 and was retried).
    const expired = signed.received.find((r) => r.headers['x-strata-event'] === 'approval.expired');
    expect(expired, 'the expiry notice at the signed webhook').toBeDefined();
    const expiredBody = JSON.parse(expired!.body) as Record<string, unknown>;
    expect(expiredBody).toMatchObject({ event: 'approval.expired', waited: '4s', approvals: 0, expiry: '4s' });
    expect(expiredBody.approve).toBeUndefined(); // it can no longer be given
    expect(expiredBody.idempotencyKey).not.toBe(requested.idempotencyKey);
    const slackExpiry = slack.received.filter((r) => JSON.parse(r.body).text.includes('*Approval expired*'));
    expect(slackExpiry.map((r) => r.status)).toContain(200);
    expect(slack.received.some((r) => JSON.parse(r.body).text.includes('*Approval wanted*'))).toBe(true);

    const audit = await auditTrail(suite.client, id);
    const actions = (a: string) => audit.filter((e) => e.action === a).map((e) => e.detail);
    expect(actions('notification.request-sent')).toEqual([
      expect.stringMatching(
        /^approval request \[idempotency key strata-[0-9a-f]{40}\]: delivered to .*pager \(attempt 1\)/,
      ),
    ]);
    expect(actions('notification.expiry-sent')).toEqual([
      expect.stringMatching(/^expiry notice \[idempotency key strata-[0-9a-f]{40}\]: delivered to /),
    ]);
    expect(actions('notification.failed')).toEqual([]);
    const at = (a: string) => audit.findIndex((e) => e.action === a);
    expect(at('notification.request-sent')).toBeLessThan(at('notification.expiry-sent'));
    expect(at('promotion.failed')).toBeGreaterThan(0);
    expect(at('notification.expiry-sent')).toBeLessThan(at('promotion.failed'));
    await recordHistories(id);
  }, 180_000);
});

// Reminders and escalation of a waiting approval: the ladder settings (shape, order, bounds, with
// errors naming the field), the schedule the layer waits on, the widened policy, the idempotency
// key, the notification settings of strata.yaml and the webhook signature.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { loadLadder, parseLadder } from '../../src/config/ladder';
import { ConfigError } from '../../src/validation/errors';
import {
  allowedApprovers,
  approvalReminderSchedule,
  effectivePolicy,
  formatDurationMs,
  notificationKey,
  NOTICE_EVENTS,
} from '../../src/domain/approval-reminders';
import { takeApproval } from '../../src/domain/approval';
import type { ApprovalPolicy } from '../../src/domain/ladder';
import {
  loadNotifications,
  NOTIFICATION_EVENTS,
  NO_NOTIFICATIONS,
  parseNotifications,
  readSecret,
  webhookUrl,
  webhooksFor,
} from '../../src/notify/config';
import { signedBody, slackText } from '../../src/notify/message';
import { signWebhook, verifyWebhook } from '../../src/notify/signature';

function ladder(approval: string, defaults = ''): string {
  return `name: l\n${defaults}layers:\n  - name: traffic\n    seed: { rows: 10, seed: 1 }\n    gates: []\n    approval: ${approval}\n`;
}

function issuesOf(text: string, parse: (t: string) => unknown = (t) => parseLadder(t, 'ladder.yaml')) {
  try {
    parse(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

const tmp: string[] = [];
afterEach(() => {
  for (const d of tmp.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-remind-'));
  tmp.push(d);
  return d;
}

describe('ladder settings approval.remind and approval.escalate', () => {
  it('parses reminders and an escalation, normalising the escalation entries', () => {
    const spec = parseLadder(
      ladder(
        '{ required: 1, approvers: [alice], expiry: 72h, remind: [4h, 20h], escalate: { after: 24h, to: [Group:SRE-Leads, Erin] } }',
      ),
      'ladder.yaml',
    );
    expect(spec.layers[0].approval).toEqual({
      mode: 'manual',
      required: 1,
      approvers: ['alice'],
      expiry: '72h',
      remind: ['4h', '20h'],
      escalate: { after: '24h', to: ['group:sre-leads', 'erin'] },
    });
    // Without them, the policy is as before (no keys added).
    expect(parseLadder(ladder('{ required: 1, approvers: [alice] }'), 'l.yaml').layers[0].approval).toEqual({
      mode: 'manual',
      required: 1,
      approvers: ['alice'],
      expiry: '72h',
    });
  });

  it('refuses reminders out of order, at or after the escalation or the expiry, naming the field', () => {
    expect(
      issuesOf(
        ladder(
          '{ required: 1, approvers: [alice], expiry: 72h, remind: [20h, 4h, 30h], escalate: { after: 24h, to: [bob] } }',
        ),
      ),
    ).toEqual([
      { path: 'layers[0].approval.remind[1]', message: 'reminders must be in increasing order: 4h is not after 20h' },
      {
        path: 'layers[0].approval.remind[2]',
        message: 'the reminder at 30h must come before the escalation (after 24h)',
      },
    ]);
    expect(issuesOf(ladder('{ required: 1, approvers: [alice], expiry: 10h, remind: [4h, 10h] }'))).toEqual([
      {
        path: 'layers[0].approval.remind[1]',
        message: 'the reminder at 10h must come before the expiry (10h, approval.expiry)',
      },
    ]);
    // The expiry may come from defaults, or the 72h default.
    expect(
      issuesOf(ladder('{ required: 1, approvers: [alice], remind: [2d] }', 'defaults: { approvalExpiry: 1d }\n')),
    ).toEqual([
      {
        path: 'layers[0].approval.remind[0]',
        message: 'the reminder at 2d must come before the expiry (1d, defaults.approvalExpiry)',
      },
    ]);
    expect(issuesOf(ladder('{ required: 1, approvers: [alice], escalate: { after: 4d, to: [bob] } }'))).toEqual([
      {
        path: 'layers[0].approval.escalate.after',
        message: 'the escalation (after 4d) must come before the expiry (72h, the default expiry)',
      },
    ]);
  });

  it('refuses an empty escalation group, a bad shape and bad durations, naming the field', () => {
    const paths = (text: string) => issuesOf(text).map((i) => `${i.path}: ${i.message}`);
    expect(paths(ladder('{ required: 1, approvers: [alice], escalate: { after: 24h, to: [] } }'))).toEqual([
      'layers[0].approval.escalate.to: expected at least one approver or group:<name> to escalate to, got an empty list',
    ]);
    expect(paths(ladder('{ required: 1, approvers: [alice], escalate: 24h }'))).toEqual([
      'layers[0].approval.escalate: expected a mapping { after, to }, e.g. { after: 24h, to: [group:sre-leads] }, got "24h"',
    ]);
    expect(paths(ladder('{ required: 1, approvers: [alice], escalate: { after: 24h } }'))[0]).toMatch(
      /^layers\[0\]\.approval\.escalate\.to: /,
    );
    expect(paths(ladder('{ required: 1, approvers: [alice], remind: [soon] }'))[0]).toMatch(
      /^layers\[0\]\.approval\.remind\[0\]: expected a duration such as/,
    );
    expect(paths(ladder('{ required: 1, approvers: [alice], remind: 4h }'))).toEqual([
      'layers[0].approval.remind: expected a list of durations, e.g. [4h, 20h], got "4h"',
    ]);
    expect(paths(ladder('{ required: 1, approvers: [alice], remind: [] }'))).toEqual([
      'layers[0].approval.remind: expected at least one reminder, e.g. [4h, 20h]; leave `remind` out for none',
    ]);
    expect(
      paths(ladder('{ required: 1, approvers: [alice], escalate: { after: 1h, to: [bob], cc: [x] } }'))[0],
    ).toMatch(/^layers\[0\]\.approval\.escalate/);
  });

  it('takes test-scale seconds in parseLadder, and bounds them to at least 1m when a ladder file is loaded', () => {
    const text = ladder(
      '{ required: 1, approvers: [alice], expiry: 1h, remind: [2s], escalate: { after: 5s, to: [bob] } }',
    );
    expect(parseLadder(text, 'l.yaml').layers[0].approval).toMatchObject({ remind: ['2s'] });
    const file = path.join(tempDir(), 'ladder.yaml');
    fs.writeFileSync(file, text);
    expect(issuesOf(file, (f) => loadLadder(f))).toEqual([
      { path: 'layers[0].approval.remind[0]', message: 'expected between 1m and 90d, got "2s"' },
      { path: 'layers[0].approval.escalate.after', message: 'expected between 1m and 90d, got "5s"' },
    ]);
  });
});

describe('the reminder schedule and the widened policy', () => {
  const policy: ApprovalPolicy = {
    mode: 'manual',
    required: 1,
    approvers: ['alice'],
    expiry: '72h',
    remind: ['4h', '24h'],
    escalate: { after: '24h', to: ['group:sre-leads'] },
  };

  it('orders reminders and the escalation in time; a reminder at the escalation comes first', () => {
    expect(approvalReminderSchedule(policy)).toEqual([
      { kind: 'reminder', atMs: 4 * 3_600_000, sequence: 1, of: 2 },
      { kind: 'reminder', atMs: 24 * 3_600_000, sequence: 2, of: 2 },
      { kind: 'escalation', atMs: 24 * 3_600_000, sequence: 1, of: 1 },
    ]);
    expect(approvalReminderSchedule({ mode: 'auto' })).toEqual([]);
    // A step at or past the expiry never happens.
    expect(approvalReminderSchedule({ ...policy, expiry: '24h' }).map((s) => s.kind)).toEqual(['reminder']);
  });

  it('admits the escalation group only once escalated', () => {
    expect(allowedApprovers(policy, false)).toEqual(['alice']);
    expect(allowedApprovers(policy, true)).toEqual(['alice', 'group:sre-leads']);
    const attempt = (escalated: boolean) =>
      takeApproval({
        layer: 'traffic',
        phase: 'awaiting-approval',
        policy: effectivePolicy(policy, escalated),
        initiator: 'dana',
        approvals: [],
        decision: 'approve',
        request: { actor: 'erin', reason: 'on call', groups: ['sre-leads'] },
        at: '2026-12-03T00:00:00.000Z',
      });
    expect(attempt(false)).toMatchObject({ kind: 'refused', reason: expect.stringContaining('not an approver') });
    expect(attempt(true)).toMatchObject({ kind: 'recorded', quorumReached: true });
  });

  it('derives a stable idempotency key from workflow, layer, kind and sequence', () => {
    const key = notificationKey('p1.traffic', 'traffic', 'reminder', 1);
    expect(key).toMatch(/^strata-[0-9a-f]{40}$/);
    expect(notificationKey('p1.traffic', 'traffic', 'reminder', 1)).toBe(key);
    expect(
      new Set([
        key,
        notificationKey('p1.traffic', 'traffic', 'reminder', 2),
        notificationKey('p1.traffic', 'traffic', 'escalation', 1),
        notificationKey('p2.traffic', 'traffic', 'reminder', 1),
      ]).size,
    ).toBe(4);
  });

  it('formats durations as config does', () => {
    expect(formatDurationMs(4 * 3_600_000)).toBe('4h');
    expect(formatDurationMs(5400_000)).toBe('1h30m');
    expect(formatDurationMs(2000)).toBe('2s');
  });
});

describe('notification settings (strata.yaml)', () => {
  it('reads webhooks, filters them by layer and event, and treats a missing default file as none', () => {
    const config = parseNotifications(
      `notifications:
  link: https://strata.example.com/
  webhooks:
    - { name: slack, format: slack, url: { env: SLACK_URL }, layers: [mirror] }
    - { name: pager, format: signed, url: https://hooks.example.com/x, secret: { file: secret.txt }, events: [approval.escalated] }
other: { kept: for other parts }
`,
      '/etc/strata/strata.yaml',
    );
    expect(config.link).toBe('https://strata.example.com');
    expect(webhooksFor(config, 'mirror', 'approval.reminder').map((h) => h.name)).toEqual(['slack']);
    expect(webhooksFor(config, 'traffic', 'approval.escalated').map((h) => h.name)).toEqual(['pager']);
    expect(config.webhooks[1].timeoutSeconds).toBe(10);
    expect(loadNotifications(tempDir(), {})).toEqual(NO_NOTIFICATIONS);
  });

  it('never takes a secret in clear, and names file and field for every mistake', () => {
    const issues = issuesOf(
      `notifications:
  webhooks:
    - { name: pager, format: signed, url: https://hooks.example.com/x, secret: hunter2 }
    - { name: nosecret, format: signed, url: https://hooks.example.com/y }
    - { name: slack, format: slack, url: "ftp://x", secret: { env: X } }
    - { name: pager, format: teams, url: https://hooks.example.com/z }
`,
      (t) => parseNotifications(t, 'strata.yaml'),
    ).map((i) => `${i.path}: ${i.message}`);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^notifications\.webhooks\[0\]\.secret: a secret is never written in clear: give \{ env/),
        expect.stringMatching(/^notifications\.webhooks\[1\]\.secret: a signed webhook needs a secret/),
        expect.stringMatching(/^notifications\.webhooks\[2\]\.url: expected an http\(s\) URL/),
        expect.stringMatching(/^notifications\.webhooks\[3\]\.format: expected "slack" or "signed"/),
      ]),
    );
    // Duplicate names, once the rest is right.
    expect(
      issuesOf(
        `notifications:\n  webhooks:\n    - { name: a, format: slack, url: https://x.example/1 }\n    - { name: a, format: slack, url: https://x.example/2 }\n`,
        (t) => parseNotifications(t, 'strata.yaml'),
      ),
    ).toEqual([{ path: 'notifications.webhooks[1].name', message: 'duplicate webhook name "a" (also webhooks[0])' }]);
    // STRATA_CONFIG naming a missing file is an error naming it.
    expect(() => loadNotifications(tempDir(), { STRATA_CONFIG: '/nonexistent/strata.yaml' })).toThrow(
      /nonexistent\/strata\.yaml/,
    );
  });

  it('reads secrets and secret URLs from the environment or a file, naming the source (not the value) when missing', () => {
    const dir = tempDir();
    const file = path.join(dir, 'strata.yaml');
    fs.writeFileSync(path.join(dir, 'secret.txt'), 's3cret\n');
    expect(readSecret({ file: 'secret.txt' }, file, {})).toBe('s3cret');
    expect(readSecret({ env: 'K' }, file, { K: 'v' })).toBe('v');
    expect(() => readSecret({ env: 'K' }, file, {})).toThrow('environment variable K is not set (or empty)');
    expect(() => readSecret({ file: 'missing.txt' }, file, {})).toThrow(
      /cannot read secret file .*missing\.txt: ENOENT/,
    );
    const config = parseNotifications(
      `notifications:\n  webhooks:\n    - { name: s, format: slack, url: { env: SLACK_URL } }\n`,
      file,
    );
    expect(webhookUrl(config.webhooks[0], file, { SLACK_URL: 'https://hooks.slack.com/services/T/B/x' })).toBe(
      'https://hooks.slack.com/services/T/B/x',
    );
    expect(() => webhookUrl(config.webhooks[0], file, { SLACK_URL: 'not a url' })).toThrow(
      'the URL of webhook s (from env SLACK_URL) is not an http(s) URL',
    );
  });
});

describe('webhook signature', () => {
  const body = '{"event":"approval.reminder"}';

  it('is HMAC-SHA256 over "<timestamp>.<body>", as a receiver recomputes it', () => {
    const expected = createHmac('sha256', 'k').update(`1700000000.${body}`).digest('hex');
    expect(signWebhook('k', 1700000000, body)).toBe(`sha256=${expected}`);
  });

  it('verifies a fresh, untouched notice and refuses an altered, replayed or differently keyed one', () => {
    const timestamp = '1700000000';
    const signature = signWebhook('k', timestamp, body);
    const check = (over: Partial<Parameters<typeof verifyWebhook>[0]>) =>
      verifyWebhook({ secret: 'k', body, timestamp, signature, nowSeconds: 1700000010, ...over });
    expect(check({})).toEqual({ ok: true });
    expect(check({ body: body.replace('reminder', 'escalated') })).toEqual({
      ok: false,
      reason: 'signature does not match',
    });
    expect(check({ secret: 'other' }).ok).toBe(false);
    // The same request sent again an hour later: refused by its timestamp.
    expect(check({ nowSeconds: 1700003600 })).toEqual({
      ok: false,
      reason: 'timestamp 3600 s from now (tolerance 300 s)',
    });
    // A timestamp changed to look fresh breaks the signature.
    expect(check({ timestamp: '1700003600', nowSeconds: 1700003600 }).ok).toBe(false);
    expect(check({ signature: undefined })).toEqual({ ok: false, reason: 'missing or malformed signature' });
    expect(check({ timestamp: 'yesterday' })).toEqual({ ok: false, reason: 'missing or malformed timestamp' });
  });
});

describe('notification bodies', () => {
  const notice = {
    event: 'approval.reminder' as const,
    kind: 'reminder' as const,
    promotionId: 'fraud-scoring-2.0.0-abc123',
    workflowId: 'fraud-scoring-2.0.0-abc123.traffic',
    layer: 'traffic',
    candidate: { name: 'fraud-scoring', version: '2.0.0' },
    sequence: 1,
    of: 2,
    approvers: ['alice', 'bob'],
    required: 1,
    approvals: 0,
    waited: '4h',
    expiry: '72h',
    idempotencyKey: 'strata-k',
  };

  it('carries identifiers, names and people only', () => {
    const signed = JSON.parse(signedBody(notice, { sentAt: '2026-12-03T00:00:00.000Z' })) as Record<string, unknown>;
    expect(signed).toMatchObject({
      event: 'approval.reminder',
      reminder: { sequence: 1, of: 2 },
      approvers: ['alice', 'bob'],
    });
    expect(signed).not.toHaveProperty('links');
    const text = slackText(notice, { link: 'https://strata.example.com' });
    expect(text).toContain('*Reminder 1/2*: layer *traffic* has awaited approval for 4h');
    expect(text).toContain('<https://strata.example.com/|Open the approval inbox>');
  });

  it('says an approval is wanted, and that it expired without the approve command', () => {
    const request = {
      ...notice,
      event: 'approval.requested' as const,
      kind: 'request' as const,
      sequence: 1,
      of: 1,
      waited: '0s',
    };
    const signedRequest = JSON.parse(signedBody(request, { sentAt: '2026-12-03T00:00:00.000Z' })) as Record<
      string,
      unknown
    >;
    expect(signedRequest).toMatchObject({ event: 'approval.requested', waited: '0s' });
    expect(signedRequest.approve).toBe("strata approve fraud-scoring-2.0.0-abc123 --layer traffic --reason '…'");
    expect(signedRequest).not.toHaveProperty('reminder');
    expect(slackText(request, {})).toContain('*Approval wanted*: layer *traffic* passed its gates and awaits approval');
    expect(slackText(request, {})).toContain('Who may approve: alice, bob');

    const expiry = {
      ...notice,
      event: 'approval.expired' as const,
      kind: 'expiry' as const,
      sequence: 1,
      of: 1,
      waited: '72h',
    };
    const signedExpiry = JSON.parse(signedBody(expiry, { sentAt: '2026-12-03T00:00:00.000Z' })) as Record<
      string,
      unknown
    >;
    expect(signedExpiry).toMatchObject({ event: 'approval.expired', waited: '72h', approvals: 0, required: 1 });
    expect(signedExpiry).not.toHaveProperty('approve');
    const text = slackText(expiry, { link: 'https://strata.example.com' });
    expect(text).toContain('*Approval expired*: layer *traffic* waited 72h without a quorum and failed');
    expect(text).not.toContain('strata approve');
    expect(text).not.toContain('Open the approval inbox');
  });

  it('gives each kind of notice its own event, and webhooks may subscribe to each', () => {
    expect(NOTICE_EVENTS).toEqual({
      request: 'approval.requested',
      reminder: 'approval.reminder',
      escalation: 'approval.escalated',
      expiry: 'approval.expired',
    });
    expect([...NOTIFICATION_EVENTS].sort()).toEqual(Object.values(NOTICE_EVENTS).sort());
    expect(notificationKey('w', 'traffic', 'request', 1)).not.toBe(notificationKey('w', 'traffic', 'expiry', 1));
  });
});

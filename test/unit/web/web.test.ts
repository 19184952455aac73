// The web inbox's pure parts: who may decide what the inbox lists, the inbox page over a thousand
// waiting approvals (paged, escaped), the session cookie's attributes and the CSRF comparison.

import { describe, expect, it } from 'vitest';
import { latencyChart } from '../../../src/web/chart';
import { escapeHtml } from '../../../src/web/html';
import { approvalPage, inboxFragment, PAGE_SIZE } from '../../../src/web/pages';
import { mayDecide, type PendingApproval } from '../../../src/web/pending';
import { cookie, parseCookies, sameSecret, SessionStore } from '../../../src/web/session';

const ISSUER = 'http://127.0.0.1:5556';
const alice = `${ISSUER}#user-alice`;
const bob = `${ISSUER}#user-bob`;

function pending(i: number, over: Partial<PendingApproval> = {}): PendingApproval {
  const since = new Date(Date.UTC(2026, 11, 1, 0, 0, i)).toISOString();
  return {
    promotionId: `p-${i}`,
    layer: 'traffic',
    candidate: 'fraud-scoring',
    version: `1.0.${i}`,
    initiator: alice,
    approvers: ['group:prod'],
    required: 1,
    since,
    expiresAt: new Date(Date.parse(since) + 72 * 3600_000).toISOString(),
    ...over,
  };
}

describe('the inbox', () => {
  it('lists for an approver what the policy admits, never what they started themselves', () => {
    const p = pending(1);
    expect(mayDecide(p, bob, ['prod'])).toBe(true);
    expect(mayDecide(p, alice, ['prod'])).toBe(false); // the initiator
    expect(mayDecide(p, bob, ['other'])).toBe(false); // not in group:prod
    expect(mayDecide(pending(2, { approvers: [bob] }), bob, [])).toBe(true); // named directly
  });

  it('pages a thousand waiting approvals, 50 at a time, oldest first as given, quickly', () => {
    const items = Array.from({ length: 1000 }, (_, i) => pending(i));
    const t0 = performance.now();
    const first = inboxFragment(items, 1, Date.parse('2026-12-02T00:00:00Z')).html;
    const last = inboxFragment(items, 20, Date.parse('2026-12-02T00:00:00Z')).html;
    expect(performance.now() - t0).toBeLessThan(200);
    expect(first.match(/<tr>/g)).toHaveLength(PAGE_SIZE + 1); // + the header row
    expect(first).toContain('1000 waiting, oldest first; showing 1–50');
    expect(first).toContain('href="/ui/approvals/p-0/traffic"');
    expect(first).toContain('rel="next"');
    expect(last).toContain('showing 951–1000');
    expect(last).not.toContain('rel="next"');
    // The wait began a day before "now"; the 72 h expiry is two days ahead.
    expect(first).toContain('(24 h 0 min ago)');
    expect(first).toContain('(in 2 d 0 h)');
  });

  it('escapes what people and candidates name', () => {
    const html = inboxFragment([pending(1, { candidate: '<script>x</script>' })], 1, Date.now()).html;
    expect(html).not.toContain('<script>x');
    expect(html).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(escapeHtml(`"'&`)).toBe('&quot;&#39;&amp;');
  });
});

describe('sessions', () => {
  it('sets HttpOnly, SameSite and (over https) Secure on the cookie', () => {
    expect(cookie('s', 'v', { secure: false, maxAgeSec: 60 })).toBe('s=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=60');
    expect(cookie('s', 'v', { secure: true, maxAgeSec: 60 })).toMatch(/; Secure$/);
    expect(parseCookies('a=1; strata_session=xyz; a=2').get('a')).toBe('1');
  });

  it('ends with the access token or after 8 hours, and takes a login attempt only once', () => {
    let now = 1_000_000;
    const store = new SessionStore(() => now);
    const identity = { issuer: ISSUER, subject: 'user-bob', display: 'bob', groups: [], via: 'oidc' as const };
    const s = store.create(identity, now + 60_000);
    expect(store.get(s.id)?.identity.subject).toBe('user-bob');
    expect(sameSecret(s.csrf, s.csrf)).toBe(true);
    expect(sameSecret(undefined, s.csrf)).toBe(false);
    expect(sameSecret(`${s.csrf}x`, s.csrf)).toBe(false);
    now += 60_001;
    expect(store.get(s.id)).toBeUndefined();
    const long = store.create(identity, now + 24 * 3600_000);
    expect(long.expiresAt).toBe(now + 8 * 3600_000);
    const { key } = store.startLogin({ redirectUri: 'http://127.0.0.1/ui/callback', returnTo: '/' });
    expect(store.takeLogin(key)?.returnTo).toBe('/');
    expect(store.takeLogin(key)).toBeUndefined();
  });
});

describe('the latency chart', () => {
  it('draws p50 and p99 per second with the threshold, and marks seconds with errors', () => {
    const svg = latencyChart(
      {
        gate: 'slo',
        runId: 'run-1',
        windows: [
          { second: 0, p50: 10, p99: 40, errors: 0, done: 20, partial: false },
          { second: 1, p50: 12, p99: 300, errors: 2, done: 20, partial: false },
          { second: 2, p50: 11, p99: 50, errors: 0, done: 20, partial: false },
        ],
      },
      500,
    );
    expect(svg).toContain('role="img"');
    expect(svg).toMatch(/<path class="p99" d="M[\d.]+,[\d.]+ L[\d.]+,[\d.]+ L/);
    expect(svg).toContain('threshold 500 ms');
    expect(svg.match(/<rect class="err"/g)).toHaveLength(1);
  });
});

describe('the approval page', () => {
  const gate = (name: string, value: number) => ({
    name,
    type: 'slo',
    passed: true,
    value,
    threshold: 500,
    unit: 'ms',
    detail: `p99 ${value} ms`,
  });
  const view = {
    status: {
      id: 'p-1',
      candidate: { name: 'fraud-scoring', version: '2.0.0', digest: 'c'.repeat(64) },
      initiator: alice,
      state: 'awaiting-approval' as const,
      layers: [],
    },
    layer: {
      name: 'mirror',
      phase: 'awaiting-approval' as const,
      running: null,
      gates: [gate('slo', 120)],
      approval: { required: 2, allowed: ['group:prod'] },
      approvals: [],
      data: {
        source: 'production-transactions',
        classification: 'production',
        policy: { allowed: true, rule: 'production-needs-masking' },
        masking: 'mirror.yaml',
        table: 'transactions',
        rows: 2000,
        seed: 0,
        created: true,
        fidelity: { overall: 0.912, threshold: 0.85, passed: true },
        pii: {
          total: 1,
          allowance: 0,
          findings: [{ table: 'transactions', column: 'note', detector: 'email', count: 3 }],
        },
      },
    },
    evidence: {
      digest: 'e'.repeat(64),
      parts: { gates: '1'.repeat(64), data: '2'.repeat(64), candidate: '3'.repeat(64), ladder: '4'.repeat(64) },
    },
    knownGood: {
      version: '1.0.0',
      digest: 'b'.repeat(64),
      promotionId: 'p-0',
      promotedAt: '2026-12-01T00:00:00Z',
      gates: [gate('slo', 100)],
    },
    runs: [],
    changedFiles: { added: [], removed: [], changed: ['model.json'] },
    lastDrill: null,
    problems: [],
  };

  it('shows gates with known-good deltas, the data summary, changed files, and the form with the digest', () => {
    const html = approvalPage(view, { cannot: null, csrf: 'tok' }).html;
    expect(html).toContain('+20.00 ms'); // 120 against the known-good 100
    expect(html).toMatch(/allowed<\/span>\s*by rule <code>production-needs-masking<\/code>/);
    expect(html).toContain('0.912');
    expect(html).toMatch(/1 finding<\/span>\s*\(allowance 0\)/);
    expect(html).toContain('<code>transactions.note</code> email ×3');
    expect(html).toContain('<code>model.json</code>');
    expect(html).toContain(`name="digest" value="${'e'.repeat(64)}"`);
    expect(html).toContain('name="csrf" value="tok"');
    expect(html).toMatch(/<label for="reason">/);
  });

  it('shows no form to someone who cannot decide', () => {
    const html = approvalPage(view, { cannot: 'You started this promotion.', csrf: 'tok' }).html;
    expect(html).not.toContain('value="approve"');
    expect(html).toContain('You started this promotion.');
  });
});

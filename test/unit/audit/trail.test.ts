import fs from 'node:fs';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { byTime, eventTimes, layerEntries, promotionEntries } from '../../../src/audit/trail';

// The audit folds recorded histories (the ones the replay test replays): real events, no server.
const HISTORIES = path.join(__dirname, '../../replay/histories');
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** A recorded history's events, as the client hands them over (decoded from protobuf: times as Longs). */
function events(name: string): temporal.api.history.v1.IHistoryEvent[] {
  const { History } = temporal.api.history.v1;
  const json = historyFromJSON(JSON.parse(fs.readFileSync(path.join(HISTORIES, `${name}.json`), 'utf8')));
  return History.decode(History.encode(json).finish()).events;
}

/** The trail of a recorded promotion and of those of its layers whose histories were recorded. */
function trail(
  promotion: string,
  drop: (e: temporal.api.history.v1.IHistoryEvent, i: number) => boolean = () => false,
) {
  const strip = (list: temporal.api.history.v1.IHistoryEvent[]) =>
    list.map((e, i) => (drop(e, i) ? { ...e, eventTime: null } : e));
  const { entries, children } = promotionEntries(strip(events(promotion)));
  for (const child of children) {
    if (fs.existsSync(path.join(HISTORIES, `${child.workflowId}.json`))) {
      entries.push(...layerEntries(strip(events(child.workflowId)), child.layer, child.startedAt));
    }
  }
  return byTime(entries);
}

describe('audit times', () => {
  it.each(['rec-abort', 'rec-reject', 'rec2-v2', 'fraud-scoring-3.0.0-8a58f2', 'demo-1'])(
    'gives every entry of %s an ISO time',
    (promotion) => {
      const entries = trail(promotion);
      expect(entries.length).toBeGreaterThan(3);
      for (const e of entries) expect(e.at, `${e.action} ${e.layer ?? ''}`).toMatch(ISO);
    },
  );

  it('gives an event without a time the time of the event before it (the first one, the next stamped one)', () => {
    const full = trail('rec-reject');
    // Every other event, and the first three, lose their time.
    const stripped = trail('rec-reject', (_e, i) => i < 3 || i % 2 === 1);
    expect(stripped.map((e) => e.action)).toEqual(full.map((e) => e.action));
    for (const e of stripped) expect(e.at, e.action).toMatch(ISO);
  });

  it('falls back on the given time for a history with no time at all, and refuses to invent one', () => {
    const timeless = events('rec-reject.traffic').map((e) => ({ ...e, eventTime: null }));
    const times = eventTimes(timeless, '2026-11-25T14:00:00.000Z');
    expect(new Set(times.values())).toEqual(new Set(['2026-11-25T14:00:00.000Z']));
    expect(() => eventTimes(timeless)).toThrow(/without any event time/);
    expect(eventTimes([]).size).toBe(0);
  });
});

describe('artifact refusals', () => {
  const payloads = (value: unknown) => ({ payloads: [defaultPayloadConverter.toPayload(value)] });
  // fromObject turns plain numbers into the Longs the client hands over.
  const failedActivity = (type: string, details: Record<string, string>): temporal.api.history.v1.IHistoryEvent[] =>
    [
      {
        eventId: 5,
        eventTime: { seconds: 1_790_000_000 },
        activityTaskScheduledEventAttributes: { activityType: { name: 'deployCandidate' }, input: payloads({}) },
      },
      {
        eventId: 7,
        eventTime: { seconds: 1_790_000_001 },
        activityTaskFailedEventAttributes: {
          scheduledEventId: 5,
          failure: {
            message: 'activity failed',
            cause: {
              message: 'does not match its digest',
              applicationFailureInfo: { type, nonRetryable: true, details: payloads(details) },
            },
          },
        },
      },
    ].map((event) => temporal.api.history.v1.HistoryEvent.fromObject(event));

  it('shows a tampered artifact as artifact.tampered with the expected and found digests', () => {
    const [expected, found] = ['a'.repeat(64), 'b'.repeat(64)];
    const entries = layerEntries(
      failedActivity('ArtifactTampered', { where: '/store/sha256/aaa', expected, found }),
      'mirror',
      '2026-12-01T00:00:00.000Z',
    );
    expect(entries).toEqual([
      expect.objectContaining({
        action: 'artifact.tampered',
        layer: 'mirror',
        actor: 'strata',
        detail: `deployCandidate refused: expected sha256 ${expected}, found sha256 ${found} (/store/sha256/aaa)`,
      }),
    ]);
  });

  it('shows a missing store entry as artifact.missing', () => {
    const entries = layerEntries(
      failedActivity('ArtifactMissing', { where: '/store/sha256/aaa', expected: 'a'.repeat(64) }),
      'mirror',
      '2026-12-01T00:00:00.000Z',
    );
    expect(entries.map((e) => [e.action, e.detail])).toEqual([
      [
        'artifact.missing',
        `deployCandidate refused: expected sha256 ${'a'.repeat(64)}, not in the store (/store/sha256/aaa)`,
      ],
    ]);
  });
});

describe('approval reminders and notifications', () => {
  const layerTrail = (id: string) => layerEntries(events(`${id}.traffic`), 'traffic', '2026-12-03T00:00:00.000Z');

  it('lists the reminders sent, the escalation and the escalation notice of a recorded layer', () => {
    const entries = layerTrail('remind-ladder-Oq8eLL');
    const of = (action: string) => entries.filter((e) => e.action === action);
    expect(of('notification.reminder-sent').map((e) => e.detail.replace(/strata-[0-9a-f]{40}/, 'KEY'))).toEqual(
      expect.arrayContaining([
        'reminder 1/2 [idempotency key KEY]: delivered to team-slack (attempt 1), pager (attempt 3)',
        'reminder 2/2 [idempotency key KEY]: delivered to pager (attempt 1), team-slack (attempt 1)',
      ]),
    );
    expect(of('approval.escalated')).toEqual([
      expect.objectContaining({
        actor: 'strata',
        authentication: 'system',
        layer: 'traffic',
        detail: 'no quorum after 7s: group:sre-leads may now approve as well',
      }),
    ]);
    expect(of('notification.escalation-sent')).toHaveLength(1);
    expect(of('notification.failed')).toEqual([]);
    // The escalation comes before the group member's approval.
    const index = (a: string) => entries.findIndex((e) => e.action === a);
    expect(index('approval.escalated')).toBeLessThan(index('approval.granted'));
    expect(entries[index('approval.granted')].detail).toContain('[groups: sre-leads]');
  });

  it('lists a notice that ran out of retries as notification.failed, never as the layer failing', () => {
    const entries = layerTrail('undeliverable-ladder-Oq8eLL');
    const failed = entries.filter((e) => e.action === 'notification.failed');
    expect(failed).toHaveLength(2);
    for (const f of failed) {
      expect(f.detail).toMatch(
        /^reminder [12]\/2 \[idempotency key strata-[0-9a-f]{40}\]: approval\.reminder [12]\/2 not delivered \(attempt 5\): webhook broken: HTTP 500; webhook nowhere: ECONNREFUSED$/,
      );
    }
    expect(entries.some((e) => e.action === 'activity.failed')).toBe(false);
    expect(entries.some((e) => e.action === 'layer.promoted')).toBe(true);
  });
});

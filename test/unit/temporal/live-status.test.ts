// A running layer's status from its history (liveLayerStatus): read from a recorded history of a
// layer that waited for approval, reminded twice, escalated and was approved (test/replay/histories),
// cut where the layer stood at each moment. Where the history cannot tell all (gates under way, a
// layer that has begun to end) it answers undefined and the caller asks the workflow.

import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import type { LayerStatus } from '../../../src/domain/status';
import { liveLayerStatus } from '../../../src/temporal/promotions';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const { History } = temporal.api.history.v1;
const recorded = historyFromJSON(
  JSON.parse(fs.readFileSync(path.join(__dirname, '../../replay/histories/remind-ladder-Oq8eLL.traffic.json'), 'utf8')),
);
// Through the wire format, so times are the Longs a client hands over.
const events: HistoryEvent[] = History.decode(History.encode(recorded).finish()).events;

/** The history as it stood once event `last` was written. */
const upTo = (last: number) => events.filter((e) => Number(e.eventId) <= last);

/** What a promotion knows of the layer before asking it: its name and its policy from the ladder. */
const base: LayerStatus = {
  name: 'traffic',
  phase: 'pending',
  running: null,
  gates: [],
  approval: { required: 1, allowed: ['alice'] },
  approvals: [],
  workflowId: 'remind-ladder-Oq8eLL.traffic',
};

describe('liveLayerStatus: a running layer from its history', () => {
  it('tells the phase and what runs before the gates', () => {
    const deploying = liveLayerStatus(base, upTo(54));
    expect(deploying).toMatchObject({ phase: 'deploying', running: '2.0.0', gates: [], approvals: [] });
    expect(deploying?.workflowId).toBe(base.workflowId);
    expect(liveLayerStatus(base, upTo(35))?.phase).toBe('provisioning');
  });

  it('leaves a layer whose gates are under way to its query', () => {
    expect(upTo(66).some((e) => e.activityTaskCompletedEventAttributes)).toBe(true);
    expect(liveLayerStatus(base, upTo(66))).toBeUndefined();
  });

  it('tells a waiting layer its gates, approvals, reminders and escalation', () => {
    const waiting = liveLayerStatus(base, upTo(73));
    expect(waiting?.phase).toBe('awaiting-approval');
    expect(waiting?.gates.map((g) => g.name)).toEqual(['quality']);
    expect(waiting?.approval).toEqual({ required: 1, allowed: ['alice'] });

    const reminded = liveLayerStatus(base, upTo(92));
    expect(reminded?.approval).toEqual({ required: 1, allowed: ['alice'], reminders: 2 });

    const escalated = liveLayerStatus(base, upTo(109));
    expect(escalated?.approval).toEqual({
      required: 1,
      allowed: ['alice', 'group:sre-leads'],
      escalated: true,
      reminders: 2,
    });
    expect(escalated?.approvals).toEqual([]);

    // The approval that decided it (refused Updates, like erin's before the escalation, write nothing).
    const approved = liveLayerStatus(base, upTo(118));
    expect(approved?.approvals).toEqual([expect.objectContaining({ actor: 'erin', decision: 'approve' })]);
    expect(approved?.phase).toBe('awaiting-approval');
  });

  it('leaves a layer that has begun to end to its query: a rollback scheduled, or a cancellation asked for', () => {
    const waiting = upTo(109);
    const next = Number(waiting.at(-1)?.eventId) + 1;
    const rollback = temporal.api.history.v1.HistoryEvent.fromObject({
      eventId: next,
      activityTaskScheduledEventAttributes: { activityType: { name: 'rollbackEnvironment' } },
    });
    const cancel = temporal.api.history.v1.HistoryEvent.fromObject({
      eventId: next,
      workflowExecutionCancelRequestedEventAttributes: {},
    });
    expect(liveLayerStatus(base, waiting)).toBeDefined();
    expect(liveLayerStatus(base, [...waiting, rollback])).toBeUndefined();
    expect(liveLayerStatus(base, [...waiting, cancel])).toBeUndefined();
  });
});

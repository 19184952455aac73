import { describe, expect, it } from 'vitest';
import { decideHold, emptyEnvironment, type EnvironmentState } from '../../src/domain/environment';
import type { PromotionInput } from '../../src/domain/promotion';
import { PromotionTracker } from '../../src/domain/promotion-tracker';

const INPUT: PromotionInput = {
  ladderName: 'l',
  candidate: { name: 'c', version: '2.0.0', digest: 'd' } as PromotionInput['candidate'],
  initiator: 'dana',
  layers: [
    { name: 'sandbox', seed: { rows: 1, seed: 0 }, gates: [], approval: { mode: 'auto' }, rollback: 'previous' },
    {
      name: 'traffic',
      seed: { rows: 1, seed: 0 },
      gates: [],
      approval: { mode: 'manual', required: 1, approvers: ['alice'], expiry: '1h' },
      rollback: 'previous',
    },
  ],
};
const GATE = { name: 'schema', type: 'schema', passed: true, value: 0, threshold: 0, detail: 'ok' };

describe('PromotionTracker', () => {
  it('starts every layer pending with its approval policy', () => {
    const t = new PromotionTracker('p1', INPUT, 'dana');
    expect(t.status.state).toBe('running');
    expect(t.status.layers.map((l) => [l.name, l.phase, l.approval.required])).toEqual([
      ['sandbox', 'pending', 0],
      ['traffic', 'pending', 1],
    ]);
  });

  it('applies progress and says which state the promotion is in', () => {
    const t = new PromotionTracker('p1', INPUT, 'dana');
    expect(t.applyProgress({ layer: 'sandbox', phase: 'testing', running: '2.0.0', gate: GATE })).toBe('running');
    expect(t.applyProgress({ layer: 'traffic', phase: 'awaiting-approval' })).toBe('awaiting-approval');
    expect(t.applyProgress({ layer: 'nope', phase: 'failed' })).toBeUndefined();
    expect(t.layer('sandbox')).toMatchObject({ phase: 'testing', running: '2.0.0', gates: [GATE] });
    t.end('failed', 'layer traffic: rejected');
    expect(t.applyProgress({ layer: 'traffic', phase: 'rolled-back' })).toBeUndefined(); // ended: no state change
    expect(t.layer('traffic')!.phase).toBe('rolled-back');
  });

  it("takes a layer's result as its final word and returns LayerStatus-shaped results", () => {
    const t = new PromotionTracker('p1', INPUT, 'dana');
    t.applyProgress({ layer: 'traffic', gate: GATE });
    t.recordApproval('traffic', { actor: 'alice', decision: 'approve', reason: 'ok', at: 't' });
    t.applyLayerResult({
      layer: 'traffic',
      outcome: 'failed',
      phase: 'rolled-back',
      running: '1.0.0',
      gates: [{ ...GATE, passed: false }],
      failure: 'gate schema failed',
    });
    t.end('failed', 'layer traffic: gate schema failed');
    const result = t.toResult();
    expect(result).toMatchObject({ id: 'p1', state: 'failed', reason: 'layer traffic: gate schema failed' });
    expect(result.layers[1]).toMatchObject({
      name: 'traffic',
      phase: 'rolled-back',
      running: '1.0.0',
      approval: { required: 1, allowed: ['alice'] },
      approvals: [{ actor: 'alice' }],
      failure: 'gate schema failed',
    });
    expect(result.layers[1].gates).toHaveLength(1);
  });
});

describe('decideHold', () => {
  const env = (over: Partial<EnvironmentState> = {}): EnvironmentState => ({ ...emptyEnvironment('traffic'), ...over });
  const held = env({ hold: { by: 'erin', reason: 'incident', at: 't' } });
  const leased = env({ lease: { holder: 'p1', kind: 'promotion', since: 't' } });

  it('allows a hold with an identity and a reason, normalized', () => {
    expect(decideHold(env(), { action: 'hold', actor: ' Erin ', reason: ' incident ' })).toEqual({
      kind: 'allowed',
      by: 'erin',
      reason: 'incident',
    });
  });

  it.each([
    ['hold', env(), '', 'x', 'HoldRefused', 'a hold needs --as and --reason'],
    ['hold', held, 'bob', 'x', 'HoldRefused', 'layer traffic is already on hold by erin'],
    ['release-hold', env(), 'bob', 'x', 'HoldRefused', 'layer traffic is not on hold'],
    ['release-hold', held, 'bob', ' ', 'HoldRefused', 'a release needs --as and --reason'],
    ['break-lease', leased, undefined, 'x', 'LeaseRefused', 'breaking a lease needs --as and --reason'],
    ['break-lease', env(), 'bob', 'x', 'LeaseRefused', 'layer traffic has no lease to break'],
  ] as const)('%s refused: %s', (action, state, actor, reason, failure, message) => {
    expect(decideHold(state, { action, actor, reason })).toEqual({ kind: 'refused', failure, reason: message });
  });

  it('allows releasing a hold and breaking a lease', () => {
    expect(decideHold(held, { action: 'release-hold', actor: 'bob', reason: 'fixed' }).kind).toBe('allowed');
    expect(decideHold(leased, { action: 'break-lease', actor: 'bob', reason: 'gone' }).kind).toBe('allowed');
  });
});

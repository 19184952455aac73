import { describe, expect, it } from 'vitest';
import { evaluateApproval, type ApprovalRecord } from '../../src/domain/approval';
import type { ApprovalPolicy } from '../../src/domain/ladder';
import { parseDuration } from '../../src/domain/duration';

const policy: ApprovalPolicy = { mode: 'manual', required: 2, approvers: ['alice', 'bob', 'carol'], expiry: '72h' };
const base = {
  layer: 'mirror',
  phase: 'awaiting-approval',
  policy,
  initiator: 'dana',
  approvals: [] as ApprovalRecord[],
};
const attempt = (actor: string, decision: 'approve' | 'reject' = 'approve') => ({ actor, decision, reason: 'because' });

describe('evaluateApproval', () => {
  it('admits members of a group:<name> entry by the verified groups, never the initiator, each once', () => {
    const groupPolicy: ApprovalPolicy = { ...policy, required: 2, approvers: ['group:release', 'alice'] };
    const member = (actor: string) => ({ ...attempt(actor), groups: ['Release'] });
    expect(evaluateApproval({ ...base, policy: groupPolicy, attempt: member('strata-token#rel-bot') })).toMatchObject({
      kind: 'granted',
      count: 1,
    });
    // The same actor without the group, or in another group, is not an approver.
    expect(evaluateApproval({ ...base, policy: groupPolicy, attempt: attempt('strata-token#rel-bot') })).toMatchObject({
      kind: 'refused',
    });
    expect(
      evaluateApproval({ ...base, policy: groupPolicy, attempt: { ...attempt('x'), groups: ['ops'] } }),
    ).toMatchObject({ kind: 'refused' });
    expect(evaluateApproval({ ...base, policy: groupPolicy, attempt: member('dana') })).toMatchObject({
      kind: 'refused',
      reason: 'dana started this promotion and may not approve it',
    });
    const approvals: ApprovalRecord[] = [{ actor: 'rel', decision: 'approve', reason: 'r', at: '' }];
    expect(evaluateApproval({ ...base, policy: groupPolicy, approvals, attempt: member('REL') })).toMatchObject({
      kind: 'duplicate',
    });
  });

  it('refuses the initiator, compared trimmed and case-folded', () => {
    expect(evaluateApproval({ ...base, initiator: ' Dana', attempt: attempt('DANA ') })).toEqual({
      kind: 'refused',
      reason: 'dana started this promotion and may not approve it',
    });
  });

  it('compares verified identities (issuer + subject) exactly: Alice and alice of one issuer are two people', () => {
    const idp = 'https://idp.example';
    const verified: ApprovalPolicy = { ...policy, required: 2, approvers: [`${idp}#Alice`, `${idp}#alice`] };
    const at = { ...base, policy: verified, initiator: `${idp}#Alice` };
    expect(evaluateApproval({ ...at, attempt: attempt(`${idp}#Alice`) })).toMatchObject({
      kind: 'refused',
      reason: `${idp}#Alice started this promotion and may not approve it`,
    });
    expect(evaluateApproval({ ...at, attempt: attempt(`${idp}#alice`) })).toMatchObject({ kind: 'granted', count: 1 });
    // Another issuer's Alice is not the policy's Alice; neither is an unverified free-text "alice".
    expect(evaluateApproval({ ...at, attempt: attempt('https://other.example#Alice') })).toMatchObject({
      kind: 'refused',
      reason: expect.stringContaining('not an approver'),
    });
    const tokens = { ...base, initiator: 'strata-token#Bot', policy: { ...policy, approvers: ['strata-token#bot'] } };
    expect(evaluateApproval({ ...tokens, attempt: attempt('strata-token#bot') })).toMatchObject({ kind: 'granted' });
    const approvals: ApprovalRecord[] = [{ actor: `${idp}#alice`, decision: 'approve', reason: 'r', at: '' }];
    expect(evaluateApproval({ ...at, approvals, attempt: attempt(`${idp}#Alice `) })).toMatchObject({
      kind: 'refused',
    });
    // Workflows started before the exact-verified-subjects patch folded them (and replay that way).
    expect(evaluateApproval({ ...at, attempt: attempt(`${idp}#alice`), comparison: 'folded' })).toMatchObject({
      kind: 'refused',
      reason: `${idp.toLowerCase()}#alice started this promotion and may not approve it`,
    });
  });

  it('refuses anyone the policy does not list', () => {
    const out = evaluateApproval({ ...base, attempt: attempt('mallory') });
    expect(out).toMatchObject({ kind: 'refused', reason: expect.stringContaining('not an approver of layer mirror') });
  });

  it('refuses a layer that is not awaiting approval, and an automatic layer', () => {
    expect(evaluateApproval({ ...base, phase: 'testing', attempt: attempt('alice') })).toMatchObject({
      kind: 'refused',
      reason: 'layer mirror is not awaiting approval (phase: testing)',
    });
    expect(evaluateApproval({ ...base, policy: { mode: 'auto' }, attempt: attempt('alice') })).toMatchObject({
      kind: 'refused',
    });
  });

  it('refuses an empty identity or reason', () => {
    expect(evaluateApproval({ ...base, attempt: { actor: '  ', decision: 'approve', reason: 'x' } })).toMatchObject({
      kind: 'refused',
    });
    expect(evaluateApproval({ ...base, attempt: { actor: 'alice', decision: 'approve', reason: ' ' } })).toMatchObject({
      kind: 'refused',
    });
  });

  it('counts an approver once and reaches the quorum with distinct approvers', () => {
    const first = evaluateApproval({ ...base, attempt: attempt('Alice') });
    expect(first).toEqual({ kind: 'granted', quorumReached: false, count: 1, required: 2 });
    const approvals: ApprovalRecord[] = [{ actor: 'alice', decision: 'approve', reason: 'x', at: 't' }];
    expect(evaluateApproval({ ...base, approvals, attempt: attempt(' ALICE ') })).toMatchObject({ kind: 'duplicate' });
    expect(evaluateApproval({ ...base, approvals, attempt: attempt('bob') })).toEqual({
      kind: 'granted',
      quorumReached: true,
      count: 2,
      required: 2,
    });
  });

  it('turns a listed approver’s reject into a rejection', () => {
    expect(evaluateApproval({ ...base, attempt: attempt('carol', 'reject') })).toEqual({ kind: 'rejected' });
    expect(evaluateApproval({ ...base, attempt: attempt('dana', 'reject') })).toMatchObject({ kind: 'refused' });
  });
});

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['72h', 259_200_000],
    ['7d', 604_800_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['1.5h', 5_400_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', 'h', '10', '10x', '-5m', '5 m', 'm5'])('rejects %j', (text) =>
    expect(parseDuration(text)).toBeUndefined(),
  );
});

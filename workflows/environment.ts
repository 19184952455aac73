import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { parseDuration } from '../src/domain/duration';
import { decideLease, emptyEnvironment, type EnvironmentState } from '../src/domain/environment';
import { normalizeIdentity } from '../src/domain/identity';
import {
  type EnvironmentInput,
  environmentQuery,
  holdUpdate,
  leaseDeniedSignal,
  leaseGrantedSignal,
  leaseReleaseSignal,
  leaseRequestSignal,
  releaseHoldUpdate,
  versionEventSignal,
} from './environment-messages';

const activities = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
});

/** Continue as new well before the history gets heavy. */
const MAX_HISTORY_EVENTS = 2_000;

/**
 * The environment of one layer as a long-lived entity: its version history (what ran there when
 * and why), its lease (one promotion, drill or rollback at a time; the others wait in order or
 * are refused, as the ladder says), its hold, its credential rotation and its TTL.
 */
export async function environment(input: EnvironmentInput): Promise<void> {
  const state: EnvironmentState = input.state ?? emptyEnvironment(input.layer);
  const now = () => new Date().toISOString();
  const signal = (holder: string) => getExternalWorkflowHandle(holder);
  const pending: Array<Promise<void>> = [];
  let lastActivity = Date.now();

  const grant = (holder: string) => {
    pending.push(signal(holder).signal(leaseGrantedSignal, { layer: state.layer }).catch(() => undefined));
  };
  const passLeaseOn = () => {
    state.lease = null;
    const next = state.waiting.shift();
    if (next) {
      state.lease = { holder: next.holder, kind: next.kind, since: now() };
      grant(next.holder);
    }
    lastActivity = Date.now();
  };

  setHandler(environmentQuery, () => state);

  setHandler(leaseRequestSignal, (req) => {
    const decision = decideLease(state, req);
    if (decision.kind === 'granted') {
      if (!state.lease) state.lease = { holder: req.holder, kind: req.kind, since: now() };
      grant(req.holder);
    } else if (decision.kind === 'denied') {
      pending.push(
        signal(req.holder)
          .signal(leaseDeniedSignal, { layer: state.layer, reason: decision.reason })
          .catch(() => undefined),
      );
    } else if (!state.waiting.some((w) => w.holder === req.holder)) {
      state.waiting.push({ holder: req.holder, kind: req.kind, since: now(), failFast: req.failFast });
    }
    lastActivity = Date.now();
  });

  setHandler(leaseReleaseSignal, ({ holder }) => {
    if (state.lease?.holder === holder) passLeaseOn();
    else state.waiting = state.waiting.filter((w) => w.holder !== holder);
  });

  setHandler(versionEventSignal, (e) => {
    state.history.push({ ...e, at: now() });
    if (e.event === 'torn-down') state.tornDownAt = now();
    else state.tornDownAt = null;
    lastActivity = Date.now();
  });

  setHandler(holdUpdate, ({ actor, reason }) => {
    const by = normalizeIdentity(String(actor ?? ''));
    if (!by || !String(reason ?? '').trim()) {
      throw ApplicationFailure.nonRetryable('a hold needs --as and --reason', 'HoldRefused');
    }
    if (state.hold) throw ApplicationFailure.nonRetryable(`layer ${state.layer} is already on hold by ${state.hold.by}`, 'HoldRefused');
    state.hold = { by, reason: String(reason).trim(), at: now() };
    return state.hold;
  });

  setHandler(releaseHoldUpdate, ({ actor, reason }) => {
    if (!state.hold) throw ApplicationFailure.nonRetryable(`layer ${state.layer} is not on hold`, 'HoldRefused');
    if (!normalizeIdentity(String(actor ?? '')) || !String(reason ?? '').trim()) {
      throw ApplicationFailure.nonRetryable('a release needs --as and --reason', 'HoldRefused');
    }
    state.hold = null;
    return { released: true as const };
  });

  const rotationMs = input.credentialRotation ? parseDuration(input.credentialRotation) : undefined;
  const ttlMs = input.ttl ? parseDuration(input.ttl) : undefined;
  let nextRotation = rotationMs ? Date.now() : Infinity;

  for (;;) {
    // Wake for the next rotation, the TTL, or to continue as new; signals wake it too.
    const ttlDue = ttlMs && !state.lease && !state.tornDownAt && state.history.length > 0 ? lastActivity + ttlMs : Infinity;
    const wakeAt = Math.min(nextRotation, ttlDue);
    const timeout = wakeAt === Infinity ? undefined : Math.max(0, wakeAt - Date.now());
    const before = lastActivity;
    const woken = () => pending.length > 0 || workflowInfo().historyLength > MAX_HISTORY_EVENTS || lastActivity !== before;
    if (timeout === undefined) await condition(woken);
    else await condition(woken, timeout);

    while (pending.length > 0) await pending.shift();

    if (Date.now() >= nextRotation && !state.tornDownAt) {
      const r = await activities.rotateCredentials({ layer: state.layer });
      state.credentialsRotatedAt = r.rotatedAt;
      nextRotation = Date.now() + (rotationMs ?? Infinity);
    }
    if (ttlDue !== Infinity && Date.now() >= ttlDue && !state.lease && !state.tornDownAt) {
      await activities.teardownEnvironment({ layer: state.layer });
      state.history.push({ at: now(), event: 'torn-down', version: null, digest: null, by: 'ttl', reason: `unused for ${input.ttl}` });
      state.tornDownAt = now();
    }
    if (workflowInfo().historyLength > MAX_HISTORY_EVENTS || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      while (pending.length > 0) await pending.shift();
      await continueAsNew<typeof environment>({ ...input, state });
    }
  }
}

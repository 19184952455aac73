import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { parseDuration } from '../src/domain/duration';
import {
  decideHold,
  decideLease,
  emptyEnvironment,
  type EnvironmentState,
  type HoldRequest,
  type LeaseRequest,
  recordOperation,
  rememberDenial,
  type VersionEvent,
} from '../src/domain/environment';
import {
  type EnvironmentInput,
  environmentQuery,
  breakLeaseUpdate,
  holdUpdate,
  leaseDeniedSignal,
  leaseGrantedSignal,
  leaseReleaseSignal,
  leaseRequestSignal,
  releaseHoldUpdate,
  versionEventSignal,
} from './environment-messages';
import { generation } from './generation';

const activities = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
});

/** Continue as new well before the history gets heavy (overridable per environment, for tests). */
const MAX_HISTORY_EVENTS = 2_000;

/** While others wait, how often the environment asks its holder whether it is still there. */
const HOLDER_CHECK_MS = 60_000;
/** Closed holders remembered (lease-claim-final); an older one is asked again, harmlessly. */
const CLOSED_HOLDERS = 256;
/** A holder whose leaseClaim failed after all its retries is asked again this much later (lease-claim-survives). */
const CLAIM_RETRY_MS = 30_000;

/**
 * The environment of one layer as a long-lived entity: its version history (what ran there when
 * and why), its lease (one promotion, drill or rollback at a time; the others wait in order or
 * are refused, as the ladder says), its hold, its credential rotation and its TTL.
 */
export async function environment(input: EnvironmentInput): Promise<void> {
  const state: EnvironmentState = input.state ?? emptyEnvironment(input.layer);
  // Environments started before verified-lease took lease messages at their word.
  const since = generation();
  const verified = since('verified-lease');
  // Environments started before lease-holder-closed kept a closed holder's lease until an operator broke it.
  const releaseClosed = verified && since('lease-holder-closed');
  // Since lease-claim-final a holder whose workflow has closed is asked once: its answer is final
  // (leaseClaim says so), and a later message naming it costs no activity. Before, a release
  // reaching the code in a later activation than the request beside it (a worker that took the run
  // over after a timed-out workflow task) queued the closed holder again, and the extra leaseClaim
  // was a command replay did not make: test/fixtures/soak-findings.
  const closedOnce = releaseClosed && since('lease-claim-final');
  /** Holders whose closed workflow has answered, oldest first (at most CLOSED_HOLDERS kept). */
  const closedHolders = new Set<string>();
  let lastHolderCheck = Date.now();
  /** Holders a lease message named, to ask (verified-lease), in order, once each. */
  const checks: string[] = [];
  const now = () => new Date().toISOString();
  const signal = (holder: string) => getExternalWorkflowHandle(holder);
  const pending: Array<Promise<void>> = [];
  let lastActivity = Date.now();
  const maxHistory = input.maxHistoryEvents ?? MAX_HISTORY_EVENTS;
  /** Holders whose leaseClaim failed after its retries, asked again at retryClaimsAt (lease-claim-survives). */
  const retryClaims: string[] = [];
  let retryClaimsAt = Infinity;
  const claimRetryMs = input.claimRetryMs ?? CLAIM_RETRY_MS;

  const grant = (holder: string) => {
    pending.push(
      signal(holder)
        .signal(leaseGrantedSignal, { layer: state.layer })
        .catch(() => undefined),
    );
  };
  const deny = (holder: string, reason: string) => {
    if (verified) rememberDenial(state, holder, reason);
    pending.push(
      signal(holder)
        .signal(leaseDeniedSignal, { layer: state.layer, reason })
        .catch(() => undefined),
    );
  };
  const passLeaseOn = () => {
    state.lease = null;
    for (let next = state.waiting.shift(); next; next = state.waiting.shift()) {
      // A hold placed while it waited refuses a promotion now, as it would have on arrival.
      if (next.kind === 'promotion' && state.hold) {
        deny(next.holder, `layer ${state.layer} is on hold by ${state.hold.by}: ${state.hold.reason}`);
        continue;
      }
      state.lease = { holder: next.holder, kind: next.kind, since: now() };
      grant(next.holder);
      break;
    }
    lastActivity = Date.now();
  };

  setHandler(environmentQuery, () => state);

  /** `answeredByRequest`: the requester reads a direct answer itself (lease-answer-in-request): no signal. */
  const request = (req: LeaseRequest, answeredByRequest = false) => {
    const decision = decideLease(state, req);
    if (decision.kind === 'granted') {
      if (!state.lease) state.lease = { holder: req.holder, kind: req.kind, since: now() };
      if (!answeredByRequest) grant(req.holder);
    } else if (decision.kind === 'denied') {
      if (answeredByRequest) rememberDenial(state, req.holder, decision.reason);
      else deny(req.holder, decision.reason);
    } else if (!state.waiting.some((w) => w.holder === req.holder)) {
      state.waiting.push({ holder: req.holder, kind: req.kind, since: now(), failFast: req.failFast });
    }
    lastActivity = Date.now();
  };
  const recordEvent = (e: Omit<VersionEvent, 'at'> & { at?: string }) => {
    // The holder's time since version-events-at-release (read at its release); the arrival's before.
    const at = typeof e.at === 'string' && e.at !== '' ? e.at : now();
    state.history.push({ ...e, at });
    if (e.event === 'torn-down') state.tornDownAt = at;
    else state.tornDownAt = null;
    lastActivity = Date.now();
  };
  /** releaseClosed: holders asked only as the holder (for another's request, or on the clock). */
  const asHolderOnly = new Set<string>();
  const check = (holder: unknown) => {
    if (typeof holder !== 'string' || holder === '') return;
    asHolderOnly.delete(holder);
    if (!checks.includes(holder)) checks.push(holder);
  };
  const checkHolder = (holder: string) => {
    if (checks.includes(holder)) return;
    asHolderOnly.add(holder);
    checks.push(holder);
  };

  /**
   * Asks the holder a message named what it wants, and acts on its answer: a request joins the
   * queue, a release passes the lease on, new version events are recorded. A holder that does not
   * answer (it never existed, or is gone) wants nothing.
   */
  const reconcile = async (holder: string) => {
    if (closedOnce && closedHolders.has(holder)) {
      // Its final answer was acted on: it held no lease after it, and waits for none.
      asHolderOnly.delete(holder);
      return;
    }
    let claim: Awaited<ReturnType<typeof activities.leaseClaim>>;
    try {
      claim = await activities.leaseClaim({ holder });
    } catch (err) {
      // Since lease-claim-survives an unanswered claim (every retry timed out on an overloaded
      // machine: the 60-minute soak) is asked again later instead of failing the environment, and
      // with it the version history and every lease. Before, the failure ended the workflow.
      if (isCancellation(err) || !since('lease-claim-survives')) throw err;
      if (!retryClaims.includes(holder)) retryClaims.push(holder);
      retryClaimsAt = Math.min(retryClaimsAt, Date.now() + claimRetryMs);
      return;
    }
    if (closedOnce && claim.closed !== undefined) {
      closedHolders.add(holder);
      if (closedHolders.size > CLOSED_HOLDERS) closedHolders.delete(closedHolders.values().next().value!);
    }
    // Asked as the holder, it is no request: a lease broken meanwhile is not handed back to it.
    const onlyAsHolder = asHolderOnly.delete(holder);
    // A holder whose workflow closed (terminated, timed out) still wanting its lease never gives it back.
    const gone = releaseClosed && claim.closed !== undefined;
    if (state.lease?.holder === holder) {
      const lease = state.lease;
      // What the holder recorded is applied first, then the lease is released: a rollback that
      // closed right after sending its version events still has them recorded.
      for (const e of claim.events.slice(lease.taken ?? 0)) recordEvent(e);
      lease.taken = claim.events.length;
      if (!claim.wants) passLeaseOn();
      else if (gone) {
        recordOperation(state, {
          at: now(),
          actor: 'strata',
          action: 'release-holder-closed',
          reason: `the holder's workflow is ${claim.closed!.toLowerCase()} and still held the ${lease.kind} lease`,
          holder,
        });
        passLeaseOn();
      }
    } else if (state.waiting.some((w) => w.holder === holder)) {
      if (!claim.wants || gone) state.waiting = state.waiting.filter((w) => w.holder !== holder);
    } else if (claim.wants && !gone && !onlyAsHolder) {
      const answeredByRequest = claim.answeredByRequest === true && since('lease-answer-in-request');
      request({ holder, kind: claim.wants, failFast: claim.failFast }, answeredByRequest);
    }
  };

  /** releaseClosed: the current holder is asked too, before the requester is queued (or refused). */
  const checkHolderFor = (requester: unknown) => {
    if (releaseClosed && state.lease && state.lease.holder !== requester) checkHolder(state.lease.holder);
  };

  setHandler(leaseRequestSignal, (req) => {
    if (!verified) return request(req);
    checkHolderFor(req?.holder);
    check(req?.holder);
  });

  setHandler(leaseReleaseSignal, ({ holder }) => {
    if (verified) return check(holder);
    if (state.lease?.holder === holder) passLeaseOn();
    else state.waiting = state.waiting.filter((w) => w.holder !== holder);
  });

  // Only the holder records versions: the event is checked with whoever holds the lease now.
  setHandler(versionEventSignal, (e) => (verified ? check(state.lease?.holder) : recordEvent(e)));

  /** Refusals of the hold, releaseHold and breakLease Updates fail the Update, never the workflow. */
  const decide = (req: HoldRequest) => {
    const decision = decideHold(state, req);
    if (decision.kind === 'refused') throw ApplicationFailure.nonRetryable(decision.reason, decision.failure);
    return decision;
  };

  setHandler(holdUpdate, ({ actor, reason }) => {
    const { by, reason: why } = decide({ action: 'hold', actor, reason });
    state.hold = { by, reason: why, at: now() };
    recordOperation(state, { at: now(), actor: by, action: 'hold', reason: why });
    return state.hold;
  });

  setHandler(breakLeaseUpdate, ({ actor, reason }) => {
    const { by, reason: why } = decide({ action: 'break-lease', actor, reason });
    const broken = state.lease!.holder;
    recordOperation(state, { at: now(), actor: by, action: 'break-lease', reason: why, holder: broken });
    passLeaseOn();
    return { broken };
  });

  setHandler(releaseHoldUpdate, ({ actor, reason }) => {
    const { by, reason: why } = decide({ action: 'release-hold', actor, reason });
    state.hold = null;
    recordOperation(state, { at: now(), actor: by, action: 'release-hold', reason: why });
    return { released: true as const };
  });

  const rotationMs = input.credentialRotation ? parseDuration(input.credentialRotation) : undefined;
  const ttlMs = input.ttl ? parseDuration(input.ttl) : undefined;
  // The provider writes the first credentials when it provisions; rotations replace them, one
  // period apart. (Environments started by earlier code rotated once at start: they still do.)
  const firstRotationAfterPeriod = since('rotation-after-first-period');
  let nextRotation = rotationMs ? Date.now() + (firstRotationAfterPeriod ? rotationMs : 0) : Infinity;

  for (;;) {
    // Wake for the next rotation, the TTL, or to continue as new; signals wake it too.
    const ttlDue =
      ttlMs && !state.lease && !state.tornDownAt && state.history.length > 0 ? lastActivity + ttlMs : Infinity;
    const holderCheckDue =
      releaseClosed && state.lease && state.waiting.length > 0 ? lastHolderCheck + HOLDER_CHECK_MS : Infinity;
    const wakeAt = Math.min(nextRotation, ttlDue, holderCheckDue, retryClaimsAt);
    const timeout = wakeAt === Infinity ? undefined : Math.max(0, wakeAt - Date.now());
    const before = lastActivity;
    const woken = () =>
      pending.length > 0 || checks.length > 0 || workflowInfo().historyLength > maxHistory || lastActivity !== before;
    if (timeout === undefined) await condition(woken);
    else await condition(woken, timeout);

    while (pending.length > 0) await pending.shift();
    if (Date.now() >= retryClaimsAt) {
      // As they were queued: a holder asked only as the holder stays so (asHolderOnly keeps it).
      for (const holder of retryClaims.splice(0)) if (!checks.includes(holder)) checks.push(holder);
      retryClaimsAt = Infinity;
    }
    if (Date.now() >= holderCheckDue && state.lease) checkHolder(state.lease.holder);
    if (state.lease && checks.includes(state.lease.holder)) lastHolderCheck = Date.now();
    for (let holder = checks.shift(); holder !== undefined; holder = checks.shift()) {
      await reconcile(holder);
      while (pending.length > 0) await pending.shift();
    }

    if (Date.now() >= nextRotation) {
      nextRotation = Date.now() + (rotationMs ?? Infinity);
      if (!state.tornDownAt) {
        const r = await activities.rotateCredentials({ layer: state.layer });
        if (r.rotatedAt) state.credentialsRotatedAt = r.rotatedAt;
      }
    }
    if (
      ttlDue !== Infinity &&
      Date.now() >= ttlDue &&
      !state.lease &&
      state.waiting.length === 0 &&
      !state.tornDownAt
    ) {
      // The teardown holds the lease: a promotion arriving meanwhile waits for it.
      state.lease = { holder: `${workflowInfo().workflowId}/ttl`, kind: 'rollback', since: now() };
      await activities.teardownEnvironment({ layer: state.layer });
      state.history.push({
        at: now(),
        event: 'torn-down',
        version: null,
        digest: null,
        by: 'ttl',
        reason: `unused for ${input.ttl}`,
      });
      state.tornDownAt = now();
      passLeaseOn();
    }
    if (workflowInfo().historyLength > maxHistory || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      while (pending.length > 0) await pending.shift();
      // Holders still to ask are asked by the next run (a message names them again otherwise).
      for (const holder of retryClaims.splice(0)) if (!checks.includes(holder)) checks.push(holder);
      for (let holder = checks.shift(); holder !== undefined; holder = checks.shift()) await reconcile(holder);
      await continueAsNew<typeof environment>({ ...input, state });
    }
  }
}

import {
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  environmentWorkflowId,
  type LeaseClaim,
  type LeaseKind,
  type LeaseRequest,
  type LeaseStanding,
  type VersionEventKind,
} from '../src/domain/environment';
import type { LayerSpec } from '../src/domain/ladder';
import {
  leaseClaimQuery,
  leaseDeniedSignal,
  leaseGrantedSignal,
  leaseReleaseSignal,
  versionEventSignal,
} from './environment-messages';
import type { Since } from './generation';

const { requestLease, leaseStanding } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 10 },
});

/** What a lease needs of a layer: its name, and the TTL and rotation an environment starts with. */
export type LeaseLayer = Pick<LayerSpec, 'name'> & Partial<Pick<LayerSpec, 'ttl' | 'credentialRotation'>>;

export interface EnvironmentLease {
  /** Asks for the lease and waits for the answer; false with a reason when refused. */
  acquire(kind: LeaseKind, failFast: boolean): Promise<{ granted: boolean; reason?: string }>;
  /** Gives the lease back (or leaves the queue); safe to call when never asked. */
  release(): Promise<void>;
  /** Tells the environment what runs there now. */
  record(event: VersionEventKind, version: string | null, digest: string | null, reason?: string): Promise<void>;
}

/** How long a waiting holder first waits for an answer before it asks where it stands (lease-request-renewed). */
const LEASE_RECHECK_MS = 60_000;
/** How long the request activity waits for the environment's direct answer (lease-answer-in-request). */
const ANSWER_WAIT_MS = 20_000;
/** A request the environment had not answered by then is checked this much later (it sends no signal for a direct answer). */
const UNANSWERED_RECHECK_MS = 5_000;
/** The environment's word as an answer, once it has decided: this holder holds the lease, or was refused. */
function decided(standing: LeaseStanding | undefined): { granted: boolean; reason?: string } | undefined {
  if (standing?.kind === 'holder') return { granted: true };
  if (standing?.kind === 'denied') return { granted: false, reason: standing.reason };
  return undefined;
}

/** The longest wait between two such checks: the wait doubles up to this, so a long queue costs little history. */
const LEASE_RECHECK_MAX_MS = 30 * 60_000;

/**
 * The calling workflow's side of an environment's lease: the request goes out through an
 * activity (signal-with-start), the answer comes back as a signal to this workflow. Since
 * lease-request-renewed a holder that hears nothing asks the environment where it stands, from a
 * minute on and then less and less often, and asks again if the environment does not know of it
 * (a request, or an answer, lost: the hour-long soak saw lanes wait forever on "held by nobody").
 * `opts.recheckMs` shortens the first wait, for tests.
 */
export function environmentLease(
  layer: LeaseLayer,
  by: string,
  opts: { recheckMs?: number; since?: Since } = {},
): EnvironmentLease {
  // The caller's generation, when it has one (workflows/generation.ts); else each patch by its marker.
  const since = opts.since ?? patched;
  const holder = workflowInfo().workflowId;
  const environment = getExternalWorkflowHandle(environmentWorkflowId(workflowInfo().taskQueue, layer.name));
  // Holders started before verified-lease took the environment's signals at their word.
  const verified = since('verified-lease');
  // Since version-events-at-release a holder signals no version event: its claim lists them, with
  // the time of each, and the environment reads them with the release it checks anyway. Before,
  // each event was a signal, a workflow task and a leaseClaim activity of the environment, and a
  // workflow task of the holder's own (docs/benchmarks.md, engine).
  const eventsAtRelease = verified && since('version-events-at-release');
  // Since lease-answer-in-request the request activity waits for the environment's direct answer
  // and returns it: no grant signal, no workflow task for it, no leaseStanding activity. Only a
  // holder that waits in the queue hears by signal (a hint it checks, as before).
  const answerInRequest = eventsAtRelease && since('lease-answer-in-request');
  let answer: { granted: boolean; reason?: string } | undefined;
  let requested = false;
  /** Verified: what this holder tells the environment it wants, and the version events it recorded. */
  const claim: LeaseClaim = { wants: null, failFast: false, events: [] };
  /** Verified: a grant or denial signal arrived, to check with the environment. */
  let hint: { reason?: string } | undefined;
  if (verified) {
    setHandler(leaseClaimQuery, () => claim);
    setHandler(leaseGrantedSignal, () => void (hint ??= {}));
    setHandler(leaseDeniedSignal, (d) => void (hint ??= { reason: String(d?.reason ?? '') }));
  } else {
    setHandler(leaseGrantedSignal, () => void (answer ??= { granted: true }));
    setHandler(leaseDeniedSignal, ({ reason }) => void (answer ??= { granted: false, reason }));
  }

  /** Asks for the lease; since lease-answer-in-request, with where the holder stands once the environment answered. */
  const ask = async (request: LeaseRequest): Promise<LeaseStanding | undefined> =>
    (await requestLease({ layer, request, ...(answerInRequest ? { answerWithinMs: ANSWER_WAIT_MS } : {}) })).standing;

  /** Verified: waits for a hint, then asks the environment where this holder stands; only its word counts. */
  const awaitAnswer = async (
    request: LeaseRequest,
    firstRecheckMs?: number,
  ): Promise<{ granted: boolean; reason?: string }> => {
    const renewed = since('lease-request-renewed');
    let recheckMs = opts.recheckMs ?? firstRecheckMs ?? LEASE_RECHECK_MS;
    for (;;) {
      let hinted = true;
      if (renewed) {
        hinted = await condition(() => hint !== undefined, recheckMs);
        if (!hinted) recheckMs = Math.min(recheckMs * 2, LEASE_RECHECK_MAX_MS);
      } else await condition(() => hint !== undefined);
      hint = undefined;
      const standing = await leaseStanding({ layer: layer.name, holder });
      const known = decided(standing);
      if (known) return known;
      // Nothing heard for a while and the environment does not know of this holder: the request
      // never reached it (or was lost with a run), so it is made again. Idempotent there.
      if (!hinted && standing.kind === 'unknown') {
        const again = decided(await ask(request));
        if (again) return again;
      }
      // Waiting, or the request not reached yet: a hint that says otherwise is not the environment's.
    }
  };

  return {
    async acquire(kind, failFast) {
      requested = true;
      if (verified) {
        claim.wants = kind;
        claim.failFast = failFast;
        if (answerInRequest) claim.answeredByRequest = true;
      }
      const request: LeaseRequest = { holder, kind, failFast };
      const standing = await ask(request);
      const direct = decided(standing);
      if (direct || verified) {
        // Still unknown to the environment after the wait (a busy machine): it may answer without a
        // signal, so the first check with it comes sooner than for a holder that waits in the queue.
        answer =
          direct ?? (await awaitAnswer(request, standing?.kind === 'unknown' ? UNANSWERED_RECHECK_MS : undefined));
        if (!answer.granted) claim.wants = null;
        return answer;
      }
      await condition(() => answer !== undefined);
      return answer!;
    },
    async release() {
      if (!requested) return;
      claim.wants = null;
      await CancellationScope.nonCancellable(() => environment.signal(leaseReleaseSignal, { holder }));
    },
    async record(event, version, digest, reason) {
      const e = { event, version, digest, by, ...(reason ? { reason } : {}) };
      if (eventsAtRelease) claim.events.push({ ...e, at: new Date().toISOString() });
      else {
        if (verified) claim.events.push(e);
        await environment.signal(versionEventSignal, e);
      }
    },
  };
}

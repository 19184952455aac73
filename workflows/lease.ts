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

/**
 * The calling workflow's side of an environment's lease: the request goes out through an
 * activity (signal-with-start), the answer comes back as a signal to this workflow.
 */
export function environmentLease(layer: LeaseLayer, by: string): EnvironmentLease {
  const holder = workflowInfo().workflowId;
  const environment = getExternalWorkflowHandle(environmentWorkflowId(workflowInfo().taskQueue, layer.name));
  // Holders started before verified-lease took the environment's signals at their word.
  const verified = patched('verified-lease');
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

  /** Verified: waits for a hint, then asks the environment where this holder stands; only its word counts. */
  const awaitAnswer = async (): Promise<{ granted: boolean; reason?: string }> => {
    for (;;) {
      await condition(() => hint !== undefined);
      hint = undefined;
      const standing = await leaseStanding({ layer: layer.name, holder });
      if (standing.kind === 'holder') return { granted: true };
      if (standing.kind === 'denied') return { granted: false, reason: standing.reason };
      // Waiting, or the request not reached yet: a hint that says otherwise is not the environment's.
    }
  };

  return {
    async acquire(kind, failFast) {
      requested = true;
      if (verified) {
        claim.wants = kind;
        claim.failFast = failFast;
      }
      await requestLease({ layer, request: { holder, kind, failFast } });
      if (verified) {
        answer = await awaitAnswer();
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
      if (verified) claim.events.push(e);
      await environment.signal(versionEventSignal, e);
    },
  };
}

import {
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { environmentWorkflowId, type LeaseKind, type VersionEventKind } from '../src/domain/environment';
import type { LayerSpec } from '../src/domain/ladder';
import { leaseDeniedSignal, leaseGrantedSignal, leaseReleaseSignal, versionEventSignal } from './environment-messages';

const { requestLease } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 10 },
});

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
export function environmentLease(layer: LayerSpec, by: string): EnvironmentLease {
  const holder = workflowInfo().workflowId;
  const environment = getExternalWorkflowHandle(environmentWorkflowId(workflowInfo().taskQueue, layer.name));
  let answer: { granted: boolean; reason?: string } | undefined;
  let requested = false;
  setHandler(leaseGrantedSignal, () => void (answer ??= { granted: true }));
  setHandler(leaseDeniedSignal, ({ reason }) => void (answer ??= { granted: false, reason }));
  return {
    async acquire(kind, failFast) {
      requested = true;
      await requestLease({ layer, request: { holder, kind, failFast } });
      await condition(() => answer !== undefined);
      return answer!;
    },
    async release() {
      if (!requested) return;
      await CancellationScope.nonCancellable(() => environment.signal(leaseReleaseSignal, { holder }));
    },
    async record(event, version, digest, reason) {
      await environment.signal(versionEventSignal, { event, version, digest, by, ...(reason ? { reason } : {}) });
    },
  };
}

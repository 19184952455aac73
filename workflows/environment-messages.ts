import { defineQuery, defineSignal, defineUpdate } from './define';
import type { EnvironmentState, HoldInfo, LeaseClaim, LeaseRequest, VersionEvent } from '../src/domain/environment';

// Messages of the long-lived environment workflow (one per layer) and of the workflows that lease it.

/** Requester → environment (sent by the requestLease activity with signal-with-start). */
export const leaseRequestSignal = defineSignal<[LeaseRequest]>('leaseRequest');
/** Holder → environment: done with the layer (or gave up waiting). */
export const leaseReleaseSignal = defineSignal<[{ holder: string }]>('leaseRelease');
/** Holder → environment: what now runs there. */
export const versionEventSignal = defineSignal<[Omit<VersionEvent, 'at'>]>('versionEvent');

/** Environment → requester: the lease is yours, or refused with a reason. */
export const leaseGrantedSignal = defineSignal<[{ layer: string }]>('leaseGranted');
export const leaseDeniedSignal = defineSignal<[{ layer: string; reason: string }]>('leaseDenied');

export const environmentQuery = defineQuery<EnvironmentState>('environment');

/**
 * Holder: what it wants of the lease and the version events it recorded. Since `verified-lease`
 * the lease signals above are hints: the environment acts on this answer, and a holder checks a
 * grant or a denial against the environment's own state, so a forged signal changes nothing.
 */
export const leaseClaimQuery = defineQuery<LeaseClaim>('leaseClaim');

/** Operator: stop automatic (re-)promotion into the layer until released. */
export const holdUpdate = defineUpdate<HoldInfo, [{ actor: string; reason: string }]>('hold');
export const releaseHoldUpdate = defineUpdate<{ released: true }, [{ actor: string; reason: string }]>('releaseHold');

/** Operator: take the lease from a holder that will never give it back (terminated, crashed). */
export const breakLeaseUpdate = defineUpdate<{ broken: string }, [{ actor: string; reason: string }]>('breakLease');

export interface EnvironmentInput {
  layer: string;
  ttl?: string;
  credentialRotation?: string;
  /** Carried across continue-as-new. */
  state?: EnvironmentState;
  /** Continue as new past this many history events (default 2 000). */
  maxHistoryEvents?: number;
  /** How long after a leaseClaim failed for good its holder is asked again (default 30 s; for tests). */
  claimRetryMs?: number;
}

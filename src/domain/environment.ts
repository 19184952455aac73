// An environment as an entity: which version ran there when, who holds its lease, whether it is
// on hold. Pure rules used by the environment workflow and by clients.

import { normalizeIdentity } from './identity';

export type LeaseKind = 'promotion' | 'drill' | 'rollback' | 'teardown';

export interface LeaseRequest {
  /** Workflow id of the requester; the grant is signalled back to it. */
  holder: string;
  kind: LeaseKind;
  /** Fail at once instead of waiting when another holds the lease. */
  failFast: boolean;
}

export interface Lease {
  holder: string;
  kind: LeaseKind;
  since: string;
  /** How many of the holder's version events the environment has taken (leases since `verified-lease`). */
  taken?: number;
}

/**
 * What a lease holder's workflow says about itself, asked by the environment (its leaseClaim
 * query) whenever a lease message names it: the message is a hint, the holder's own answer is
 * what the environment acts on, so a message sent by anyone else changes nothing.
 */
export interface LeaseClaim {
  /** The lease the holder waits for or holds; null once it gave it back, or when it is gone. */
  wants: LeaseKind | null;
  failFast: boolean;
  /**
   * Every version event the holder recorded, oldest first. Since version-events-at-release each
   * carries the holder's time (`at`): the environment reads them when the lease is given back,
   * not at each event. Older holders' events have none, and the environment stamps its own.
   */
  events: Array<Omit<VersionEvent, 'at'> & { at?: string }>;
  /**
   * Since lease-answer-in-request the holder learns the environment's direct answer to its request
   * (granted, or refused) from its request activity, which waits for it: the environment signals
   * neither. A grant from the queue is signalled as before.
   */
  answeredByRequest?: boolean;
  /**
   * How the holder's workflow closed (`TERMINATED`, `COMPLETED`, …), when it has: a closed holder
   * that still wants its lease (terminated, timed out) will never give it back itself.
   */
  closed?: string;
}

/** Where a requester stands with the environment, as the environment itself says (its query). */
export type LeaseStanding =
  { kind: 'holder' } | { kind: 'waiting' } | { kind: 'denied'; reason: string } | { kind: 'unknown' };

export function leaseStanding(state: EnvironmentState, holder: string): LeaseStanding {
  if (state.lease?.holder === holder) return { kind: 'holder' };
  if (state.waiting.some((w) => w.holder === holder)) return { kind: 'waiting' };
  const reason = state.denials?.[holder];
  return reason !== undefined ? { kind: 'denied', reason } : { kind: 'unknown' };
}

/** Denials the environment remembers, so a requester can check one: the most recent ones. */
export const DENIALS_KEPT = 50;

export function rememberDenial(state: EnvironmentState, holder: string, reason: string): void {
  const denials = { ...(state.denials ?? {}), [holder]: reason };
  const holders = Object.keys(denials);
  for (const old of holders.slice(0, Math.max(0, holders.length - DENIALS_KEPT))) delete denials[old];
  state.denials = denials;
}

export type VersionEventKind = 'deployed' | 'promoted' | 'rolled-back' | 'torn-down';

export interface VersionEvent {
  at: string;
  event: VersionEventKind;
  /** The version running after the event (null: nothing runs). */
  version: string | null;
  digest: string | null;
  /** Promotion, drill or rollback workflow id that caused it. */
  by: string;
  reason?: string;
}

export interface HoldInfo {
  by: string;
  reason: string;
  at: string;
}

export interface EnvironmentState {
  layer: string;
  lease: Lease | null;
  waiting: Array<Lease & { failFast: boolean }>;
  hold: HoldInfo | null;
  history: VersionEvent[];
  credentialsRotatedAt: string | null;
  tornDownAt: string | null;
  /** Recent refusals by holder (environments since `verified-lease`). */
  denials?: Record<string, string>;
  /** What operators did to the environment (hold, release, breaking a lease), newest last. */
  operations?: OperatorAction[];
}

/** One operator action on an environment, as the environment recorded it. */
export interface OperatorAction {
  at: string;
  actor: string;
  action: 'hold' | 'release-hold' | 'break-lease' | 'release-holder-closed';
  reason: string;
  /** Whose lease was broken (or released because its workflow had closed). */
  holder?: string;
}

/** Operator actions an environment keeps in its state (its history holds every one): the most recent. */
export const OPERATIONS_KEPT = 100;

export function recordOperation(state: EnvironmentState, action: OperatorAction): void {
  state.operations = [...(state.operations ?? []), action].slice(-OPERATIONS_KEPT);
}

export function emptyEnvironment(layer: string): EnvironmentState {
  return { layer, lease: null, waiting: [], hold: null, history: [], credentialsRotatedAt: null, tornDownAt: null };
}

export type LeaseDecision =
  { kind: 'granted' } | { kind: 'queued'; position: number } | { kind: 'denied'; reason: string };

/** What happens to a lease request given the environment's state. */
export function decideLease(state: EnvironmentState, req: LeaseRequest): LeaseDecision {
  if (state.lease?.holder === req.holder) return { kind: 'granted' }; // a retried request
  const queued = state.waiting.findIndex((w) => w.holder === req.holder);
  if (queued >= 0) return { kind: 'queued', position: queued + 1 };
  if (req.kind === 'promotion' && state.hold) {
    return { kind: 'denied', reason: `layer ${state.layer} is on hold by ${state.hold.by}: ${state.hold.reason}` };
  }
  if (!state.lease && state.waiting.length === 0) return { kind: 'granted' };
  if (req.failFast) {
    const holder = state.lease ? `${state.lease.kind} ${state.lease.holder}` : 'earlier requests';
    return { kind: 'denied', reason: `layer ${state.layer} is leased by ${holder} and the ladder says fail-fast` };
  }
  return { kind: 'queued', position: state.waiting.length + 1 };
}

/** An operator's request about the environment's hold or lease (the hold, releaseHold and breakLease Updates). */
export interface HoldRequest {
  action: 'hold' | 'release-hold' | 'break-lease';
  actor: unknown;
  reason: unknown;
}

export type HoldDecision =
  | { kind: 'allowed'; by: string; reason: string }
  | { kind: 'refused'; failure: 'HoldRefused' | 'LeaseRefused'; reason: string };

/** Whether a hold, a release of the hold or the breaking of a lease may happen now, and by whom. */
export function decideHold(state: EnvironmentState, req: HoldRequest): HoldDecision {
  const by = normalizeIdentity(String(req.actor ?? ''));
  const reason = String(req.reason ?? '').trim();
  const identified = by !== '' && reason !== '';
  const refused = (failure: 'HoldRefused' | 'LeaseRefused', why: string): HoldDecision => ({
    kind: 'refused',
    failure,
    reason: why,
  });
  switch (req.action) {
    case 'hold':
      if (!identified) return refused('HoldRefused', 'a hold needs --as and --reason');
      if (state.hold) return refused('HoldRefused', `layer ${state.layer} is already on hold by ${state.hold.by}`);
      break;
    case 'release-hold':
      if (!state.hold) return refused('HoldRefused', `layer ${state.layer} is not on hold`);
      if (!identified) return refused('HoldRefused', 'a release needs --as and --reason');
      break;
    case 'break-lease':
      if (!identified) return refused('LeaseRefused', 'breaking a lease needs --as and --reason');
      if (!state.lease) return refused('LeaseRefused', `layer ${state.layer} has no lease to break`);
      break;
  }
  return { kind: 'allowed', by, reason };
}

/** The version that ran in the environment at `time` (ISO), from its history; null if none. */
export function versionAt(history: VersionEvent[], time: string): VersionEvent | null {
  let found: VersionEvent | null = null;
  for (const e of history) {
    if (e.at > time) break;
    if (e.event !== 'promoted') found = e;
  }
  return found && found.version ? found : null;
}

/** The version running now: the latest event that changed what runs. */
export function currentVersion(history: VersionEvent[]): VersionEvent | null {
  for (let i = history.length - 1; i >= 0; i--) {
    if (history[i].event !== 'promoted') return history[i].version ? history[i] : null;
  }
  return null;
}

export function environmentWorkflowId(taskQueue: string, layer: string): string {
  return `${taskQueue}.env.${layer}`;
}

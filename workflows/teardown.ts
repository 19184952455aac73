import { ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { normalizeIdentity } from '../src/domain/identity';
import { environmentLease } from './lease';
import { ACTIVITY_OPTIONS } from './activity-options';

const activities = proxyActivities<Activities>(ACTIVITY_OPTIONS);

export interface TeardownInput {
  layer: string;
  actor: string;
  reason: string;
}

export interface TeardownResult {
  layer: string;
  /** What ran there before (null when nothing did). */
  was: string | null;
}

/**
 * A teardown by an operator: under the layer's lease (it waits for a promotion, drill or rollback
 * holding it), stop the environment's processes and remove it, and record who did it and why in
 * the environment's version history. A torn-down layer has no known-good release any more, so the
 * next promotion into it starts afresh (a `drill-passed-within` bootstrap among it): the record
 * says who made it so.
 */
export async function teardown(input: TeardownInput): Promise<TeardownResult> {
  const actor = normalizeIdentity(String(input?.actor ?? ''));
  const reason = String(input?.reason ?? '').trim();
  if (!actor || !reason) {
    throw ApplicationFailure.nonRetryable('a teardown needs --as and --reason', 'TeardownRefused');
  }
  const id = workflowInfo().workflowId;
  const lease = environmentLease({ name: input.layer }, id);
  const answer = await lease.acquire('teardown', false);
  if (!answer.granted) throw ApplicationFailure.nonRetryable(`no lease: ${answer.reason}`, 'NoLease');
  try {
    const { running } = await activities.teardownEnvironment({ layer: input.layer });
    await lease.record('torn-down', null, null, `${actor}: ${reason}`);
    return { layer: input.layer, was: running };
  } finally {
    await lease.release();
  }
}

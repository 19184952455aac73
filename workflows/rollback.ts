import { ApplicationFailure, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { LayerSpec } from '../src/domain/ladder';
import { describeGateFailure } from '../src/domain/promotion';
import type { GateResult } from '../src/domain/status';
import { runGates } from './gates';
import { environmentLease } from './lease';
import { pinLayer, type StoredLadderRef } from './ladder-pin';
import { ACTIVITY_OPTIONS } from './activity-options';

const activities = proxyActivities<Activities>(ACTIVITY_OPTIONS);

export interface RollbackInput {
  /** The layer to roll back; since `server-side-ladder` only its name counts, read from `ladder`. */
  layer: LayerSpec;
  /** The stored ladder the layer's gates come from (rollbacks since `server-side-ladder`). */
  ladder?: StoredLadderRef;
  /** A version deployed there before; the last known-good one when absent. */
  toVersion?: string;
  actor: string;
  reason: string;
}

export interface RollbackResult {
  id: string;
  layer: string;
  state: 'rolled-back' | 'failed';
  from: string | null;
  to: string;
  gates: GateResult[];
  reason?: string;
}

/**
 * A manual rollback: under the layer's lease, redeploy the last known-good (or the named) version,
 * check its health and the layer's gates, and record it as the layer's known-good version again.
 */
export async function rollback(requested: RollbackInput): Promise<RollbackResult> {
  // The gates a rollback must pass come from the stored ladder, not from the client.
  const input: RollbackInput = { ...requested, layer: await pinLayer(requested.ladder, requested.layer) };
  const id = workflowInfo().workflowId;
  const lease = environmentLease(input.layer, id);
  const answer = await lease.acquire('rollback', false);
  if (!answer.granted) throw ApplicationFailure.nonRetryable(`no lease: ${answer.reason}`, 'NoLease');
  try {
    const target = await activities.resolveRollbackTarget({ layer: input.layer.name, toVersion: input.toVersion });
    const rolled = await activities.rollbackEnvironment({ layer: input.layer, to: target.release });
    await lease.record('rolled-back', rolled.running, target.release.digest, `${input.actor}: ${input.reason}`);
    const candidate = await activities.releaseCandidate({ layer: input.layer.name, digest: target.release.digest });
    // A gate the workflow computes (seeds) is computed again here, with this rollback's own children.
    const gates = await runGates(
      activities,
      { promotionId: id, layer: input.layer, candidate },
      { computesWorkflowGates: () => patched('rollback-computes-workflow-gates') },
    );
    const failed = gates.find((g) => !g.passed);
    const base = { id, layer: input.layer.name, from: target.from, to: target.release.version, gates };
    if (failed) return { ...base, state: 'failed', reason: describeGateFailure(failed) };
    await activities.promoteRelease({ layer: input.layer, digest: target.release.digest });
    await lease.record(
      'promoted',
      target.release.version,
      target.release.digest,
      `known-good again after rollback by ${input.actor}`,
    );
    return { ...base, state: 'rolled-back' };
  } finally {
    await lease.release();
  }
}

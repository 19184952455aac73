import {
  ActivityFailure,
  ApplicationFailure,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { LADDER_REFUSED } from '../src/domain/ladder-version';
import type { PromotionInput } from '../src/domain/promotion';
import type { LayerSpec } from '../src/domain/ladder';
import { PromotionTracker } from '../src/domain/promotion-tracker';
import { normalizeIdentity } from '../src/domain/identity';
import { ABORT_REFUSED, APPROVAL_REFUSED, abortUpdate, approveUpdate, rejectUpdate, statusQuery } from './messages';
import type { Since } from './generation';

const { resolveLadder } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 5 },
});

/**
 * The layers a promotion climbs, from the ladder entity workflow and never from its input: the
 * ladder named in `input.ladder` is read (its current version, or the one the client pinned) and
 * its digest re-checked by an activity, and the `layers` a client put in the input are ignored.
 * Promotions recorded before ladders lived on the server carry their layers in the input and
 * replay on the old path.
 */
export async function pinLadder(input: PromotionInput, since: Since = patched): Promise<PromotionInput> {
  if (!since('server-side-ladder')) return input;
  if (!input.ladder?.name) {
    throw ApplicationFailure.nonRetryable(
      'a promotion names its ladder (input.ladder.name); ladders live on the server (strata ladder apply)',
      LADDER_REFUSED,
    );
  }
  // Answer status while the ladder is read: the promotion's own handler replaces this one.
  const waiting = { ...input, layers: [] };
  const placeholder = new PromotionTracker(workflowInfo().workflowId, waiting, normalizeIdentity(input.initiator));
  setHandler(statusQuery, () => placeholder.status);
  // Nothing awaits a decision yet: an approval or an abort now is refused on the record (the
  // promotion's own handlers replace these once the ladder is read).
  const starting = (type: string, what: string) => () => {
    throw ApplicationFailure.create({
      type,
      nonRetryable: true,
      message: `${what}: the promotion is still reading its ladder (no layer is awaiting approval; phase: pending)`,
    });
  };
  setHandler(approveUpdate, starting(APPROVAL_REFUSED, 'not awaiting approval'));
  setHandler(rejectUpdate, starting(APPROVAL_REFUSED, 'not awaiting approval'));
  setHandler(abortUpdate, starting(ABORT_REFUSED, 'nothing to abort yet, try again'));
  try {
    const pinned = await resolveLadder({ ...input.ladder });
    return { ...input, ladderName: pinned.name, layers: pinned.layers, pinned };
  } catch (err) {
    const cause = err instanceof ActivityFailure && err.cause instanceof Error ? err.cause.message : String(err);
    throw ApplicationFailure.nonRetryable(`ladder "${input.ladder.name}": ${cause}`, LADDER_REFUSED);
  }
}

/** A drill's or a rollback's stored ladder: its name, and a version (the current one when absent). */
export interface StoredLadderRef {
  name: string;
  version?: number;
}

/**
 * The layer a drill or a rollback works on, from the stored ladder (its objectives, gates and
 * lease policy), never from the workflow's input: a client names the layer only. Workflows
 * started before ladders lived on the server carry the layer in their input and replay with it.
 */
export async function pinLayer(ladder: StoredLadderRef | undefined, given: LayerSpec): Promise<LayerSpec> {
  if (!patched('server-side-ladder')) return given;
  if (!ladder?.name) {
    throw ApplicationFailure.nonRetryable(
      `layer ${given?.name ?? '?'}: name its stored ladder (input.ladder.name); ladders live on the server (strata ladder apply)`,
      LADDER_REFUSED,
    );
  }
  let pinned;
  try {
    pinned = await resolveLadder({ name: ladder.name, version: ladder.version });
  } catch (err) {
    const cause = err instanceof ActivityFailure && err.cause instanceof Error ? err.cause.message : String(err);
    throw ApplicationFailure.nonRetryable(`ladder "${ladder.name}": ${cause}`, LADDER_REFUSED);
  }
  const layer = pinned.layers.find((l) => l.name === given?.name);
  if (!layer) {
    throw ApplicationFailure.nonRetryable(
      `ladder "${ladder.name}" version ${pinned.version} has no layer "${given?.name}" (layers: ${pinned.layers.map((l) => l.name).join(', ')})`,
      LADDER_REFUSED,
    );
  }
  return layer;
}

// Pinning a promotion's ladder: read the version from the ladder entity workflow and re-check it.

import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { layerRange } from '../src/config/ladder';
import { ladderDigest } from '../src/config/ladder-digest';
import {
  LADDER_REFUSED,
  type LadderRef,
  type LadderVersion,
  ladderWorkflowId,
  type PinnedLadder,
} from '../src/domain/ladder-version';
import { ConfigError } from '../src/validation/errors';
import { LADDER_CURRENT_MEMO, ladderVersionQuery } from '../workflows/ladder-messages';
import type { ActivityDeps } from './support';

/**
 * Reads of ladder versions that overlap share one read (per worker process): when 50 promotions
 * start at once, the server is asked once rather than 50 times (and, for a version only a query
 * can give, the ladder workflow answers one query, each of which needs a workflow task of its own
 * and, on a busy worker, times out after 30 s). Nothing is kept after a
 * read ends: a ladder workflow replaced under the same id (terminated by hand, applied again) is
 * read afresh.
 */
export class SharedReads<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  constructor(private readonly query: (id: string, version: number | null) => Promise<T>) {}

  read(id: string, version: number | undefined): Promise<T> {
    const key = `${id}@${version ?? 'current'}`;
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const query = this.query(id, version ?? null).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, query);
    return query;
  }
}

export function createLadderActivities({ client }: ActivityDeps) {
  const reads = client
    ? new SharedReads(async (id, version): Promise<LadderVersion | null> => {
        const handle = client.workflow.getHandle(id);
        // The current version from the ladder workflow's memo: the server answers describe
        // without a worker. Older versions, and ladder workflows from before the memo, are queried.
        const { memo } = await handle.describe();
        const current = memo?.[LADDER_CURRENT_MEMO] as LadderVersion | undefined;
        if (current && (version === null || current.version === version)) return current;
        return handle.query(ladderVersionQuery, version);
      })
    : undefined;
  return {
    /**
     * The ladder version a promotion runs (its current one unless `ref.version` names one), with
     * the digest recomputed from the stored ladder: a version whose content no longer matches
     * the digest it was stored with is refused. Read-only, so a retry is harmless.
     */
    async resolveLadder(ref: LadderRef): Promise<PinnedLadder> {
      const refuse = (message: string) => ApplicationFailure.nonRetryable(message, LADDER_REFUSED);
      if (!client) throw refuse('this worker has no Temporal client to read ladders with');
      const name = String(ref?.name ?? '');
      const id = ladderWorkflowId(Context.current().info.taskQueue, name);
      let stored;
      try {
        stored = await reads!.read(id, ref.version);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) {
          throw refuse(`no ladder named "${name}" on this task queue (strata ladder apply FILE stores one)`);
        }
        throw err;
      }
      if (!stored) {
        throw refuse(
          ref.version === undefined
            ? `ladder "${name}" has no version yet`
            : `ladder "${name}" has no version ${ref.version} (strata ladder history ${name})`,
        );
      }
      const found = ladderDigest(stored.ladder);
      if (found !== stored.digest) {
        throw refuse(
          `ladder "${name}" version ${stored.version}: stored digest ${stored.digest} does not match its content (${found})`,
        );
      }
      let layers;
      try {
        layers = layerRange(stored.ladder, ref.from, ref.to);
      } catch (err) {
        if (err instanceof ConfigError) throw refuse(err.message);
        throw err;
      }
      return { name, version: stored.version, digest: stored.digest, layers };
    },
  };
}

// Client calls of the ladder entity workflows: apply a version, read versions, list ladders.

import {
  type Client,
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import type { LadderSpec } from '../domain/ladder';
import { ladderWorkflowId, type LadderApplyReply, type LadderVersion } from '../domain/ladder-version';
import { ladderDigest } from '../config/ladder-digest';
import { ladderApplyUpdate, ladderVersionQuery, ladderVersionsQuery } from '../../workflows/ladder-messages';
import type { ladder as ladderWorkflow } from '../../workflows/ladder';
import { RefusedError } from './refused';
import { LadderNotFoundError } from './errors';

export { LadderNotFoundError };

/**
 * Stores `ladder` as a new version of its ladder entity workflow, starting that workflow on first
 * use (update-with-start, so two first applies cannot start two). An unchanged ladder stores nothing.
 */
export async function applyLadder(
  client: Client,
  taskQueue: string,
  ladder: LadderSpec,
  by: { actor: string; reason: string },
): Promise<LadderApplyReply> {
  const spec: LadderSpec = { name: ladder.name, layers: ladder.layers };
  const start = new WithStartWorkflowOperation<typeof ladderWorkflow>('ladder', {
    workflowId: ladderWorkflowId(taskQueue, ladder.name),
    taskQueue,
    args: [{ name: ladder.name }],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  try {
    return await client.workflow.executeUpdateWithStart(ladderApplyUpdate, {
      args: [{ ladder: spec, digest: ladderDigest(spec), actor: by.actor, reason: by.reason }],
      startWorkflowOperation: start,
    });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new RefusedError((err.cause as Error)?.message ?? err.message);
    throw err;
  }
}

/** Every version of ladder `name`, oldest first. */
export async function ladderVersions(client: Client, taskQueue: string, name: string): Promise<LadderVersion[]> {
  try {
    return await client.workflow.getHandle(ladderWorkflowId(taskQueue, name)).query(ladderVersionsQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new LadderNotFoundError(name);
    throw err;
  }
}

/** One version of ladder `name` (the current one when `version` is undefined). */
export async function getLadderVersion(
  client: Client,
  taskQueue: string,
  name: string,
  version?: number,
): Promise<LadderVersion> {
  let found: LadderVersion | null;
  try {
    found = await client.workflow
      .getHandle(ladderWorkflowId(taskQueue, name))
      .query(ladderVersionQuery, version ?? null);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new LadderNotFoundError(name);
    throw err;
  }
  if (!found) throw new LadderNotFoundError(name, version ?? 0);
  return found;
}

/** Ladder names with an entity workflow on this task queue, from visibility. */
export async function listLadders(client: Client, taskQueue: string): Promise<string[]> {
  const prefix = `${taskQueue}.ladder.`;
  const names = new Set<string>();
  for await (const wf of client.workflow.list({ query: `WorkflowType = 'ladder' AND ExecutionStatus = 'Running'` })) {
    if (wf.workflowId.startsWith(prefix)) names.add(wf.workflowId.slice(prefix.length));
  }
  return [...names].sort();
}

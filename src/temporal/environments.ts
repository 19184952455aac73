import { randomBytes } from 'node:crypto';
import { type Client, WorkflowFailedError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { TeardownResult } from '../../workflows/teardown';
import { environmentWorkflowId, type EnvironmentState, type HoldInfo } from '../domain/environment';
import {
  breakLeaseUpdate,
  environmentQuery,
  holdUpdate,
  releaseHoldUpdate,
} from '../../workflows/environment-messages';
import { RefusedError } from './promotions';
import { EnvironmentNotFoundError } from './errors';

export { EnvironmentNotFoundError };

export async function getEnvironment(client: Client, taskQueue: string, layer: string): Promise<EnvironmentState> {
  try {
    return await client.workflow.getHandle(environmentWorkflowId(taskQueue, layer)).query(environmentQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new EnvironmentNotFoundError(layer);
    throw err;
  }
}

/** Layers with an environment workflow on this task queue, from visibility. */
export async function listEnvironments(client: Client, taskQueue: string): Promise<string[]> {
  const prefix = `${taskQueue}.env.`;
  const layers = new Set<string>();
  for await (const wf of client.workflow.list({
    query: `WorkflowType = 'environment' AND ExecutionStatus = 'Running'`,
  })) {
    if (wf.workflowId.startsWith(prefix)) layers.add(wf.workflowId.slice(prefix.length));
  }
  return [...layers].sort();
}

async function update<R>(layer: string, run: () => Promise<R>): Promise<R> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new RefusedError((err.cause as Error)?.message ?? err.message);
    if (err instanceof WorkflowNotFoundError) throw new EnvironmentNotFoundError(layer);
    throw err;
  }
}

export function hold(
  client: Client,
  taskQueue: string,
  layer: string,
  req: { actor: string; reason: string },
): Promise<HoldInfo> {
  return update(layer, () =>
    client.workflow.getHandle(environmentWorkflowId(taskQueue, layer)).executeUpdate(holdUpdate, { args: [req] }),
  );
}

export function releaseHold(client: Client, taskQueue: string, layer: string, req: { actor: string; reason: string }) {
  return update(layer, () =>
    client.workflow
      .getHandle(environmentWorkflowId(taskQueue, layer))
      .executeUpdate(releaseHoldUpdate, { args: [req] }),
  );
}

export function breakLease(client: Client, taskQueue: string, layer: string, req: { actor: string; reason: string }) {
  return update(layer, () =>
    client.workflow.getHandle(environmentWorkflowId(taskQueue, layer)).executeUpdate(breakLeaseUpdate, { args: [req] }),
  );
}

/**
 * Tears a layer's environment down through the teardown workflow: it takes the layer's lease
 * (waiting for whoever holds it), removes the environment and records who did it and why.
 */
export async function teardownLayer(
  client: Client,
  taskQueue: string,
  layer: string,
  req: { actor: string; reason: string },
): Promise<TeardownResult> {
  const workflowId = `${taskQueue}.teardown.${layer}.${randomBytes(3).toString('hex')}`;
  try {
    return await client.workflow.execute('teardown', {
      workflowId,
      taskQueue,
      args: [{ layer, actor: req.actor, reason: req.reason }],
    });
  } catch (err) {
    if (err instanceof WorkflowFailedError) throw new RefusedError((err.cause as Error)?.message ?? err.message);
    throw err;
  }
}

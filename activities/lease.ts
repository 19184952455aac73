// The layer's lease: held by the environment entity workflow, asked for by signal-with-start.

import { ApplicationFailure, Context } from '@temporalio/activity';
import { environmentWorkflowId, type LeaseRequest } from '../src/domain/environment';
import type { LayerSpec } from '../src/domain/ladder';
import { leaseRequestSignal } from '../workflows/environment-messages';
import type { ActivityDeps } from './support';

export function createLeaseActivities({ client }: ActivityDeps) {
  return {
    /**
     * Asks the layer's environment workflow for its lease, starting that workflow if it is not
     * running (signal-with-start, so a retry cannot start two). The answer comes back as a signal.
     */
    async requestLease(input: { layer: LayerSpec; request: LeaseRequest }): Promise<{ environmentId: string }> {
      if (!client) throw ApplicationFailure.nonRetryable('this worker has no Temporal client for leases', 'NoClient');
      const info = Context.current().info;
      const environmentId = environmentWorkflowId(info.taskQueue, input.layer.name);
      await client.workflow.signalWithStart('environment', {
        workflowId: environmentId,
        taskQueue: info.taskQueue,
        args: [{ layer: input.layer.name, ttl: input.layer.ttl, credentialRotation: input.layer.credentialRotation }],
        signal: leaseRequestSignal,
        signalArgs: [input.request],
      });
      return { environmentId };
    },
  };
}

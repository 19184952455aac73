// The layer's lease: held by the environment entity workflow, asked for by signal-with-start.

import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import {
  environmentWorkflowId,
  type LeaseClaim,
  type LeaseRequest,
  type LeaseStanding,
  leaseStanding,
} from '../src/domain/environment';
import type { LayerSpec } from '../src/domain/ladder';
import { environmentQuery, leaseClaimQuery, leaseRequestSignal } from '../workflows/environment-messages';
import { type ActivityDeps, withHeartbeat } from './support';

export function createLeaseActivities({ client }: ActivityDeps) {
  return {
    /**
     * Asks the layer's environment workflow for its lease, starting that workflow if it is not
     * running (signal-with-start, so a retry cannot start two). The answer comes back as a signal.
     */
    async requestLease(input: {
      layer: Pick<LayerSpec, 'name'> & Partial<Pick<LayerSpec, 'ttl' | 'credentialRotation'>>;
      request: LeaseRequest;
      /**
       * Wait up to this long for the environment to have answered the request (lease-answer-in-request),
       * and return where the requester stands: a direct grant or refusal is not signalled.
       */
      answerWithinMs?: number;
    }): Promise<{ environmentId: string; standing?: LeaseStanding }> {
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
      if (!input.answerWithinMs) return { environmentId };
      // The environment answers once it has asked the requester what it wants (its leaseClaim):
      // a few hundred milliseconds on an idle machine. Until then it does not know of the requester.
      const ctx = Context.current();
      const deadline = Date.now() + input.answerWithinMs;
      let standing: LeaseStanding = { kind: 'unknown' };
      for (let pause = 25; ; pause = Math.min(pause * 2, 500)) {
        try {
          standing = leaseStanding(
            await client.workflow.getHandle(environmentId).query(environmentQuery),
            input.request.holder,
          );
        } catch (err) {
          // A query that timed out on a busy machine is asked again; the answer can also come by signal.
          if (ctx.cancellationSignal.aborted) throw err;
        }
        if (standing.kind !== 'unknown' || Date.now() + pause > deadline) return { environmentId, standing };
        ctx.heartbeat();
        await ctx.sleep(pause);
      }
    },

    /**
     * The environment asks a workflow a lease message named what it wants (its leaseClaim query,
     * answered by that workflow itself), and whether it has closed. One that does not exist, or
     * cannot say, wants nothing.
     */
    async leaseClaim(input: { holder: string }): Promise<LeaseClaim> {
      if (!client) throw ApplicationFailure.nonRetryable('this worker has no Temporal client for leases', 'NoClient');
      const nothing: LeaseClaim = { wants: null, failFast: false, events: [] };
      // The query needs a workflow task of the holder: on a loaded machine that takes longer than
      // the environment's 10 s heartbeat timeout, so it heartbeats while waiting (the soak saw ten
      // attempts in a row time out without a heartbeat, and the environment workflow fail).
      return withHeartbeat(async () => {
        try {
          const handle = client.workflow.getHandle(input.holder);
          // Closed first, then the claim: a closed workflow's claim is final, events and all.
          const status = (await handle.describe()).status.name;
          const claim = await handle.query(leaseClaimQuery);
          if (!claim || typeof claim !== 'object') return nothing;
          return status === 'RUNNING' ? claim : { ...claim, closed: status };
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) return nothing;
          // A workflow without the query (not a lease holder, or started before verified-lease).
          if (/unknown queryType|did not register a handler|QueryNotRegistered/i.test(String((err as Error)?.message)))
            return nothing;
          throw err;
        }
      });
    },

    /** Where this workflow stands with the layer's environment, as the environment says (its query). */
    async leaseStanding(input: { layer: string; holder: string }): Promise<LeaseStanding> {
      if (!client) throw ApplicationFailure.nonRetryable('this worker has no Temporal client for leases', 'NoClient');
      const environmentId = environmentWorkflowId(Context.current().info.taskQueue, input.layer);
      try {
        const state = await client.workflow.getHandle(environmentId).query(environmentQuery);
        return leaseStanding(state, input.holder);
      } catch (err) {
        // No environment workflow at all: the request that would have started it never arrived.
        if (err instanceof WorkflowNotFoundError) return { kind: 'unknown' };
        throw err;
      }
    },
  };
}

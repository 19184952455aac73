// The worker's metrics interceptor: every activity that completes hands its type, input and result
// to recordActivityCompleted. Workflows stay untouched (they are deterministic and replayed); what
// only a workflow knows — how long a layer waited for its approval — is read from its history
// when the layer's promote or rollback activity runs.
import type { Client } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import type { ActivityExecuteInput, ActivityInterceptorsFactory, Next } from '@temporalio/worker';
import type { ActivityInboundCallsInterceptor } from '@temporalio/worker';
import type { LayerSpec } from '../domain/ladder';
import { logger } from '../log/logger';
import { recordActivityCompleted, recordActivityFailed } from './activity-facts';
import { currentPhase } from './layer-history';
import { strataMetrics } from './registry';

export function metricsActivityInterceptor(client?: Client): ActivityInterceptorsFactory {
  return (ctx) => {
    const inbound: ActivityInboundCallsInterceptor = {
      async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>) {
        const type = ctx.info.activityType;
        const started = performance.now();
        const approval =
          client && (type === 'promoteRelease' || type === 'rollbackEnvironment')
            ? await approvalWait(client, ctx.info.workflowExecution, input.args[0]).catch((err) => {
                logger.warn({ err, activity: type }, 'metrics: could not read the approval wait');
                return undefined;
              })
            : undefined;
        let output: unknown;
        try {
          output = await next(input);
        } catch (err) {
          safely(() => recordActivityFailed(type, input.args[0], (err as ApplicationFailure)?.details));
          throw err;
        }
        safely(() => recordActivityCompleted(type, input.args[0], output, (performance.now() - started) / 1000));
        if (approval) {
          const outcome = type === 'promoteRelease' ? 'promoted' : 'rolled-back';
          strataMetrics.approvalWait.observe({ layer: approval.layer, outcome }, approval.seconds);
        }
        return output;
      },
    };
    return { inbound };
  };
}

/** How long a manual layer that now promotes or rolls back from awaiting-approval waited for its decision. */
async function approvalWait(
  client: Client,
  execution: { workflowId: string; runId: string } | undefined,
  arg: unknown,
): Promise<{ layer: string; seconds: number } | undefined> {
  const layer = (arg as { layer?: Partial<LayerSpec> } | undefined)?.layer;
  if (!execution || !layer?.name || (layer.approval as { mode?: string } | undefined)?.mode !== 'manual') return;
  const now = await currentPhase(client, execution.workflowId, execution.runId);
  if (now?.phase !== 'awaiting-approval') return;
  return { layer: layer.name, seconds: Math.max(0, (Date.now() - now.enteredMs) / 1000) };
}

/** Metrics never fail an activity. */
function safely(record: () => void): void {
  try {
    record();
  } catch (err) {
    logger.warn({ err }, 'metrics: could not record an activity');
  }
}

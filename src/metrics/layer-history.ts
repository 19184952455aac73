// When a layer workflow entered a phase, read from its history: the layer upserts its StrataPhase
// search attribute on every phase change (workflows/layer.ts), and each upsert event carries the
// server's time. The workflow itself never reads a clock for metrics.
import type { Client } from '@temporalio/client';
import { searchAttributePayloadConverter } from '@temporalio/common/lib/converter/payload-search-attributes';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { PHASE_KEY } from '../../workflows/search-attributes';

const UPSERT = temporal.api.enums.v1.EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES;

/** The layer's current phase and when it was entered (ms since the epoch), or undefined if it never set one. */
export async function currentPhase(
  client: Client,
  workflowId: string,
  runId?: string,
): Promise<{ phase: string; enteredMs: number } | undefined> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  let found: { phase: string; enteredMs: number } | undefined;
  for (const e of history.events ?? []) {
    if (e.eventType !== UPSERT) continue;
    const payload = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.[PHASE_KEY.name];
    if (!payload) continue;
    const value = searchAttributePayloadConverter.fromPayload<unknown>(payload);
    const phase = Array.isArray(value) ? value[0] : value;
    if (typeof phase === 'string' && e.eventTime) found = { phase, enteredMs: tsToMs(e.eventTime) };
  }
  return found;
}

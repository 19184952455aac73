import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { decodeHistoryPayloads } from './codec';

/**
 * A workflow's history with its payloads opened by the client's payload codecs (encrypted
 * payloads, STRATA_PAYLOAD_KEYRING): every history reader goes through here.
 */
export async function fetchHistory(
  client: Client,
  workflowId: string,
  runId?: string,
): Promise<temporal.api.history.v1.IHistory> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  await decodeHistoryPayloads(history.events ?? [], client.options.loadedDataConverter.payloadCodecs);
  return history;
}

import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { defaultPayloadConverter } from './sdk-common';
import { decodeHistoryPayloads } from './codec';
import { type FoldedPatch, GENERATION } from '../../workflows/generation-ids';

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

/**
 * Whether the workflow of `events` ran with `patch`: its own marker is in the history, or the
 * marker of the generation that folds it in (workflows/generation.ts).
 */
export function historyHasPatch(events: temporal.api.history.v1.IHistoryEvent[], patch: FoldedPatch): boolean {
  return events.some((e) => {
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_patch') return false;
    return Object.values(marker.details ?? {}).some((payloads) =>
      (payloads.payloads ?? []).some((p) => {
        const id = (defaultPayloadConverter.fromPayload(p) as { id?: unknown } | undefined)?.id;
        return id === patch || id === GENERATION;
      }),
    );
  });
}

/** A Keyword search attribute's value as upserted (a string, or a list of one). */
export function keywordOf(payload: temporal.api.common.v1.IPayload): string {
  const value = defaultPayloadConverter.fromPayload<string | string[]>(payload);
  return Array.isArray(value) ? value[0] : value;
}

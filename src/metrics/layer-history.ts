// When a layer workflow entered a phase, read from its history (src/temporal/timings): the
// workflow itself never reads a clock for metrics.
import type { Client } from '@temporalio/client';
import { type PhaseEntry, phaseEntries } from '../temporal/timings';
import { fetchHistory } from '../temporal/history';

/** The layer's current phase and when it was entered (ms since the epoch), or undefined if it never set one. */
export async function currentPhase(
  client: Client,
  workflowId: string,
  runId?: string,
): Promise<PhaseEntry | undefined> {
  const history = await fetchHistory(client, workflowId, runId);
  return phaseEntries(history.events ?? []).at(-1);
}

// `strata list`: promotions from Temporal's visibility, a page at a time, read through a
// WorkflowReader's `list`, so that it runs on the gRPC client (the API server, the web inbox) or on
// Temporal's HTTP API (the CLI in local mode, which then loads no gRPC: http-api.ts says why).

import type { PromotionState } from '../domain/status';
import { CANDIDATE_KEY, LAYER_KEY, PHASE_KEY, STATE_KEY, VERSION_KEY } from '../../workflows/search-attributes';
import type { ExecutionSummary, WorkflowReader } from './status';

export interface PromotionSummary {
  id: string;
  candidate: string;
  version: string;
  layer: string;
  phase: string;
  startTime: string;
  closeTime: string | null;
}

/** Promotions read (and their layers asked about) at a time. */
const LIST_PAGE = 100;

/** The newest promotions first (visibility's order), at most `limit` (default 100), of one phase if asked. */
export async function listFrom(
  reader: Pick<WorkflowReader, 'list'>,
  opts: { phase?: PromotionState; limit?: number } = {},
): Promise<PromotionSummary[]> {
  const limit = opts.limit ?? 100;
  // Sealed promotions do not record that a layer awaits approval (no signal tells them): the layer
  // does, in its own StrataPhase. The running layers of each page of promotions are asked which of
  // them wait for people, so a list costs what it shows, not every promotion parked on the server.
  const askLayers = opts.phase === undefined || opts.phase === 'running' || opts.phase === 'awaiting-approval';
  let query = `WorkflowType = 'promotion'`;
  if (opts.phase === 'awaiting-approval') query += ` AND ExecutionStatus = 'Running'`;
  // Promotions started before StrataState existed keep their state in StrataPhase.
  else if (opts.phase) query += ` AND (${STATE_KEY.name} = '${opts.phase}' OR ${PHASE_KEY.name} = '${opts.phase}')`;
  // A promotion terminated (or timed out) from outside keeps the state it last wrote: running.
  if (opts.phase === 'running') query += ` AND ExecutionStatus = 'Running'`;
  const pageSize = Math.min(limit, LIST_PAGE);
  const out: PromotionSummary[] = [];
  let page: ExecutionSummary[] = [];
  /** Adds the page's promotions; true once the list is full. */
  const take = async (): Promise<boolean> => {
    const running = page.filter((wf) => wf.status === 'RUNNING').map((wf) => wf.workflowId);
    const waiting = askLayers && running.length ? await awaitingApprovalAmong(reader, running) : new Set<string>();
    for (const wf of page) {
      const attrs = wf.keywords;
      const recorded = attrs.get(STATE_KEY.name) ?? attrs.get(PHASE_KEY.name);
      let phase =
        recorded === undefined || (recorded === 'running' && wf.status !== 'RUNNING')
          ? wf.status.toLowerCase()
          : recorded;
      if (phase === 'running' && waiting.has(wf.workflowId)) phase = 'awaiting-approval';
      if (opts.phase && phase !== opts.phase) continue;
      out.push({
        id: wf.workflowId,
        candidate: attrs.get(CANDIDATE_KEY.name) ?? '',
        version: attrs.get(VERSION_KEY.name) ?? '',
        layer: attrs.get(LAYER_KEY.name) ?? '',
        phase,
        startTime: wf.startTime.toISOString(),
        closeTime: wf.closeTime?.toISOString() ?? null,
      });
      if (out.length >= limit) return true;
    }
    page = [];
    return false;
  };
  for await (const wf of reader.list(query, pageSize)) {
    page.push(wf);
    if (page.length >= pageSize && (await take())) return out;
  }
  await take();
  return out;
}

/** Which of `promotionIds` (running) have a running layer awaiting approval, from the layers' StrataPhase. */
async function awaitingApprovalAmong(
  reader: Pick<WorkflowReader, 'list'>,
  promotionIds: readonly string[],
): Promise<Set<string>> {
  const ids = new Set<string>();
  const parents = promotionIds.map((id) => `'${id.replace(/'/g, "\\'")}'`).join(', ');
  const query =
    `WorkflowType = 'layer' AND ExecutionStatus = 'Running' AND ${PHASE_KEY.name} = 'awaiting-approval'` +
    ` AND ParentWorkflowId IN (${parents})`;
  for await (const wf of reader.list(query, promotionIds.length)) if (wf.parentWorkflowId) ids.add(wf.parentWorkflowId);
  return ids;
}

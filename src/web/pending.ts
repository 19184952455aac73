// The approvals waiting for people, for the inbox: one visibility query for the layers whose
// StrataPhase is awaiting-approval, and for each layer run two small history reads, done once and
// kept (a run's input and the moment it began to wait never change): the first event (its input:
// the approval policy, the initiator, the candidate) and the newest events read backwards until the
// phase became awaiting-approval (the age, and the expiry the workflow's timer counts from). A
// thousand waiting layers cost one listing per page load once they are known.

import type { Client } from '@temporalio/client';
import { tsToDate } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';
import { evaluateApproval } from '../domain/approval';
import { parseDuration } from '../domain/duration';
import type { LayerInput } from '../domain/promotion';
import { decodeHistoryPayloads } from '../temporal/codec';
import { CANDIDATE_KEY, LAYER_KEY, PHASE_KEY, VERSION_KEY } from '../../workflows/search-attributes';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export interface PendingApproval {
  promotionId: string;
  layer: string;
  candidate: string;
  version: string;
  initiator: string;
  /** The policy's approvers (`group:<name>` or identities) and how many approvals it needs. */
  approvers: string[];
  required: number;
  /** When the layer began to wait (ISO); the layer's start when that cannot be read. */
  since: string;
  /** When the wait expires (ISO), from the policy's expiry; null when it has none. */
  expiresAt: string | null;
}

interface RunDetails {
  input: LayerInput;
  since: string | null;
}

const quote = (value: string) => value.replace(/'/g, "\\'");

export class PendingApprovals {
  /** By layer workflow run id. Bounded: the oldest entries go first beyond this. */
  private readonly details = new Map<string, Promise<RunDetails | undefined>>();
  private static readonly KEPT = 20_000;

  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  /** Every layer awaiting approval on this task queue, oldest wait first. */
  async list(): Promise<PendingApproval[]> {
    const query =
      `WorkflowType = 'layer' AND ExecutionStatus = 'Running' AND ${PHASE_KEY.name} = 'awaiting-approval' ` +
      `AND TaskQueue = '${quote(this.taskQueue)}'`;
    const rows: Array<{ workflowId: string; runId: string; parent: string; start: Date; attrs: Map<string, string> }> =
      [];
    for await (const wf of this.client.workflow.list({ query })) {
      const attrs = new Map<string, string>();
      for (const key of [CANDIDATE_KEY, VERSION_KEY, LAYER_KEY]) {
        const v = wf.typedSearchAttributes.get(key);
        if (typeof v === 'string') attrs.set(key.name, v);
      }
      rows.push({
        workflowId: wf.workflowId,
        runId: wf.runId,
        parent: wf.parentExecution?.workflowId ?? '',
        start: wf.startTime,
        attrs,
      });
    }
    const details = await mapLimit(rows, 16, (r) => this.detailsOf(r.workflowId, r.runId));
    const out: PendingApproval[] = [];
    rows.forEach((r, i) => {
      const d = details[i];
      if (!d) return;
      const policy = d.input.layer.approval;
      if (policy.mode !== 'manual') return;
      const since = d.since ?? r.start.toISOString();
      const expiryMs = parseDuration(policy.expiry);
      out.push({
        promotionId: d.input.promotionId || r.parent,
        layer: d.input.layer.name || (r.attrs.get(LAYER_KEY.name) ?? ''),
        candidate: d.input.candidate.name || (r.attrs.get(CANDIDATE_KEY.name) ?? ''),
        version: d.input.candidate.version || (r.attrs.get(VERSION_KEY.name) ?? ''),
        initiator: d.input.initiator,
        approvers: policy.approvers,
        required: policy.required,
        since,
        expiresAt: expiryMs ? new Date(Date.parse(since) + expiryMs).toISOString() : null,
      });
    });
    return out.sort((a, b) => a.since.localeCompare(b.since) || a.promotionId.localeCompare(b.promotionId));
  }

  private detailsOf(workflowId: string, runId: string): Promise<RunDetails | undefined> {
    let found = this.details.get(runId);
    if (!found) {
      found = this.readDetails(workflowId, runId).catch(() => undefined);
      this.details.set(runId, found);
      // A failed read is tried again on the next listing.
      void found.then((d) => {
        if (!d) this.details.delete(runId);
      });
      if (this.details.size > PendingApprovals.KEPT) this.details.delete(this.details.keys().next().value!);
    }
    return found;
  }

  private async readDetails(workflowId: string, runId: string): Promise<RunDetails | undefined> {
    const svc = this.client.workflowService;
    const namespace = this.client.options.namespace;
    const execution = { workflowId, runId };
    const first = await svc.getWorkflowExecutionHistory({ namespace, execution, maximumPageSize: 1 });
    const events = await decodeHistoryPayloads(
      (first.history?.events ?? []).slice(0, 1),
      this.client.options.loadedDataConverter.payloadCodecs,
    );
    const payload = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    if (!payload) return undefined;
    const input = this.client.options.loadedDataConverter.payloadConverter.fromPayload<LayerInput>(payload);
    if (!input?.layer?.approval) return undefined;
    return { input, since: await this.waitingSince(namespace, execution) };
  }

  /** The time of the newest upsert of StrataPhase = awaiting-approval (read backwards, a few pages at most). */
  private async waitingSince(
    namespace: string,
    execution: { workflowId: string; runId: string },
  ): Promise<string | null> {
    let nextPageToken: Uint8Array | undefined;
    for (let page = 0; page < 10; page++) {
      const res = await this.client.workflowService.getWorkflowExecutionHistoryReverse({
        namespace,
        execution,
        maximumPageSize: 50,
        ...(nextPageToken ? { nextPageToken } : {}),
      });
      for (const e of res.history?.events ?? []) if (isAwaitingUpsert(e)) return tsToDate(e.eventTime!).toISOString();
      if (!res.nextPageToken?.length) return null;
      nextPageToken = res.nextPageToken;
    }
    return null;
  }
}

function isAwaitingUpsert(e: HistoryEvent): boolean {
  const field = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.[PHASE_KEY.name];
  if (!field?.data || !e.eventTime) return false;
  try {
    const value = JSON.parse(Buffer.from(field.data).toString('utf8')) as unknown;
    return value === 'awaiting-approval' || (Array.isArray(value) && value[0] === 'awaiting-approval');
  } catch {
    return false;
  }
}

/**
 * The listing every inbox shares: served from the last one while a newer one is read in the
 * background (one read at a time), so a page waits for visibility only the first time and after
 * invalidate() (a decision taken here). Entries are at most `maxAgeMs` plus one read old.
 */
export class SharedListing {
  private items: PendingApproval[] | undefined;
  private at = 0;
  private reading: Promise<PendingApproval[]> | undefined;

  constructor(
    private readonly read: () => Promise<PendingApproval[]>,
    private readonly maxAgeMs = 2_000,
  ) {}

  get(): Promise<PendingApproval[]> {
    if (Date.now() - this.at > this.maxAgeMs) this.refresh();
    return this.items ? Promise.resolve(this.items) : this.reading!;
  }

  invalidate(): void {
    this.items = undefined;
    this.at = 0;
  }

  private refresh(): void {
    if (this.reading) return;
    const reading = this.read().then((items) => {
      this.items = items;
      this.at = Date.now();
      return items;
    });
    this.reading = reading;
    reading.then(
      () => (this.reading = undefined),
      () => (this.reading = undefined),
    );
  }
}

/** Whether `actor` (with `groups`) may decide this approval: an approver named by the policy, not its initiator. */
export function mayDecide(p: PendingApproval, actor: string, groups: readonly string[]): boolean {
  const outcome = evaluateApproval({
    layer: p.layer,
    phase: 'awaiting-approval',
    policy: { mode: 'manual', required: p.required, approvers: p.approvers, expiry: '' },
    initiator: p.initiator,
    approvals: [],
    attempt: { actor, decision: 'reject', reason: 'inbox', groups },
  });
  return outcome.kind === 'rejected';
}

/** `f` over `items`, at most `limit` at a time, results in order. */
async function mapLimit<T, R>(items: T[], limit: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]);
    }
  });
  await Promise.all(workers);
  return out;
}

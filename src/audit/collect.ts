// Every audit entry Strata can read on one task queue, for the export: the promotions (with their
// layers, from the histories, as `strata audit <id>` shows them), the drills, rollbacks and
// teardowns, the ladder changes and environment operations (from their workflows' histories), the
// dataset approval registry, and the API server's log of refused requests.

import { fetchHistory } from '../temporal/history';
import fs from 'node:fs';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { tsToDate } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';
import Database from 'better-sqlite3';
import { approvalsPath } from '../data/approvals';
import { apiDbPath } from '../api/store';
import { AUTHENTICATION, auditTrail, authenticationOf, SYSTEM_ACTOR } from './trail';
import type { ExportedEntry } from './chain';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** The workflow types whose histories the export reads besides promotions (and their layers). */
export const AUDITED_WORKFLOWS = ['drill', 'rollback', 'teardown', 'ladder', 'environment'] as const;
type AuditedWorkflow = (typeof AUDITED_WORKFLOWS)[number];

function decode<T>(payloads: temporal.api.common.v1.IPayloads | null | undefined): T | undefined {
  const p = payloads?.payloads?.[0];
  return p ? (defaultPayloadConverter.fromPayload(p) as T) : undefined;
}

const quote = (value: string) => value.replace(/'/g, "\\'");

/** All entries on `taskQueue` and in `home`, oldest first (ties: by source, then as read). */
export async function collectAuditEntries(client: Client, taskQueue: string, home: string): Promise<ExportedEntry[]> {
  const out: ExportedEntry[] = [];
  const promotions = new Set<string>();
  for await (const wf of client.workflow.list({
    query: `WorkflowType = 'promotion' AND TaskQueue = '${quote(taskQueue)}'`,
  })) {
    if (promotions.has(wf.workflowId)) continue;
    promotions.add(wf.workflowId);
    const source = `promotion:${wf.workflowId}`;
    for (const e of await auditTrail(client, wf.workflowId)) out.push({ source, ...e });
  }
  for (const type of AUDITED_WORKFLOWS) {
    for await (const wf of client.workflow.list({
      query: `WorkflowType = '${type}' AND TaskQueue = '${quote(taskQueue)}'`,
    })) {
      let events: HistoryEvent[];
      try {
        events = (await fetchHistory(client, wf.workflowId, wf.runId)).events ?? [];
      } catch {
        continue; // gone with retention between the list and the read
      }
      out.push(...workflowEntries(type, `${type}:${wf.workflowId}/${wf.runId}`, events));
    }
  }
  out.push(...dataApprovalEntries(home), ...refusalEntries(home));
  return out
    .map((entry, i) => ({ entry, i }))
    .sort((a, b) => a.entry.at.localeCompare(b.entry.at) || a.entry.source.localeCompare(b.entry.source) || a.i - b.i)
    .map(({ entry }) => entry);
}

/** What a drill, rollback or teardown result says in one line. */
function resultSummary(type: AuditedWorkflow, result: Record<string, unknown> | undefined): string {
  if (!result) return '';
  if (type === 'drill') return `verdict ${String(result.verdict ?? '?')}`;
  if (type === 'rollback')
    return `${String(result.state ?? '?')}: ${String(result.from ?? 'nothing')} → ${String(result.to ?? '?')}${result.reason ? ` (${String(result.reason)})` : ''}`;
  if (type === 'teardown') return `was running ${String(result.was ?? 'nothing')}`;
  return '';
}

/**
 * The entries of one drill, rollback, teardown, ladder or environment history: who started it and
 * why, every Update (a ladder change, a hold, a lease broken; granted or refused), and how it ended.
 */
export function workflowEntries(type: AuditedWorkflow, source: string, events: HistoryEvent[]): ExportedEntry[] {
  const out: ExportedEntry[] = [];
  let last = '';
  const at = (e: HistoryEvent) => (last = e.eventTime ? tsToDate(e.eventTime).toISOString() : last);
  let layer: string | null = null;
  const updates = new Map<string, { name: string; request: Record<string, unknown> }>();
  const system = { actor: SYSTEM_ACTOR, authentication: AUTHENTICATION.system };
  for (const e of events) {
    const when = at(e);
    if (e.workflowExecutionStartedEventAttributes) {
      const input = decode<Record<string, unknown>>(e.workflowExecutionStartedEventAttributes.input) ?? {};
      const l = input.layer;
      layer = typeof l === 'string' ? l : l && typeof l === 'object' ? String((l as { name?: unknown }).name) : null;
      if (type === 'ladder' || type === 'environment') continue; // entities: their Updates are what counts
      const actor = String(input.requestedBy ?? input.actor ?? 'unknown');
      const detail =
        type === 'drill'
          ? `scenario ${String(input.scenario)}`
          : type === 'rollback'
            ? `to ${String(input.toVersion ?? 'the known-good version')}: ${String(input.reason ?? '')}`
            : String(input.reason ?? '');
      out.push({
        source,
        at: when,
        actor,
        authentication: authenticationOf(input),
        action: `${type}.started`,
        layer,
        detail,
      });
    } else if (e.workflowExecutionUpdateAcceptedEventAttributes) {
      const a = e.workflowExecutionUpdateAcceptedEventAttributes;
      updates.set(a.acceptedRequest?.meta?.updateId ?? a.protocolInstanceId ?? '', {
        name: a.acceptedRequest?.input?.name ?? '',
        request: decode<Record<string, unknown>>(a.acceptedRequest?.input?.args) ?? {},
      });
    } else if (e.workflowExecutionUpdateCompletedEventAttributes) {
      const c = e.workflowExecutionUpdateCompletedEventAttributes;
      const u = updates.get(c.meta?.updateId ?? '');
      if (!u) continue;
      const failure = c.outcome?.failure?.message;
      const reason = String(u.request.reason ?? '');
      const base = {
        source,
        at: when,
        actor:
          String(u.request.actor ?? 'unknown')
            .trim()
            .toLowerCase() || 'unknown',
        authentication: authenticationOf(u.request),
        layer,
      };
      if (type === 'ladder' && u.name === 'apply') {
        const reply = decode<{ changed: boolean; current: { version: number; digest: string } }>(c.outcome?.success);
        out.push({
          ...base,
          action: failure ? 'ladder.change-refused' : reply?.changed ? 'ladder.changed' : 'ladder.unchanged',
          detail: failure
            ? `${failure} (reason given: ${reason})`
            : `version ${reply?.current.version ?? '?'} (sha256 ${reply?.current.digest ?? '?'}): ${reason}`,
        });
      } else {
        out.push({
          ...base,
          action: `${type}.${u.name}${failure ? '.refused' : ''}`,
          detail: failure ? `${failure} (reason given: ${reason})` : reason,
        });
      }
    } else if (e.workflowExecutionCompletedEventAttributes) {
      if (type === 'ladder' || type === 'environment') continue;
      const result = decode<Record<string, unknown>>(e.workflowExecutionCompletedEventAttributes.result);
      out.push({
        source,
        at: when,
        ...system,
        action: `${type}.completed`,
        layer,
        detail: resultSummary(type, result),
      });
    } else if (e.workflowExecutionFailedEventAttributes) {
      const f = e.workflowExecutionFailedEventAttributes.failure;
      out.push({
        source,
        at: when,
        ...system,
        action: `${type}.failed`,
        layer,
        detail: f?.cause?.message ?? f?.message ?? '',
      });
    } else if (e.workflowExecutionTerminatedEventAttributes) {
      const t = e.workflowExecutionTerminatedEventAttributes;
      out.push({
        source,
        at: when,
        actor: t.identity || 'unknown',
        authentication: AUTHENTICATION.client,
        action: `${type}.terminated`,
        layer,
        detail: t.reason ?? '',
      });
    }
  }
  return out;
}

function readRows<T>(file: string, sql: string): T[] {
  if (!fs.existsSync(file)) return [];
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    return db.prepare(sql).all() as T[];
  } catch (err) {
    if (/no such table/.test((err as Error).message)) return [];
    throw err;
  } finally {
    db.close();
  }
}

/** The dataset approval registry, row by row (approvals and revocations). */
export function dataApprovalEntries(home: string): ExportedEntry[] {
  const rows = readRows<{
    seq: number;
    digest: string;
    action: string;
    file: string;
    bytes: number;
    actor: string;
    reason: string;
    at: string;
  }>(approvalsPath(home), 'SELECT seq, digest, action, file, bytes, actor, reason, at FROM approvals ORDER BY seq');
  return rows.map((r) => ({
    source: 'data-approval',
    at: r.at,
    actor: r.actor,
    authentication: 'as recorded by the approval registry',
    action: r.action === 'approve' ? 'data.approved' : 'data.approval-revoked',
    layer: null,
    detail: `dataset sha256 ${r.digest} (${r.file}, ${r.bytes} bytes): ${r.reason}`,
    registrySeq: r.seq,
  }));
}

/** The API server's log of refused requests. */
export function refusalEntries(home: string): ExportedEntry[] {
  const rows = readRows<{
    seq: number;
    at: string;
    actor: string;
    auth: string;
    method: string;
    route: string;
    status: number;
    reason: string;
    remote: string;
  }>(apiDbPath(home), 'SELECT seq, at, actor, auth, method, route, status, reason, remote FROM refusals ORDER BY seq');
  return rows.map((r) => ({
    source: 'api-refusal',
    at: r.at,
    actor: r.actor,
    authentication: r.auth,
    action: 'access.refused',
    layer: null,
    detail: `${r.method} ${r.route} → ${r.status}: ${r.reason} (from ${r.remote})`,
    refusalSeq: r.seq,
  }));
}

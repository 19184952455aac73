import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_NAMES } from '../../workflows/search-attributes';

const KEYWORD = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
const DAY_S = 86_400;

function grpcCode(err: unknown): number | undefined {
  return typeof (err as { code?: unknown })?.code === 'number' ? (err as { code: number }).code : undefined;
}
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;

/**
 * Makes the namespace ready for Strata, idempotently: it exists, its retention is the audit
 * retention (the dev server's default of 24 h would lose the audit trail), and Strata's search
 * attributes are registered. Safe to run on every start, against the dev server or a cluster.
 */
export async function prepareNamespace(
  connection: Connection,
  namespace: string,
  retentionDays: number,
): Promise<void> {
  const retention = msToTs(retentionDays * DAY_S * 1000);
  const retentionSeconds = retentionDays * DAY_S;
  let current: number | undefined;
  try {
    const ns = await connection.workflowService.describeNamespace({ namespace });
    current = Number(ns.config?.workflowExecutionRetentionTtl?.seconds ?? 0);
  } catch (err) {
    if (grpcCode(err) !== NOT_FOUND) throw err;
    try {
      await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: retention });
      current = retentionSeconds;
    } catch (regErr) {
      if (grpcCode(regErr) !== ALREADY_EXISTS) throw regErr;
    }
    await waitForNamespace(connection, namespace);
  }
  if (current !== retentionSeconds) {
    await connection.workflowService.updateNamespace({
      namespace,
      config: { workflowExecutionRetentionTtl: retention },
    });
  }
  await ensureSearchAttributes(connection, namespace);
}

async function waitForNamespace(connection: Connection, namespace: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    try {
      await connection.workflowService.describeNamespace({ namespace });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Registers StrataCandidate, StrataVersion, StrataLayer, StrataPhase, StrataState (Keyword) through the operator service. */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const listed = await connection.operatorService.listSearchAttributes({ namespace });
  const existing = new Set(Object.keys(listed.customAttributes ?? {}));
  const missing = SEARCH_ATTRIBUTE_NAMES.filter((name) => !existing.has(name));
  if (missing.length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((name) => [name, KEYWORD])),
    });
  } catch (err) {
    if (grpcCode(err) !== ALREADY_EXISTS) throw err; // a concurrent start registered them first
  }
  // Visibility picks new attributes up asynchronously; wait until they are listed.
  for (let i = 0; i < 50; i++) {
    const again = await connection.operatorService.listSearchAttributes({ namespace });
    if (SEARCH_ATTRIBUTE_NAMES.every((name) => name in (again.customAttributes ?? {}))) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

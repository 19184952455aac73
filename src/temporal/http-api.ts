// Temporal's HTTP API (the frontend's JSON gateway to the same WorkflowService), read-only: a
// workflow's description, its history and its queries, which is all `strata status` needs. The
// gRPC client (@temporalio/client with grpc-js and the protobuf reflection of Temporal's whole API)
// takes about 0.35 s to load, more than `strata status` may take as a process (< 300 ms, issue 15);
// this reader loads none of it.
//
// The JSON is proto3's JSON of the same messages, with protobufjs's field names, so its events
// read as the gRPC client's do once two things are made alike: payload bytes (base64 in JSON),
// found through the SDK's own generated payload visitor, and event times (RFC 3339 in JSON). Ids
// stay strings (the client's are Longs: readers use String(eventId)), enums stay names. Nothing
// here decides anything: status and list are its only readers, and the gRPC path stays for everything else.

import type { Payload, PayloadCodec, QueryDefinition } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import {
  walkGetWorkflowExecutionHistoryResponse,
  walkQueryWorkflowResponse,
  type WalkEnv,
} from '@temporalio/proto/lib/payload-visitor.generated';
import { exchange } from '../tools/http';
import { decodePayloads } from './codec';
import { defaultPayloadConverter, msToTs, tsToDate, WorkflowNotFoundError } from './sdk-common';
import type { ExecutionSummary, WorkflowReader } from './status';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** A refusal or failure of the HTTP API, with gRPC's status code and the server's message. */
export class TemporalHttpError extends Error {
  override name = 'TemporalHttpError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const NOT_FOUND = 5; // gRPC's status codes, which the API's errors carry
const FAILED_PRECONDITION = 9;

/** A JSON payload as the HTTP API writes it without shorthand: base64 metadata values and data. */
interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

export class TemporalHttpReader implements WorkflowReader {
  readonly #base: string;
  readonly #namespace: string;
  readonly #headers: Record<string, string>;
  readonly #codecs: readonly PayloadCodec[];
  readonly #pageSize: number | undefined;

  /** `pageSize`: events per history page (unset: the server's default). */
  constructor(opts: {
    base: string;
    namespace: string;
    token?: string;
    codecs?: readonly PayloadCodec[];
    pageSize?: number;
  }) {
    this.#base = opts.base.replace(/\/+$/, '');
    this.#namespace = opts.namespace;
    this.#headers = { accept: 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) };
    this.#codecs = opts.codecs ?? [];
    this.#pageSize = opts.pageSize;
  }

  /**
   * Whether Temporal's HTTP API answers here for the namespace, within `timeoutMs`: anything else
   * (nothing listening, another server, a refusal) is false, and the caller reads through gRPC.
   */
  async answers(timeoutMs = 1000): Promise<boolean> {
    try {
      const res = await exchange(new URL(this.#path('')), 'GET', this.#headers, undefined, timeoutMs);
      if (res.status !== 200) return false;
      return Boolean((JSON.parse(res.text) as { namespaceInfo?: unknown }).namespaceInfo);
    } catch {
      return false;
    }
  }

  async describe(workflowId: string): Promise<{ type: string; status: string; taskQueue: string }> {
    const d = await this.#call<{
      executionConfig?: { taskQueue?: { name?: string } };
      workflowExecutionInfo?: { type?: { name?: string }; status?: string; taskQueue?: string };
    }>('GET', `/workflows/${encodeURIComponent(workflowId)}`, workflowId);
    const info = d.workflowExecutionInfo ?? {};
    return {
      type: info.type?.name ?? '',
      status: statusName(info.status),
      taskQueue: d.executionConfig?.taskQueue?.name ?? info.taskQueue ?? '',
    };
  }

  async history(workflowId: string): Promise<HistoryEvent[]> {
    const events: HistoryEvent[] = [];
    let token = '';
    do {
      const query = new URLSearchParams({
        noPayloadShorthand: 'true',
        ...(this.#pageSize ? { maximumPageSize: String(this.#pageSize) } : {}),
        ...(token ? { nextPageToken: token } : {}),
      });
      const page = await this.#call<{ history?: { events?: Array<Record<string, unknown>> }; nextPageToken?: string }>(
        'GET',
        `/workflows/${encodeURIComponent(workflowId)}/history?${query}`,
        workflowId,
      );
      // The walker reads the message's shape, not its types: JSON has strings where bytes will be.
      await this.#openPayloads((env) => walkGetWorkflowExecutionHistoryResponse(page as never, env, undefined));
      for (const e of page.history?.events ?? []) {
        if (typeof e.eventTime === 'string') e.eventTime = timestampOf(e.eventTime);
        events.push(e as HistoryEvent);
      }
      token = page.nextPageToken ?? '';
    } while (token);
    return events;
  }

  async query<R>(workflowId: string, query: QueryDefinition<R, []>): Promise<R> {
    const res = await this.#call<{ queryResult?: { payloads?: Payload[] }; queryRejected?: { status?: string } }>(
      'POST',
      `/workflows/${encodeURIComponent(workflowId)}/query/${encodeURIComponent(query.name)}?noPayloadShorthand=true`,
      workflowId,
      { query: {} },
    );
    if (res.queryRejected) {
      throw new TemporalHttpError(
        FAILED_PRECONDITION,
        `query ${query.name} rejected: workflow is ${res.queryRejected.status}`,
      );
    }
    await this.#openPayloads((env) => walkQueryWorkflowResponse(res as never, env, undefined));
    const payload = res.queryResult?.payloads?.[0];
    return (payload ? defaultPayloadConverter.fromPayload(payload) : undefined) as R;
  }

  async *list(query: string, pageSize: number): AsyncIterable<ExecutionSummary> {
    let token = '';
    do {
      const params = new URLSearchParams({
        query,
        pageSize: String(pageSize),
        noPayloadShorthand: 'true',
        ...(token ? { nextPageToken: token } : {}),
      });
      const page = await this.#call<{ executions?: JsonExecution[]; nextPageToken?: string }>(
        'GET',
        `/workflows?${params}`,
        '',
      );
      for (const e of page.executions ?? []) {
        // Search attributes are plaintext by design (visibility filters on them): no codec opens them.
        const keywords = new Map<string, string>();
        for (const [name, p] of Object.entries(e.searchAttributes?.indexedFields ?? {})) {
          const payload = bytesOf(p);
          if (Buffer.from(payload.metadata?.type ?? []).toString() !== 'Keyword') continue;
          const value: unknown = defaultPayloadConverter.fromPayload(payload);
          if (typeof value === 'string') keywords.set(name, value);
        }
        yield {
          workflowId: e.execution?.workflowId ?? '',
          status: statusName(e.status),
          startTime: dateOf(e.startTime),
          closeTime: e.closeTime ? dateOf(e.closeTime) : undefined,
          parentWorkflowId: e.parentExecution?.workflowId,
          keywords,
        };
      }
      token = page.nextPageToken ?? '';
    } while (token);
  }

  #path(route: string): string {
    return `${this.#base}/api/v1/namespaces/${encodeURIComponent(this.#namespace)}${route}`;
  }

  async #call<T>(method: 'GET' | 'POST', route: string, workflowId: string, body?: unknown): Promise<T> {
    const res = await exchange(
      new URL(this.#path(route)),
      method,
      body === undefined ? this.#headers : { ...this.#headers, 'content-type': 'application/json' },
      body === undefined ? undefined : JSON.stringify(body),
    );
    let parsed: unknown;
    try {
      parsed = res.text ? JSON.parse(res.text) : {};
    } catch {
      throw new TemporalHttpError(0, `${this.#base}: HTTP ${res.status}, not Temporal's JSON`);
    }
    if (res.status !== 200) {
      const { code = 0, message = `HTTP ${res.status}` } = parsed as { code?: number; message?: string };
      if (code === NOT_FOUND) throw new WorkflowNotFoundError(message, workflowId, undefined);
      throw new TemporalHttpError(code, `Temporal HTTP API ${method} ${route.split('?')[0]}: ${message}`);
    }
    return parsed as T;
  }

  /** Makes every payload of `message` what the gRPC client would give: bytes, opened by the codecs. */
  async #openPayloads(walk: (env: WalkEnv<undefined>) => Promise<unknown>[]): Promise<void> {
    const open = (payloads: Payload[]) =>
      decodePayloads(
        payloads.map((p) => bytesOf(p as JsonPayload)),
        this.#codecs,
      );
    await Promise.all(
      walk({
        transformPayload: async (p) => (await open([p]))[0],
        transformPayloads: open,
        skipHeaders: false,
        skipSearchAttributes: false,
      }),
    );
  }
}

/** An execution as the HTTP API lists it (ListWorkflowExecutionsResponse), the fields `list` reads. */
interface JsonExecution {
  execution?: { workflowId?: string };
  status?: string;
  startTime?: string;
  closeTime?: string;
  parentExecution?: { workflowId?: string };
  searchAttributes?: { indexedFields?: Record<string, JsonPayload> };
}

/** An execution status as the gRPC client names it: WORKFLOW_EXECUTION_STATUS_RUNNING is RUNNING. */
function statusName(status: string | undefined): string {
  return (status ?? '').replace(/^WORKFLOW_EXECUTION_STATUS_/, '');
}

function dateOf(rfc3339: string | undefined): Date {
  return tsToDate(timestampOf(rfc3339 ?? ''));
}

function bytesOf(p: JsonPayload): Payload {
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = Buffer.from(v, 'base64');
  return { metadata, data: Buffer.from(p.data ?? '', 'base64') };
}

/**
 * An RFC 3339 time as the protobuf Timestamp the gRPC client gives, to the millisecond: every
 * reader of event times (tsToDate) reads milliseconds.
 */
export function timestampOf(rfc3339: string): ReturnType<typeof msToTs> {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(rfc3339);
  const ms = m ? Date.parse(`${m[1]}.${(m[2] ?? '').padEnd(3, '0').slice(0, 3)}${m[3]}`) : NaN;
  if (Number.isNaN(ms)) throw new TemporalHttpError(0, `not an RFC 3339 time: "${rfc3339}"`);
  return msToTs(ms);
}

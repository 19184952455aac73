import type { Client } from '@temporalio/client';
import { loadSettings, type StrataSettings } from '../temporal/settings';
import type { WorkflowReader } from '../temporal/status';
import { tracingEnabled } from '../tracing/settings';
import { table } from './render';

/**
 * Runs `fn` with a client connected to the configured Temporal, and closes the connection after.
 * The Temporal client, and the OpenTelemetry SDK when tracing is on, load here, not when the
 * command's module does: in API mode the same commands need neither.
 */
export async function withClient<T>(fn: (client: Client, settings: StrataSettings) => Promise<T>): Promise<T> {
  const settings = loadSettings();
  const { connectClient } = await import('../temporal/connection');
  const { client, connection } = await connectClient(settings);
  try {
    return await fn(client, settings);
  } finally {
    await connection.close();
    // A command's spans (a promote's start) leave before the process exits.
    if (tracingEnabled()) {
      const { installTracing } = await import('../tracing/tracing');
      await installTracing('strata-cli')
        .flush()
        .catch(() => undefined);
    }
  }
}

/**
 * Runs `fn` with a reader of workflows (`strata status`): Temporal's HTTP API where it answers
 * (settings.httpApi: STRATA_TEMPORAL_HTTP, or the port `strata up` serves it on), which loads no
 * gRPC and protobuf stack, and otherwise the gRPC client, as every other command. Either reads
 * the same histories and queries; test/integration/status-http.test.ts compares them.
 */
export async function withWorkflowReader<T>(fn: (reader: WorkflowReader) => Promise<T>): Promise<T> {
  const settings = loadSettings();
  if (settings.httpApi) {
    const [{ TemporalHttpReader }, { payloadCodecs }] = await Promise.all([
      import('../temporal/http-api'),
      import('../temporal/codec'),
    ]);
    const reader = new TemporalHttpReader({
      base: settings.httpApi,
      namespace: settings.namespace,
      token: settings.token,
      codecs: payloadCodecs(),
    });
    if (await reader.answers()) return fn(reader);
  }
  const { clientReader } = await import('../temporal/status');
  return withClient((client) => fn(clientReader(client)));
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/**
 * A list command's output: with --json the rows (or `json(rows)`) as JSON, a line when there are
 * none, else a table with one row per item.
 */
export function printRows<T>(
  rows: T[],
  how: { json?: boolean; toJson?: (rows: T[]) => unknown; empty: string; header: string[]; row: (item: T) => string[] },
): void {
  if (how.json) printJson(how.toJson ? how.toJson(rows) : rows);
  else if (rows.length === 0) print(how.empty);
  else print(table(how.header, rows.map(how.row)));
}

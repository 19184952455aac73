import type { Client } from '@temporalio/client';
import { loadSettings, type StrataSettings } from '../temporal/settings';
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

import type { Client } from '@temporalio/client';
import { connectClient } from '../temporal/connection';
import { loadSettings, type StrataSettings } from '../temporal/settings';

/** Runs `fn` with a client connected to the configured Temporal, and closes the connection after. */
export async function withClient<T>(fn: (client: Client, settings: StrataSettings) => Promise<T>): Promise<T> {
  const settings = loadSettings();
  const { client, connection } = await connectClient(settings);
  try {
    return await fn(client, settings);
  } finally {
    await connection.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

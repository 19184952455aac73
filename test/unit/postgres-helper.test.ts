// The test helper that starts a private PostgreSQL when none answers: it must really run one,
// keep its data across a stop and a restart, and leave nothing behind.

import fs from 'node:fs';
import { Client } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type PrivatePostgres, postgresAnswers, privatePostgres } from '../helpers/postgres';

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('privatePostgres', () => {
  let server: PrivatePostgres | undefined;
  afterAll(async () => {
    await server?.remove();
  });

  it('starts a server of its own, answers queries, keeps its data across stop, start and restart', async () => {
    server = await privatePostgres({ database: 'helper_test' });
    expect(server.url).toBe(`postgres://postgres@127.0.0.1:${server.port}/helper_test`);
    expect(server.port).not.toBe(5432);
    expect(await query<{ db: string }>(server.url, 'SELECT current_database() AS db')).toEqual([{ db: 'helper_test' }]);
    await query(server.url, 'CREATE TABLE kept (n integer); INSERT INTO kept VALUES (42)');

    await server.stop();
    expect(await postgresAnswers(server.url)).toBe(false);
    await server.start();
    expect(await query<{ n: number }>(server.url, 'SELECT n FROM kept')).toEqual([{ n: 42 }]);

    await server.restart();
    expect(await query<{ n: number }>(server.url, 'SELECT n FROM kept')).toEqual([{ n: 42 }]);

    // A crash (immediate stop) loses nothing committed: the next start recovers from the WAL.
    await query(server.url, 'INSERT INTO kept VALUES (43)');
    await server.stop('immediate');
    await server.start();
    expect(await query<{ n: number }>(server.url, 'SELECT n FROM kept ORDER BY n')).toEqual([{ n: 42 }, { n: 43 }]);

    const { dir } = server;
    await server.remove();
    server = undefined;
    expect(fs.existsSync(dir)).toBe(false);
  }, 180_000);
});

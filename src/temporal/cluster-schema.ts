// Creates or upgrades the Temporal server's two PostgreSQL databases with its own SQL tool, the same
// steps as Temporal's auto-setup image: create the database, set up the version tables at 0.0, then
// apply every versioned schema step (the tool skips steps already applied, so this is idempotent).
import { spawn } from 'node:child_process';
import { Client as PgClient } from 'pg';
import { ClusterError } from './cluster-tools';
import type { PostgresTarget } from './cluster-config';

/** The schemas embedded in the SQL tool of this server version (`--schema-name`). */
export const SCHEMA_NAMES = {
  persistence: 'postgresql/v12/temporal',
  visibility: 'postgresql/v12/visibility',
} as const;

export interface SchemaStep {
  database: string;
  args: string[];
}

/** The SQL tool invocations, in order, for both databases (docker-compose.yml runs the same). */
export function schemaSteps(pg: PostgresTarget): SchemaStep[] {
  const steps: SchemaStep[] = [];
  for (const [database, schema] of [
    [pg.database, SCHEMA_NAMES.persistence],
    [pg.visibilityDatabase, SCHEMA_NAMES.visibility],
  ] as const) {
    steps.push({ database, args: ['create-database', '--defaultdb', 'postgres'] });
    steps.push({ database, args: ['setup-schema', '-v', '0.0'] });
    steps.push({ database, args: ['update-schema', '--schema-name', schema] });
  }
  return steps;
}

async function withPg<T>(pg: PostgresTarget, database: string, fn: (c: PgClient) => Promise<T>): Promise<T> {
  const client = new PgClient({
    host: pg.host,
    port: pg.port,
    user: pg.user,
    password: pg.password,
    database,
    connectionTimeoutMillis: 5000,
  });
  try {
    await client.connect();
  } catch (err) {
    throw new ClusterError(
      `cannot connect to PostgreSQL at ${pg.host}:${pg.port} as ${pg.user} (database ${database}): ${(err as Error).message}`,
    );
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The schema version each database has now (undefined: none yet). */
export async function schemaVersions(pg: PostgresTarget): Promise<Record<string, string | undefined>> {
  const out: Record<string, string | undefined> = {};
  const existing = await withPg(pg, 'postgres', async (c) => {
    const r = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname = ANY($1)', [
      [pg.database, pg.visibilityDatabase],
    ]);
    return new Set(r.rows.map((row) => row.datname));
  });
  for (const db of [pg.database, pg.visibilityDatabase]) {
    if (!existing.has(db)) {
      out[db] = undefined;
      continue;
    }
    out[db] = await withPg(pg, db, async (c) => {
      try {
        const r = await c.query<{ curr_version: string }>('SELECT curr_version FROM schema_version LIMIT 1');
        return r.rows[0]?.curr_version;
      } catch {
        return undefined;
      }
    });
  }
  return out;
}

/**
 * Creates both databases if needed and brings their schemas to this server version's. Skips
 * `create-database` for a database that exists, so a login without CREATEDB works on databases an
 * administrator made. Returns the versions before and after.
 */
export async function ensureSchemas(
  sqlTool: string,
  pg: PostgresTarget,
  progress: (line: string) => void,
): Promise<{ before: Record<string, string | undefined>; after: Record<string, string | undefined> }> {
  const before = await schemaVersions(pg);
  for (const step of schemaSteps(pg)) {
    if (step.args[0] === 'create-database') {
      const exists = await withPg(pg, 'postgres', async (c) => {
        const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [step.database]);
        return (r.rowCount ?? 0) > 0;
      });
      if (exists) continue;
      progress(`strata: creating database ${step.database}`);
    }
    await runSqlTool(sqlTool, pg, step);
  }
  const after = await schemaVersions(pg);
  for (const db of Object.keys(after)) {
    if (before[db] !== after[db]) progress(`strata: schema of ${db}: ${before[db] ?? 'none'} → ${after[db]}`);
  }
  return { before, after };
}

function runSqlTool(sqlTool: string, pg: PostgresTarget, step: SchemaStep): Promise<void> {
  const attrs = new URLSearchParams(pg.attributes).toString();
  const args = ['--plugin', 'postgres12', '--quiet', ...(attrs ? ['--connect-attributes', attrs] : []), ...step.args];
  return new Promise((resolve, reject) => {
    // Connection details through the environment, so the password is not on a command line.
    const child = spawn(sqlTool, args, {
      env: {
        ...process.env,
        SQL_HOST: pg.host,
        SQL_PORT: String(pg.port),
        SQL_USER: pg.user,
        SQL_PASSWORD: pg.password,
        SQL_DATABASE: step.database,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', (err) => reject(new ClusterError(`cannot run ${sqlTool}: ${err.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          new ClusterError(
            `the SQL tool failed on ${step.database} (${step.args.join(' ')}, exit ${code}):\n${output.trim().split('\n').slice(-10).join('\n')}`,
          ),
        );
    });
  });
}

// The postgres provider's database side: each environment is its own PostgreSQL database, owned by
// a NOLOGIN owner role, reached through one of two LOGIN roles (a and b) that take the owner role
// at login. Two login roles let a credential rotation give the standby role a new password while
// the running candidate keeps using the active one, redeploy, and only then revoke the old one.
//
// Passwords are generated here, kept in <env dir>/database.json (mode 0600) and sent to the
// server only as SCRAM-SHA-256 verifiers: never in a statement the server could log, never in a
// workflow history, never in a log line of ours.

import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client, escapeIdentifier } from 'pg';
import { writeFileAtomically } from '../tools/files';

export class PostgresProviderError extends Error {
  override name = 'PostgresProviderError';
}

/**
 * The admin connection URL a ladder's `provider.url` refers to: `env:NAME` reads the worker's
 * environment variable, `file:PATH` the first line of a file; anything else is the URL itself
 * (the ladder refuses one with a password). The value never leaves the worker.
 */
export function resolveAdminUrl(ref: string, env: NodeJS.ProcessEnv = process.env): string {
  let url: string;
  if (ref.startsWith('env:')) {
    const name = ref.slice(4);
    const value = env[name]?.trim();
    if (!value)
      throw new PostgresProviderError(
        `provider.url is ${ref}, but the worker has no environment variable ${name}: set it to the admin URL, e.g. postgres://postgres:…@db:5432/postgres`,
      );
    url = value;
  } else if (ref.startsWith('file:')) {
    const file = ref.slice(5);
    try {
      url = fs.readFileSync(file, 'utf8').split('\n')[0].trim();
    } catch (err) {
      throw new PostgresProviderError(
        `provider.url is ${ref}: cannot read ${file} (${(err as NodeJS.ErrnoException).code})`,
      );
    }
    if (!url) throw new PostgresProviderError(`provider.url is ${ref}: ${file} is empty`);
  } else {
    url = ref;
  }
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') throw new Error('not postgres');
  } catch {
    // The value may hold a password: name where it came from, never the value.
    throw new PostgresProviderError(
      `provider.url ${ref.startsWith('env:') || ref.startsWith('file:') ? ref : ''} does not hold a postgres:// URL`,
    );
  }
  return url;
}

/** Whether the worker has what `ref` refers to: the variable set, the file present (a URL always). */
export function adminUrlAvailable(ref: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (ref.startsWith('env:')) return !!env[ref.slice(4)]?.trim();
  if (ref.startsWith('file:')) return fs.existsSync(ref.slice(5));
  return true;
}

/** The names of one environment's database and roles: derived from the Strata home and the layer. */
export interface DatabaseNames {
  database: string;
  owner: string;
  logins: { a: string; b: string };
}

/**
 * Deterministic names: a retried provision finds what an earlier attempt created. Two Strata homes
 * sharing one server get different names (the home's hash is part of them). Identifiers stay
 * within PostgreSQL's 63 bytes.
 */
export function databaseNames(envsDir: string, layer: string): DatabaseNames {
  const home = createHash('sha256').update(path.resolve(envsDir)).digest('hex').slice(0, 8);
  let base = `strata_${home}_${layer.replace(/-/g, '_')}`;
  if (base.length > 56) base = `${base.slice(0, 47)}_${createHash('sha256').update(layer).digest('hex').slice(0, 8)}`;
  return { database: base, owner: base, logins: { a: `${base}_a`, b: `${base}_b` } };
}

/** What <env dir>/database.json holds (mode 0600). */
export interface DatabaseCredentials {
  /** The admin URL's reference as the ladder wrote it (env:…/file:…), never the URL. */
  adminRef: string;
  database: string;
  owner: string;
  /** The login role the candidate uses now. */
  active: 'a' | 'b';
  roles: { a: { name: string; password: string | null }; b: { name: string; password: string | null } };
  rotatedAt: string;
}

export function credentialsFile(envDir: string): string {
  return path.join(envDir, 'database.json');
}

export function readCredentials(envDir: string): DatabaseCredentials | null {
  try {
    return JSON.parse(fs.readFileSync(credentialsFile(envDir), 'utf8')) as DatabaseCredentials;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new PostgresProviderError(`${credentialsFile(envDir)}: unreadable (${(err as Error).message})`);
  }
}

export function writeCredentials(envDir: string, creds: DatabaseCredentials): void {
  writeFileAtomically(credentialsFile(envDir), JSON.stringify(creds, null, 2), { mode: 0o600 });
}

export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802/7677, as libpq's
 * PQencryptPasswordConn makes it): ALTER ROLE … PASSWORD '<verifier>' sets the password without
 * the server ever seeing it.
 */
export function scramVerifier(password: string, iterations = 4096): string {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** The URL a candidate connects with: the admin URL's host and port, the login role, its database. */
export function connectionUrl(adminUrl: string, creds: DatabaseCredentials, which: 'a' | 'b' = creds.active): string {
  const role = creds.roles[which];
  if (!role.password) throw new PostgresProviderError(`login role ${role.name} has no password (not rotated in yet)`);
  const admin = new URL(adminUrl);
  const url = new URL(`postgres://${admin.host}`);
  url.username = role.name;
  url.password = role.password;
  url.pathname = `/${creds.database}`;
  const sslmode = admin.searchParams.get('sslmode');
  if (sslmode) url.searchParams.set('sslmode', sslmode);
  return url.toString();
}

/** The same URL without the password: what may be shown (status, logs). */
export function redactedUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

async function withAdmin<T>(adminUrl: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined); // a server that goes away mid-call fails the query, not the process
  try {
    await client.connect();
  } catch (err) {
    throw new PostgresProviderError(
      `cannot connect to the environments' PostgreSQL at ${redactedUrl(adminUrl)}: ${(err as Error).message}`,
    );
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Serializes provisioning, rotation and teardown of one environment across workers (a session advisory lock). */
async function withEnvironmentLock<T>(client: Client, names: DatabaseNames, fn: () => Promise<T>): Promise<T> {
  await client.query('SELECT pg_advisory_lock(hashtext($1))', [`strata-env:${names.database}`]);
  try {
    return await fn();
  } finally {
    await client
      .query('SELECT pg_advisory_unlock(hashtext($1))', [`strata-env:${names.database}`])
      .catch(() => undefined);
  }
}

async function roleExists(client: Client, name: string): Promise<boolean> {
  return (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount === 1;
}

async function databaseExists(client: Client, name: string): Promise<boolean> {
  return (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
}

const LOGIN_ATTRIBUTES = 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT';

async function setPassword(client: Client, role: string, password: string | null): Promise<void> {
  // The verifier is the statement's only secret-derived part; it cannot be bound as a parameter.
  const literal = password === null ? 'NULL' : `'${scramVerifier(password)}'`;
  await client.query(`ALTER ROLE ${escapeIdentifier(role)} PASSWORD ${literal}`);
}

/**
 * Creates what is missing of the environment's roles and database, and sets the login roles'
 * passwords to the ones in `creds` (so a retried provision that wrote its credentials file and
 * died before the server heard of them converges). Each step is guarded by an existence check,
 * under an advisory lock: two workers provisioning the same environment create it once.
 */
export async function ensureEnvironmentDatabase(
  adminUrl: string,
  creds: DatabaseCredentials,
): Promise<{ created: string[] }> {
  const names: DatabaseNames = {
    database: creds.database,
    owner: creds.owner,
    logins: { a: creds.roles.a.name, b: creds.roles.b.name },
  };
  return withAdmin(adminUrl, (client) =>
    withEnvironmentLock(client, names, async () => {
      const created: string[] = [];
      const id = escapeIdentifier;
      if (!(await roleExists(client, names.owner))) {
        await client.query(
          `CREATE ROLE ${id(names.owner)} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT`,
        );
        created.push('owner role');
      }
      for (const which of ['a', 'b'] as const) {
        const role = creds.roles[which];
        if (!(await roleExists(client, role.name))) {
          await client.query(`CREATE ROLE ${id(role.name)} ${LOGIN_ATTRIBUTES} IN ROLE ${id(names.owner)}`);
          created.push(`login role ${which}`);
        }
        // Objects the candidate creates belong to the owner role, whichever login made them.
        await client.query(`ALTER ROLE ${id(role.name)} SET role = ${id(names.owner)}`);
        await setPassword(client, role.name, role.password);
      }
      if (!(await databaseExists(client, names.database))) {
        await client.query(`CREATE DATABASE ${id(names.database)} OWNER ${id(names.owner)}`);
        created.push('database');
      }
      // Nobody else may connect: CONNECT is granted to PUBLIC by default.
      await client.query(`REVOKE ALL ON DATABASE ${id(names.database)} FROM PUBLIC`);
      await client.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${id(names.database)} TO ${id(names.owner)}`);
      return { created };
    }),
  );
}

/** Gives the owner role the database's public schema (a separate connection: to that database). */
export async function claimPublicSchema(adminUrl: string, database: string, owner: string): Promise<void> {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  await withAdmin(url.toString(), async (client) => {
    await client.query(`ALTER SCHEMA public OWNER TO ${escapeIdentifier(owner)}`);
    await client.query('REVOKE ALL ON SCHEMA public FROM PUBLIC');
  });
}

/** Sets (or clears, with null) one login role's password. */
export async function setLoginPassword(
  adminUrl: string,
  creds: DatabaseCredentials,
  role: string,
  password: string | null,
): Promise<void> {
  const names: DatabaseNames = {
    database: creds.database,
    owner: creds.owner,
    logins: { a: creds.roles.a.name, b: creds.roles.b.name },
  };
  await withAdmin(adminUrl, (client) => withEnvironmentLock(client, names, () => setPassword(client, role, password)));
}

/**
 * Drops the environment's database (its sessions are ended first: WITH (FORCE) on PostgreSQL 13
 * and later, pg_terminate_backend before that) and its roles. Idempotent: what is gone stays gone.
 */
export async function dropEnvironmentDatabase(adminUrl: string, names: DatabaseNames): Promise<{ dropped: string[] }> {
  return withAdmin(adminUrl, (client) =>
    withEnvironmentLock(client, names, async () => {
      const dropped: string[] = [];
      const id = escapeIdentifier;
      if (await databaseExists(client, names.database)) {
        const version = Number((await client.query('SHOW server_version_num')).rows[0].server_version_num);
        if (version >= 130000) {
          await client.query(`DROP DATABASE IF EXISTS ${id(names.database)} WITH (FORCE)`);
        } else {
          await client.query(`ALTER DATABASE ${id(names.database)} CONNECTION LIMIT 0`);
          await client.query(
            'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
            [names.database],
          );
          await client.query(`DROP DATABASE IF EXISTS ${id(names.database)}`);
        }
        dropped.push('database');
      }
      for (const role of [names.logins.a, names.logins.b, names.owner]) {
        if (await roleExists(client, role)) {
          // Sessions of a login role in other databases (none expected) would keep it alive.
          await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role]);
          await client.query(`DROP ROLE ${id(role)}`);
          dropped.push(role === names.owner ? 'owner role' : 'login role');
        }
      }
      return { dropped };
    }),
  );
}

/** Whether the environment's database exists on the server (for status and tests). */
export async function environmentDatabaseExists(adminUrl: string, database: string): Promise<boolean> {
  return withAdmin(adminUrl, (client) => databaseExists(client, database));
}

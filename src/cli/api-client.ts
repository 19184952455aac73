// API mode: with STRATA_API set, every command that reads or changes server-side state goes
// through `strata serve` instead of Temporal or $STRATA_HOME; the server acts as the verified
// identity behind the token. Commands that only work on local files say so in their help.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exchange } from '../tools/http';
import { ApiError } from './api-error';
import { UsageError } from './errors';

export { ApiError } from './api-error';

/** The API's base URL when API mode is on (STRATA_API), else undefined: local mode. */
export function apiBase(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const raw = env.STRATA_API?.trim();
  return raw ? raw.replace(/\/+$/, '') : undefined;
}

/** ~/.config/strata/credentials (or $XDG_CONFIG_HOME/strata/credentials). */
export function credentialsFile(env: NodeJS.ProcessEnv = process.env): string {
  const config = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(config, 'strata', 'credentials');
}

/** Stores `token` for API mode, readable by its owner only (mode 600). */
export function storeCredentials(token: string, env: NodeJS.ProcessEnv = process.env): string {
  const file = credentialsFile(env);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${JSON.stringify({ token })}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return file;
}

/** The bearer token: STRATA_TOKEN, else the one `strata login` stored. */
export function apiToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.STRATA_TOKEN?.trim()) return env.STRATA_TOKEN.trim();
  const file = credentialsFile(env);
  if (!fs.existsSync(file)) return undefined;
  try {
    const token = (JSON.parse(fs.readFileSync(file, 'utf8')) as { token?: unknown }).token;
    return typeof token === 'string' && token ? token : undefined;
  } catch {
    throw new UsageError(`${file}: not a credentials file written by strata login; run strata login --token T again`);
  }
}

/** One API call: JSON in, JSON out; a refusal becomes an ApiError with the server's message. */
export async function callApi<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', route: string, body?: unknown): Promise<T> {
  const base = apiBase();
  if (!base) throw new UsageError('STRATA_API is not set: this command needs the API (strata serve)');
  const token = apiToken();
  let res: { status: number; text: string };
  try {
    res = await exchange(
      new URL(`${base}${route}`),
      method,
      {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body === undefined ? undefined : JSON.stringify(body),
    );
  } catch (err) {
    throw new ApiError(0, `cannot reach the API at ${base} (STRATA_API): ${(err as Error).message}`);
  }
  const text = res.text;
  const parsed = text ? (JSON.parse(text) as unknown) : undefined;
  if (res.status >= 400) {
    const message = (parsed as { error?: string } | undefined)?.error ?? text;
    const hint = res.status === 401 && !token ? ' (set STRATA_TOKEN or run strata login --token T)' : '';
    if (res.status === 400) throw new UsageError(`API: ${message}`);
    throw new ApiError(res.status, `API ${res.status}: ${message}${hint}`);
  }
  return parsed as T;
}

/** Warns that `--as` means nothing in API mode. */
export function ignoreAs(as: string | undefined): void {
  if (as !== undefined) {
    process.stderr.write('strata: API mode: --as is ignored; the server acts as the identity behind your token\n');
  }
}

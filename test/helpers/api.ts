// `strata serve` in tests: a real server in this process on a real port, tokens created through
// the real CLI, and plain HTTP calls to it.

import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import type { AccessPolicy } from '../../src/api/access';
import type { BearerVerifier } from '../../src/api/identity';
import { buildServer } from '../../src/api/server';
import { candidateUpload } from '../../src/api/upload';
import { ApiStore } from '../../src/api/store';
import type { TemporalUiOptions } from '../../src/web/temporal-ui';
import { artifactsOf } from './harness';
import { runStrata } from './cli';

export interface TestApi {
  base: string;
  close(): Promise<void>;
}

/** Starts `strata serve` on a free loopback port for a suite's home and task queue. */
export async function startTestApi(opts: {
  client: Client;
  home: string;
  taskQueue: string;
  access: AccessPolicy;
  oidc?: BearerVerifier;
  uploadLimitMiB?: number;
  codecCorsOrigin?: string;
  temporalUi?: TemporalUiOptions;
}): Promise<TestApi> {
  const store = new ApiStore(opts.home);
  let app: FastifyInstance;
  try {
    app = await buildServer({
      client: opts.client,
      home: opts.home,
      taskQueue: opts.taskQueue,
      artifacts: artifactsOf(opts.home),
      store,
      access: opts.access,
      ...(opts.oidc ? { oidc: opts.oidc } : {}),
      ...(opts.uploadLimitMiB ? { uploadLimitMiB: opts.uploadLimitMiB } : {}),
      ...(opts.codecCorsOrigin ? { codecCorsOrigin: opts.codecCorsOrigin } : {}),
      ...(opts.temporalUi ? { temporalUi: opts.temporalUi } : {}),
    });
  } catch (err) {
    store.close();
    throw err;
  }
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    base,
    async close() {
      await app.close();
      store.close();
    },
  };
}

/** Creates API tokens through the real CLI (local mode), by name and role; returns each token once. */
export async function createTokens(
  where: { home: string; taskQueue: string },
  roles: Array<[name: string, role: string]>,
): Promise<Record<string, string>> {
  const tokens: Record<string, string> = {};
  for (const [name, role] of roles) {
    const created = await runStrata(
      ['token', 'create', '--name', name, '--role', role, '--expires', '1d', '--json'],
      where,
    );
    if (created.code !== 0) throw new Error(`token create ${name}: exit ${created.code}: ${created.stderr}`);
    tokens[name] = (JSON.parse(created.stdout) as { token: string }).token;
  }
  return tokens;
}

/** Uploads a candidate folder through PUT /candidates/{digest}, as the CLI does; its digest. */
export async function uploadCandidate(base: string, token: string, dir: string): Promise<string> {
  const { candidate, upload } = await candidateUpload(dir);
  const res = await callApi(base, 'PUT', `/candidates/${candidate.digest}`, token, upload);
  if (res.status >= 300) throw new Error(`upload ${dir}: ${res.status} ${JSON.stringify(res.body)}`);
  return candidate.digest;
}

/** One HTTP call to the API: the status and the parsed JSON body (if any). */
export async function callApi(
  base: string,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  route: string,
  token?: string,
  body?: unknown,
) {
  const res = await request(`${base}${route}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
}

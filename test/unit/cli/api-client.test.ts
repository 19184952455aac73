// The CLI's API client (callApi) against a real HTTP server on a free port: the bearer token and
// JSON body go out, the JSON answer comes back, refusals become the errors the CLI reports, and a
// server that cannot be reached is named with the reason.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, callApi } from '../../../src/cli/api-client';
import { UsageError } from '../../../src/cli/errors';

interface Seen {
  method: string;
  url: string;
  authorization?: string;
  contentType?: string;
  body: string;
}

const seen: Seen[] = [];
let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        body,
      });
      const reply = (status: number, value: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      if (req.url === '/echo') return reply(200, { got: body ? JSON.parse(body) : null, ünïcode: 'ok ✓' });
      if (req.url === '/bad') return reply(400, { error: 'body: unknown field "actor"' });
      if (req.url === '/empty') return res.writeHead(204).end();
      return reply(404, { error: 'no promotion with id "nope"' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const saved = { api: process.env.STRATA_API, token: process.env.STRATA_TOKEN };
afterEach(() => {
  process.env.STRATA_API = saved.api;
  process.env.STRATA_TOKEN = saved.token;
  if (saved.api === undefined) delete process.env.STRATA_API;
  if (saved.token === undefined) delete process.env.STRATA_TOKEN;
  seen.length = 0;
});

describe('callApi (node:http against a real server)', () => {
  it('sends the token and the JSON body, and returns the JSON answer', async () => {
    process.env.STRATA_API = `${base}/`;
    process.env.STRATA_TOKEN = 'tok-123';
    const body = { layer: 'staging', reason: 'looks right — ✓' };
    expect(await callApi('POST', '/echo', body)).toEqual({ got: body, ünïcode: 'ok ✓' });
    expect(seen).toEqual([
      {
        method: 'POST',
        url: '/echo',
        authorization: 'Bearer tok-123',
        contentType: 'application/json',
        body: JSON.stringify(body),
      },
    ]);
    expect(await callApi('GET', '/empty')).toBeUndefined();
    expect(seen[1]).toMatchObject({ method: 'GET', body: '' });
    expect(seen[1].contentType).toBeUndefined();
  });

  it("turns a refusal into the server's message: 400 a usage error, others an ApiError with the status", async () => {
    process.env.STRATA_API = base;
    process.env.STRATA_TOKEN = 'tok-123';
    const bad = await callApi('POST', '/bad', {}).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(UsageError);
    expect((bad as Error).message).toBe('API: body: unknown field "actor"');
    const missing = await callApi('GET', '/promotions/nope').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ApiError);
    expect((missing as ApiError).message).toBe('API 404: no promotion with id "nope"');
  });

  it('names the API and the reason when it cannot be reached, or is no http(s) URL', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    process.env.STRATA_TOKEN = 'tok-123';
    process.env.STRATA_API = `http://127.0.0.1:${port}`;
    await expect(callApi('GET', '/promotions')).rejects.toThrow(
      `cannot reach the API at http://127.0.0.1:${port} (STRATA_API): connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    process.env.STRATA_API = 'ftp://127.0.0.1:21';
    await expect(callApi('GET', '/promotions')).rejects.toThrow(
      'cannot reach the API at ftp://127.0.0.1:21 (STRATA_API): ftp: is not http: or https:',
    );
  });
});

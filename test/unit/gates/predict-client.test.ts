import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PredictClient } from '../../../src/gates/predict-client';

// A candidate's answer may echo the records it was sent; the reason a failed call gives ends up in
// a gate's detail (the workflow history), so it names the status or the kind of a bad score, never
// what the candidate wrote.

const ECHO = 'canary-echo-7Qm2';
let server: http.Server;
let url: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const reply = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    };
    if (req.url === '/bad/predict') reply(400, JSON.stringify({ error: `records[0].channel: got "${ECHO}"` }));
    else if (req.url === '/empty/predict') reply(503, '');
    else if (req.url === '/score/predict') reply(200, JSON.stringify({ scores: [0.5, ECHO] }));
    else reply(200, JSON.stringify({ scores: [0.5, 0.25] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function call(base: string) {
  const client = new PredictClient(base, { signal: new AbortController().signal });
  try {
    return await client.predict([{ channel: ECHO }, { channel: 'web' }], 5_000);
  } finally {
    await client.close();
  }
}

describe('PredictClient failure reasons carry no answer text', () => {
  it('scores a good answer', async () => {
    expect(await call(url)).toEqual({ ok: true, scores: [0.5, 0.25] });
  });

  it('reports a non-200 answer by its status, not its body', async () => {
    const bad = await call(`${url}/bad`);
    expect(bad).toEqual({ ok: false, reason: `POST ${url}/bad/predict answered 400 (body not shown)` });
    expect(await call(`${url}/empty`)).toEqual({
      ok: false,
      reason: `POST ${url}/empty/predict answered 503 (empty body)`,
    });
  });

  it('reports a non-numeric score by its kind, not its value', async () => {
    const bad = await call(`${url}/score`);
    expect(bad).toEqual({
      ok: false,
      reason: `POST ${url}/score/predict returned a non-numeric score at index 1 (a string)`,
    });
  });
});

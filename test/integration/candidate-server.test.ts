// The example candidates' shared server.js as a real process, installed as a release with each
// version's model: health, predict, input errors, shutdown.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactSource } from '../../src/config/candidate';
import { generateTransactions, TRANSACTION_FEATURES } from '../../src/data/transactions';
import { SHARED_SERVER } from '../helpers/example-candidates';
import { EXAMPLES_DIR, loadExampleCandidate, type RunningCandidate, startCandidate } from './support/candidate';

const VERSIONS = { 'fraud-v1': '1.0.0', 'fraud-v2': '2.0.0', 'fraud-v3': '3.0.0' } as const;
type Example = keyof typeof VERSIONS;

const running = new Map<Example, RunningCandidate>();
const records = generateTransactions({ rows: 5, seed: 1 }).map((row) => ({
  ...Object.fromEntries(TRANSACTION_FEATURES.map((f) => [f, row[f]])),
  is_foreign: row.is_foreign === 1,
}));

async function post(url: string, body: string) {
  const res = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  for (const name of Object.keys(VERSIONS) as Example[]) {
    running.set(name, await startCandidate(await loadExampleCandidate(name), { STRATA_DB_PATH: `/tmp/${name}.db` }));
  }
}, 30_000);

afterAll(async () => {
  await Promise.all([...running.values()].map((c) => c.stop()));
});

describe.each(Object.entries(VERSIONS) as [Example, string][])('%s', (name, version) => {
  it('serves the one shared server.js (no copy of its own) and a model of its own version', async () => {
    const dir = path.join(EXAMPLES_DIR, name);
    const candidate = await loadExampleCandidate(name);
    expect(candidate.serve).toEqual(['node', 'server.js']);
    expect(artifactSource(candidate, 'server.js')).toBe(SHARED_SERVER);
    expect(fs.existsSync(path.join(dir, 'server.js'))).toBe(false);
    expect(candidate.version).toBe(version);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')).version).toBe(version);
  });

  it('answers /health with its name, version and database', async () => {
    const res = await fetch(`${running.get(name)!.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'ok',
      name: 'fraud-scoring',
      version,
      db: `/tmp/${name}.db`,
      dependency: null,
    });
  });

  it('scores each record with a probability', async () => {
    const { status, body } = await post(running.get(name)!.url, JSON.stringify({ records }));
    expect(status).toBe(200);
    const scores = body.scores as number[];
    expect(scores).toHaveLength(records.length);
    for (const s of scores) expect(s > 0 && s < 1).toBe(true);
    // booleans may also come as SQLite's 0/1
    const asInts = records.map((r) => ({ ...r, is_foreign: r.is_foreign ? 1 : 0 }));
    expect((await post(running.get(name)!.url, JSON.stringify({ records: asInts }))).body.scores).toEqual(scores);
  });
});

describe('input errors', () => {
  const url = () => running.get('fraud-v2')!.url;

  it.each([
    ['a body that is not JSON', 'nope', /not valid JSON/],
    ['records that are not an array', '{"records": {}}', /records/],
    [
      'a missing feature',
      JSON.stringify({ records: [{ ...records[0], velocity_24h: undefined }] }),
      /records\[0\]\.velocity_24h is missing/,
    ],
    [
      'a mistyped feature',
      JSON.stringify({ records: [records[0], { ...records[1], amount: '12.5' }] }),
      /records\[1\]\.amount: expected number/,
    ],
    [
      'a non-boolean flag',
      JSON.stringify({ records: [{ ...records[0], is_foreign: 'yes' }] }),
      /is_foreign: expected boolean/,
    ],
  ])('answers 400 for %s', async (_, body, message) => {
    const res = await post(url(), body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(message);
  });

  it('only requires the features its model reads (v1 ignores account age)', async () => {
    const rest = { ...records[0], account_age_days: undefined };
    expect((await post(running.get('fraud-v1')!.url, JSON.stringify({ records: [rest] }))).status).toBe(200);
    expect((await post(url(), JSON.stringify({ records: [rest] }))).status).toBe(400);
  });

  it('answers 404 for unknown routes and 405 for wrong methods', async () => {
    expect((await fetch(`${url()}/score`)).status).toBe(404);
    expect((await fetch(`${url()}/predict`)).status).toBe(405);
  });
});

describe('shutdown', () => {
  it('exits 0 on SIGTERM', async () => {
    const candidate = await startCandidate(await loadExampleCandidate('fraud-v1'));
    expect(await candidate.stop()).toBe(0);
  });
});

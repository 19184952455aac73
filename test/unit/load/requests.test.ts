import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCandidate } from '../../../src/config/candidate';
import { seedTransactions } from '../../../src/data/transactions';
import type { InputSchema } from '../../../src/domain/ladder';
import { loadProfileSchema } from '../../../src/load/profile';
import {
  environmentBodies,
  replayBodies,
  requestBodies,
  resolveRequestFile,
  shuffle,
} from '../../../src/load/requests';

let dir: string;
let dbPath: string;
let input: InputSchema;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-requests-'));
  dbPath = path.join(dir, 'data.db');
  seedTransactions(dbPath, { rows: 300, seed: 3 });
  input = (await loadCandidate(path.resolve(__dirname, '../../../examples/candidates/fraud-v2'))).input;
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const sequence = (body: (i: number) => string, n: number) => Array.from({ length: n }, (_, i) => body(i));

describe('environmentBodies', () => {
  it("sends {records: [...]} with the candidate's features (and record key) only, batch records per request", () => {
    const { body, distinct } = environmentBodies({ dbPath, input, seed: 1, batch: 3, requests: 1000 });
    expect(distinct).toBe(300);
    const parsed = JSON.parse(body(0)) as { records: Array<Record<string, unknown>> };
    expect(parsed.records).toHaveLength(3);
    for (const record of parsed.records) {
      expect(Object.keys(record).sort()).toEqual(
        [...Object.keys(input.features), ...(input.key ? [input.key] : [])].sort(),
      );
      expect(typeof record.is_foreign).toBe('boolean');
    }
  });

  it('orders the records by seed: the same seed gives the same bodies, another seed another order', () => {
    const a = sequence(environmentBodies({ dbPath, input, seed: 7, batch: 1, requests: 300 }).body, 300);
    const again = sequence(environmentBodies({ dbPath, input, seed: 7, batch: 1, requests: 300 }).body, 300);
    const other = sequence(environmentBodies({ dbPath, input, seed: 8, batch: 1, requests: 300 }).body, 300);
    expect(again).toEqual(a);
    expect(other).not.toEqual(a);
    expect([...other].sort()).toEqual([...a].sort()); // the same records, shuffled differently
    expect(new Set(a).size).toBe(300); // every record once before any repeats
  });

  it('cycles through the records when the run needs more, and reads no more rows than it can use', () => {
    const few = environmentBodies({ dbPath, input, seed: 1, batch: 2, requests: 10 });
    expect(few.distinct).toBe(20);
    expect(few.body(10)).toBe(few.body(0));
  });

  it('names the table and the database when it cannot read records', () => {
    expect(() =>
      environmentBodies({ dbPath, input: { ...input, table: 'nope' }, seed: 1, batch: 1, requests: 1 }),
    ).toThrow(`cannot read request records from nope in ${dbPath}: table nope does not exist`);
  });
});

describe('shuffle', () => {
  it('is a seeded permutation', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i);
    const s1 = shuffle([...xs], 42);
    expect(shuffle([...xs], 42)).toEqual(s1);
    expect([...s1].sort((a, b) => a - b)).toEqual(xs);
    expect(s1).not.toEqual(xs);
  });
});

describe('replayBodies', () => {
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  it('sends each line as written, in file order, cycling, skipping blank lines', () => {
    const file = write('ok.jsonl', '{"records":[{"amount":1}]}\n\n  {"records":[{"amount":2}]}  \n');
    const { body, distinct } = replayBodies(file);
    expect(distinct).toBe(2);
    expect(sequence(body, 3)).toEqual([
      '{"records":[{"amount":1}]}',
      '{"records":[{"amount":2}]}',
      '{"records":[{"amount":1}]}',
    ]);
  });

  it('names the file when it is missing or empty', () => {
    const missing = path.join(dir, 'missing.jsonl');
    expect(() => replayBodies(missing)).toThrow(`${missing}: cannot read the replay file: no such file`);
    const empty = write('empty.jsonl', '\n\n');
    expect(() => replayBodies(empty)).toThrow(`${empty}: no request bodies`);
  });

  it('names the file and the line of a malformed body', () => {
    const bad = write('bad.jsonl', '{"records":[]}\n{"records": [\n');
    expect(() => replayBodies(bad)).toThrow(new RegExp(`^${bad.replace(/[.]/g, '\\.')}:2: not valid JSON`));
    const notObject = write('array.jsonl', '{"records":[]}\n\n[1, 2]\n');
    expect(() => replayBodies(notObject)).toThrow(
      `${notObject}:3: expected a JSON object (one request body), got an array`,
    );
  });
});

describe('requestBodies', () => {
  it('reads a relative replay file relative to baseDir, and resolveRequestFile makes it absolute for storing', () => {
    fs.writeFileSync(path.join(dir, 'log.jsonl'), '{"records":[]}\n');
    const profile = loadProfileSchema.parse({
      phases: [{ constant: { rate: 1, duration: '1s' } }],
      requests: { source: 'replay', file: 'log.jsonl' },
    });
    expect(requestBodies(profile, { baseDir: dir }).distinct).toBe(1);
    expect(resolveRequestFile(profile, dir).requests).toEqual({ source: 'replay', file: path.join(dir, 'log.jsonl') });
  });

  it('needs the database and the input schema for environment bodies', () => {
    const profile = loadProfileSchema.parse({ phases: [{ constant: { rate: 5, duration: '2s' } }], seed: 4, batch: 2 });
    expect(() => requestBodies(profile, {})).toThrow(/need its database/);
    const bodies = requestBodies(profile, { dbPath, input });
    expect(bodies.distinct).toBe(20);
    expect(bodies.body(3)).toBe(environmentBodies({ dbPath, input, seed: 4, batch: 2, requests: 10 }).body(3));
  });
});

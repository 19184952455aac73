import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/validation/errors';
import { parseLadder } from '../../../src/config/ladder';
import type { FeatureSpec, InputSchema, LayerSpec } from '../../../src/domain/ladder';
import type { GateCheck, GateResult } from '../../../src/domain/status';
import { schemaCompatibilityGate } from '../../../src/gates/schema-compatibility';
import type { GateContext } from '../../../src/gates/types';
import { tempDir } from '../../helpers/drill-env';

let root: string;
beforeAll(() => {
  root = tempDir('schema-compat');
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

const LAYER: LayerSpec = {
  name: 'mirror',
  seed: { rows: 10, seed: 1 },
  gates: [],
  approval: { mode: 'auto' },
  rollback: 'keep',
};

let dbCount = 0;
/** A database with one table `t` created by `ddl` (its column list) and filled with `rows`. */
function database(ddl: string, rows: unknown[][] = []): string {
  const dbPath = path.join(root, `db-${++dbCount}.db`);
  const db = new Database(dbPath);
  db.exec(`CREATE TABLE t (${ddl})`);
  if (rows.length > 0) {
    const insert = db.prepare(`INSERT INTO t VALUES (${rows[0].map(() => '?').join(', ')})`);
    db.transaction(() => rows.forEach((row) => insert.run(...row)))();
  }
  db.close();
  return dbPath;
}

const feature = (type: FeatureSpec['type'], more: Partial<FeatureSpec> = {}): FeatureSpec => ({
  type,
  required: true,
  nullable: false,
  ...more,
});

function context(dbPath: string, features: Record<string, FeatureSpec>, label = 'y'): GateContext {
  const input: InputSchema = { table: 't', label, features };
  return {
    layer: LAYER,
    candidate: { name: 'c', version: '1', digest: 'd', dir: root, serve: [], artifacts: [], input },
    dbPath,
    url: 'http://127.0.0.1:1',
    heartbeat: () => {},
    signal: new AbortController().signal,
  };
}

async function run(dbPath: string, features: Record<string, FeatureSpec>, threshold?: number) {
  const spec = {
    name: 'compat',
    type: 'schema-compatibility',
    options: {},
    ...(threshold === undefined ? {} : { threshold }),
  };
  return schemaCompatibilityGate.run(context(dbPath, features), spec);
}

const checkNamed = (result: GateResult, name: string): GateCheck | undefined =>
  result.checks?.find((c) => c.name === name);

describe('schema-compatibility gate', () => {
  it('passes a table that matches the input schema, one check per column', async () => {
    const dbPath = database('amount REAL, n INTEGER, flag INTEGER, channel TEXT, y INTEGER', [
      [1.5, 3, 1, 'web', 0],
      [2.25, 4, 0, 'pos', 1],
    ]);
    const result = await run(dbPath, {
      amount: feature('number'),
      n: feature('integer'),
      flag: feature('boolean'),
      channel: feature('string'),
    });
    expect(result).toMatchObject({
      passed: true,
      value: 0,
      threshold: 0,
      unit: 'incompatibilities',
      detail: 'compatible with t (1 widened-type)',
    });
    expect(result.checks?.map((c) => [c.name, c.passed])).toEqual([
      ['same-type(amount)', true],
      ['same-type(n)', true],
      ['same-type(flag)', true],
      ['same-type(channel)', true],
      ['widened-type(y)', true], // the label is read as a number; an INTEGER column widens
    ]);
    expect(checkNamed(result, 'same-type(amount)')?.observed).toBe(
      'expects number; column declared REAL, holds 2 real',
    );
  });

  it('fails a required column the table lacks (removed-required-column), label included', async () => {
    const dbPath = database('amount REAL, other TEXT', [[1.5, 'x']]);
    const result = await run(dbPath, { amount: feature('number'), channel: feature('string') });
    expect(result).toMatchObject({ passed: false, value: 2 });
    expect(result.detail).toBe('2 incompatible: channel removed-required-column, y removed-required-column');
    expect(checkNamed(result, 'removed-required-column(channel)')).toEqual({
      name: 'removed-required-column(channel)',
      passed: false,
      observed: 'column channel (string) is required by the candidate and missing from the table',
    });
    expect(checkNamed(result, 'removed-required-column(y)')?.observed).toMatch(/^label column y/);
  });

  it('passes an optional column the table lacks (missing-optional-column)', async () => {
    const dbPath = database('amount REAL, y INTEGER', [[1.5, 0]]);
    const result = await run(dbPath, { amount: feature('number'), channel: feature('string', { required: false }) });
    expect(result).toMatchObject({ passed: true, value: 0 });
    expect(checkNamed(result, 'missing-optional-column(channel)')?.passed).toBe(true);
  });

  it('passes a column the candidate does not declare (added-column)', async () => {
    const dbPath = database('amount REAL, y INTEGER, note TEXT, extra INTEGER', [[1.5, 0, 'a', 3]]);
    const result = await run(dbPath, { amount: feature('number') });
    expect(result).toMatchObject({ passed: true, value: 0 });
    expect(checkNamed(result, 'added-column(note)')).toEqual({
      name: 'added-column(note)',
      passed: true,
      observed: 'not read by the candidate (declared TEXT); an added column is compatible',
    });
    expect(checkNamed(result, 'added-column(extra)')?.passed).toBe(true);
    expect(result.detail).toBe('compatible with t (1 widened-type, 2 added-column)');
  });

  it('passes a widened type: number expected, INTEGER column (also a column without type holding integers)', async () => {
    // better-sqlite3 binds JS numbers as REAL; BigInts are stored as integers in an untyped column.
    const dbPath = database('amount INTEGER, count, y INTEGER', [
      [10, 1n, 0],
      [20, 2n, 1],
    ]);
    const result = await run(dbPath, { amount: feature('number'), count: feature('number') });
    expect(result).toMatchObject({ passed: true, value: 0 });
    expect(checkNamed(result, 'widened-type(amount)')).toEqual({
      name: 'widened-type(amount)',
      passed: true,
      observed: 'expects number; column declared INTEGER, holds 2 integer; compatible: every integer is a number',
    });
    expect(checkNamed(result, 'widened-type(count)')?.passed).toBe(true);
  });

  it('fails narrowed types, judged on the declared type and on the stored values', async () => {
    const dbPath = database('a REAL, b, c INTEGER, d TEXT, e INTEGER, f INTEGER, g NUMERIC, y INTEGER', [
      [1.0, 2.5, 'abc', 'x', 2, 7, 3, 0],
      [2.0, 3, 4, 'z', 1, 8, 4, 1],
    ]);
    const result = await run(dbPath, {
      a: feature('integer'), // REAL declared
      b: feature('integer'), // no declared type, holds 2.5
      c: feature('integer'), // INTEGER declared, holds text
      d: feature('number'), // TEXT
      e: feature('boolean'), // holds 2
      f: feature('string'), // numeric column
      g: feature('integer'), // NUMERIC may hold non-integers
    });
    expect(result.passed).toBe(false);
    expect(result.value).toBe(7);
    const narrowed = result.checks?.filter((c) => c.name.startsWith('narrowed-type(')).map((c) => c.name);
    expect(narrowed).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((n) => `narrowed-type(${n})`));
    expect(checkNamed(result, 'narrowed-type(a)')?.observed).toBe(
      'expects integer; column declared REAL, holds 2 real; incompatible: declared REAL',
    );
    expect(checkNamed(result, 'narrowed-type(b)')?.observed).toBe(
      'expects integer; column no declared type, holds 2 real; incompatible: 1 non-integer values',
    );
    expect(checkNamed(result, 'narrowed-type(c)')?.observed).toContain('1 non-integer values');
    expect(checkNamed(result, 'narrowed-type(e)')?.observed).toContain('1 values other than 0/1');
    expect(checkNamed(result, 'narrowed-type(f)')?.observed).toContain('declared INTEGER, a numeric column');
    expect(result.detail).toMatch(
      /^7 incompatible: a narrowed-type \(declared REAL\), b narrowed-type \(1 non-integer values\), /,
    );
  });

  it('accepts booleans stored as 0/1 in an INTEGER or BOOLEAN column, and integers in a BOOLEAN column as widened', async () => {
    const dbPath = database('f INTEGER, g BOOLEAN, h BOOLEAN, y INTEGER', [
      [0, 1, 0, 0],
      [1, 0, 1, 1],
    ]);
    const result = await run(dbPath, { f: feature('boolean'), g: feature('boolean'), h: feature('integer') });
    expect(result).toMatchObject({ passed: true, value: 0 });
    expect(checkNamed(result, 'widened-type(h)')?.passed).toBe(true);
  });

  it('fails nulls in a feature declared not nullable (nullable-mismatch), with the count; allows them when nullable', async () => {
    const dbPath = database('amount REAL, note TEXT, y INTEGER', [
      [null, null, 0],
      [1.5, null, 1],
      [null, 'x', 0],
      [2.5, 'y', 1],
    ]);
    const result = await run(dbPath, { amount: feature('number'), note: feature('string', { nullable: true }) });
    expect(result).toMatchObject({
      passed: false,
      value: 1,
      detail: '1 incompatible: amount nullable-mismatch (2 nulls)',
    });
    expect(checkNamed(result, 'nullable-mismatch(amount)')).toEqual({
      name: 'nullable-mismatch(amount)',
      passed: false,
      observed: '2 nulls in 4 rows (50.0 %); the candidate declares amount not nullable',
    });
    expect(checkNamed(result, 'nullable-mismatch(note)')).toBeUndefined();
    expect(checkNamed(result, 'same-type(amount)')?.passed).toBe(true);
  });

  it('lets the threshold allow some incompatibilities', async () => {
    const dbPath = database('amount TEXT, y INTEGER', [['a', 0]]);
    expect(await run(dbPath, { amount: feature('number') }, 1)).toMatchObject({ passed: true, value: 1, threshold: 1 });
    expect(await run(dbPath, { amount: feature('number') }, 0)).toMatchObject({ passed: false, value: 1 });
  });

  it('fails a missing table whatever the threshold, and an unreadable database without a value', async () => {
    const dbPath = database('other INTEGER');
    const db = new Database(dbPath);
    db.exec('DROP TABLE t; CREATE TABLE elsewhere (x INTEGER)');
    db.close();
    const result = await run(dbPath, { amount: feature('number') }, 10);
    expect(result).toMatchObject({
      passed: false,
      value: 1,
      detail: `1 incompatible: table t does not exist in ${dbPath}`,
    });
    expect(result.checks).toEqual([
      { name: 'table-missing(t)', passed: false, observed: `table t does not exist in ${dbPath}` },
    ]);

    const gone = await run(path.join(root, 'nope.db'), { amount: feature('number') });
    expect(gone).toMatchObject({ passed: false, value: null });
    expect(gone.detail).toMatch(/^cannot open database/);
  });

  it('is a gate type of ladder.yaml, with no options', () => {
    const ladder = (gate: string) =>
      `name: l\nlayers:\n  - name: mirror\n    seed: { rows: 10, seed: 1 }\n    approval: auto\n    gates:\n${gate}`;
    const parsed = parseLadder(ladder('      - type: schema-compatibility\n        threshold: 1\n'), 'ladder.yaml');
    expect(parsed.layers[0].gates[0]).toEqual({
      name: 'schema-compatibility',
      type: 'schema-compatibility',
      threshold: 1,
      options: {},
    });
    expect(() =>
      parseLadder(ladder('      - type: schema-compatibility\n        options: { strict: true }\n'), 'ladder.yaml'),
    ).toThrow(ConfigError);
    try {
      parseLadder(ladder('      - type: schema-compatibility\n        options: { strict: true }\n'), 'ladder.yaml');
    } catch (err) {
      expect((err as ConfigError).issues[0].path).toBe('layers[0].gates[0].options.strict');
    }
  });
});

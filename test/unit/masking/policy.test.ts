import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkCoverage, loadPolicy, parsePolicy, usesKeys } from '../../../src/data/masking/policy';
import { configErrorOf, CUSTOMERS_CSV, tempDir, writePolicy } from '../../fixtures/masking/helpers';

const root = tempDir('policy');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('loadPolicy', () => {
  it('reads ops with their defaults, shorthands, and resolves the keyring against the policy’s directory', () => {
    const file = writePolicy(root, './keys/keyring.yaml');
    const policy = loadPolicy(file);
    expect(policy.keyring).toBe(path.join(root, 'keys', 'keyring.yaml'));
    expect(policy.seed).toBe(7);
    expect(policy.columns.get('id')).toEqual({ op: 'hmac', prefix: 'cust_', length: 16, alphabet: 'base32' });
    expect(policy.columns.get('card')).toEqual({ op: 'mask', keep: 4, char: '*', preserveLength: false });
    expect(policy.columns.get('city')).toEqual({ op: 'keep' });
    expect(policy.columns.get('notes')).toEqual({ op: 'drop' });
    expect([...policy.columns.keys()]).toEqual([
      'id',
      'full_name',
      'email',
      'phone',
      'card',
      'zip',
      'birth_date',
      'balance',
      'city',
      'notes',
      'segment',
    ]);
    expect(usesKeys(policy)).toBe(true);
  });

  it('names the file and the path of every problem', () => {
    const error = configErrorOf(() =>
      parsePolicy(
        {
          keyring: '/k.yaml',
          colums: {},
          columns: {
            a: { op: 'hmac', lenght: 3 },
            b: { op: 'fake' },
            c: 'frob',
            d: { op: 'generalize', to: 'bucket' },
            e: { op: 'generalize', to: 'month', size: 3 },
            f: { op: 'mask', keep: -1 },
            g: 42,
          },
        },
        'masking.yaml',
      ),
    );
    expect(error.file).toBe('masking.yaml');
    const paths = error.issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'colums',
        'columns.a.lenght',
        'columns.b.kind',
        'columns.c.op',
        'columns.d.size',
        'columns.e.size',
        'columns.f.keep',
        'columns.g',
      ]),
    );
    expect(error.message).toContain('masking.yaml: columns.c.op: expected one of "keep", "hmac"');
    expect(error.message).toContain('masking.yaml: columns.d.size: missing; expected the bucket width');
  });

  it('requires a keyring when a column is keyed (hmac, fake), not otherwise', () => {
    const error = configErrorOf(() => parsePolicy({ columns: { id: 'hmac', name: 'keep' } }, 'm.yaml'));
    expect(error.issues).toEqual([{ path: 'keyring', message: expect.stringContaining('"id" use hmac or fake') }]);
    expect(usesKeys(parsePolicy({ columns: { id: 'redact', name: 'keep' } }, 'm.yaml'))).toBe(false);
  });

  it('refuses a missing or malformed file, naming it', () => {
    expect(configErrorOf(() => loadPolicy(path.join(root, 'nope.yaml'))).message).toMatch(
      /nope\.yaml: policy file not found/,
    );
    const bad = path.join(root, 'bad.yaml');
    fs.writeFileSync(bad, 'columns: [a, b\n');
    expect(configErrorOf(() => loadPolicy(bad)).message).toMatch(/bad\.yaml: YAML syntax error at line/);
  });
});

describe('checkCoverage', () => {
  const policy = () => loadPolicy(writePolicy(root, '/elsewhere/keyring.yaml'));
  const columns = fs.readFileSync(CUSTOMERS_CSV, 'utf8').split('\n')[0].split(',');

  it('accepts a policy that names exactly the source’s columns', () => {
    expect(() => checkCoverage(policy(), columns, 'customers.csv')).not.toThrow();
  });

  it('names every uncovered source column, and the policy file', () => {
    const error = configErrorOf(() => checkCoverage(policy(), [...columns, 'ssn', 'dob'], 'customers.csv'));
    expect(error.file).toMatch(/masking\.yaml$/);
    expect(error.issues).toEqual([
      {
        path: 'columns',
        message: expect.stringContaining('columns "ssn", "dob" of customers.csv are not covered by the policy'),
      },
    ]);
  });

  it('names a policy column the source lacks', () => {
    const error = configErrorOf(() =>
      checkCoverage(
        policy(),
        columns.filter((c) => c !== 'notes'),
        'customers.csv',
      ),
    );
    expect(error.issues).toEqual([
      { path: 'columns.notes', message: expect.stringContaining('customers.csv has no column "notes"') },
    ]);
  });
});

import { luhnValid } from '../../../src/data/pii/detectors';
import { describe, expect, it } from 'vitest';
import { Keyring } from '../../../src/data/masking/keyring';
import { type Cell, compileRule, outputType, ValueRejected } from '../../../src/data/masking/ops';
import { type ColumnRule, parsePolicy } from '../../../src/data/masking/policy';

const keyring = new Keyring(
  'test-keyring',
  new Map([
    ['main', Buffer.alloc(32, 7)],
    ['next', Buffer.alloc(32, 9)],
  ]),
  'main',
);
const mirror = keyring.environmentKeys('mirror');
const integration = keyring.environmentKeys('integration');

/** A rule as the policy loader would produce it (defaults applied). */
function rule(spec: Record<string, unknown> | string): Exclude<ColumnRule, { op: 'drop' }> {
  const policy = parsePolicy({ keyring: '/elsewhere/keyring.yaml', columns: { c: spec } }, 'masking.yaml');
  return policy.columns.get('c') as Exclude<ColumnRule, { op: 'drop' }>;
}

function op(spec: Record<string, unknown> | string, keys = mirror, seed = 0): (v: Cell) => Cell {
  return compileRule(rule(spec), { keys, seed }).apply;
}

describe('hmac', () => {
  it('is stable within an environment, different across environments and keys', () => {
    const inMirror = op({ op: 'hmac', prefix: 'user_' });
    expect(inMirror('alice@example.com')).toBe(inMirror('alice@example.com'));
    expect(op({ op: 'hmac', prefix: 'user_' })('alice@example.com')).toBe(inMirror('alice@example.com'));
    expect(inMirror('alice@example.com')).not.toBe(inMirror('bob@example.com'));
    expect(op({ op: 'hmac', prefix: 'user_' }, integration)('alice@example.com')).not.toBe(
      inMirror('alice@example.com'),
    );
    expect(
      op({ op: 'hmac', prefix: 'user_' }, keyring.environmentKeys('mirror', 'next'))('alice@example.com'),
    ).not.toBe(inMirror('alice@example.com'));
  });

  it('keeps a readable prefix and the chosen alphabet and length', () => {
    expect(op({ op: 'hmac', prefix: 'user_' })('42')).toMatch(/^user_[a-z2-7]{16}$/);
    expect(op({ op: 'hmac', alphabet: 'hex', length: 12 })('42')).toMatch(/^[0-9a-f]{12}$/);
    expect(op({ op: 'hmac', alphabet: 'digits', length: 10 })('42')).toMatch(/^\d{10}$/);
    // Digit pseudonyms fail the Luhn check by construction: a 16-digit one is never a card look-alike.
    const cardLike = op({ op: 'hmac', alphabet: 'digits', length: 16 });
    for (let i = 0; i < 2000; i++) expect(luhnValid(String(cardLike(`4111 ${i}`)))).toBe(false);
    expect(op({ op: 'hmac', length: 51 })('42')).toMatch(/^[a-z2-7]{51}$/);
  });

  it('joins across sources: an SQLite integer and its CSV text get the same pseudonym; domains separate', () => {
    const f = op('hmac');
    expect(f(42n)).toBe(f('42'));
    expect(f(42)).toBe(f('42'));
    expect(op({ op: 'hmac', domain: 'orders' })('42')).not.toBe(f('42'));
  });

  it('leaves missing values missing', () => {
    expect(op('hmac')(null)).toBeNull();
    expect(op('hmac')('')).toBe('');
  });
});

describe('redact', () => {
  it('replaces every present value with the constant', () => {
    expect(op('redact')('secret')).toBe('[redacted]');
    expect(op({ op: 'redact', with: 'X' })(12)).toBe('X');
    expect(op({ op: 'redact', with: 0 })('12')).toBe(0);
    expect(op('redact')(null)).toBeNull();
  });
});

describe('mask', () => {
  it('keeps the last N characters behind a fixed run of mask characters', () => {
    expect(op({ op: 'mask', keep: 4 })('4111111111111234')).toBe('****1234');
    expect(op({ op: 'mask', keep: 2 })('123-45-6789')).toBe('****89');
    expect(op({ op: 'mask', keep: 4, char: '#' })(5500005555555559n)).toBe('####5559');
  });

  it('can keep the length, and masks entirely a value no longer than N', () => {
    expect(op({ op: 'mask', keep: 4, preserveLength: true })('4111111111111234')).toBe('************1234');
    expect(op({ op: 'mask', keep: 4 })('1234')).toBe('****');
    expect(op({ op: 'mask', keep: 4, preserveLength: true })('123')).toBe('***');
    expect(op({ op: 'mask', keep: 0 })('abc')).toBe('****');
  });
});

describe('fake', () => {
  it('is deterministic per (seed, value) and realistic per kind', () => {
    const name = op({ op: 'fake', kind: 'name' }, mirror, 1);
    expect(name('Ada Lovelace')).toBe(op({ op: 'fake', kind: 'name' }, mirror, 1)('Ada Lovelace'));
    expect(name('Ada Lovelace')).toMatch(/^\S+ \S+/);
    expect(op({ op: 'fake', kind: 'email' })('ada@math.org')).toMatch(/^[^@\s]+@example\.(com|net|org)$/);
    expect(op({ op: 'fake', kind: 'phone' })('+1 212 555 1234')).toMatch(/^\+1-\d{3}-555-01\d{2}$/);
    expect(op({ op: 'fake', kind: 'address' })('1 Main St')).toMatch(/\d+ .+, .+/);
    expect(String(op({ op: 'fake', kind: 'company' })('Acme'))).not.toBe('');
  });

  it('changes with the seed, the environment and the value', () => {
    const values = ['Ada Lovelace', 'Alan Turing', 'Grace Hopper', 'Katherine Johnson', 'Edsger Dijkstra'];
    const run = (seed: number, keys = mirror) => values.map((v) => op({ op: 'fake', kind: 'name' }, keys, seed)(v));
    expect(run(1)).toEqual(run(1));
    expect(run(1)).not.toEqual(run(2));
    expect(run(1)).not.toEqual(run(1, integration));
    expect(new Set(run(1)).size).toBeGreaterThan(1);
    // A column's own seed overrides the policy's.
    expect(op({ op: 'fake', kind: 'name', seed: 2 }, mirror, 1)(values[0])).toBe(run(2)[0]);
  });
});

describe('generalize', () => {
  it('dates to their month', () => {
    const month = op({ op: 'generalize', to: 'month' });
    expect(month('2026-11-05')).toBe('2026-11');
    expect(month('2026-11-30T23:59:59Z')).toBe('2026-11');
    expect(month('2026-11')).toBe('2026-11');
    expect(month(null)).toBeNull();
    expect(() => month('05/11/2026')).toThrow(ValueRejected);
    expect(() => month('2026-13-01')).toThrow(/not a valid calendar date/);
    expect(op({ op: 'generalize', to: 'month', invalid: 'empty' })('soon')).toBeNull();
  });

  it('numbers to half-open buckets of the given size, with optional top and bottom coding', () => {
    const bucket = op({ op: 'generalize', to: 'bucket', size: 100 });
    expect(bucket('123')).toBe('[100,200)');
    expect(bucket(100)).toBe('[100,200)');
    expect(bucket(99.99)).toBe('[0,100)');
    expect(bucket(-1)).toBe('[-100,0)');
    expect(bucket(250n)).toBe('[200,300)');
    expect(op({ op: 'generalize', to: 'bucket', size: 0.1 })(0.3)).toBe('[0.3,0.4)');
    const capped = op({ op: 'generalize', to: 'bucket', size: 1000, min: 0, max: 10000 });
    expect(capped(25000)).toBe('[10000,+inf)');
    expect(capped(-5)).toBe('(-inf,0)');
    expect(() => bucket('abc')).toThrow(/not a number/);
  });

  it('US ZIP codes to their first three digits', () => {
    const zip3 = op({ op: 'generalize', to: 'zip3' });
    expect(zip3('94105')).toBe('941');
    expect(zip3('94105-1234')).toBe('941');
    expect(zip3(2134)).toBe('021'); // an INTEGER column lost the leading zero
    expect(op({ op: 'generalize', to: 'zip3', suppress: ['036'] })('03601')).toBe('000');
    expect(() => zip3('9410')).toThrow(/not a US ZIP code/);
  });

  it('never puts the rejected value in the message', () => {
    try {
      op({ op: 'generalize', to: 'month' })('secret-value-123');
      throw new Error('expected a rejection');
    } catch (error) {
      expect((error as Error).message).not.toContain('secret-value-123');
    }
  });
});

describe('keep and output types', () => {
  it('keeps the value and, by default, the source column type', () => {
    expect(op('keep')(12.5)).toBe(12.5);
    expect(outputType(rule('keep'), 'REAL')).toBe('REAL');
    expect(outputType(rule('keep'), undefined)).toBe('TEXT');
    expect(outputType(rule({ op: 'keep', type: 'integer' }), 'TEXT')).toBe('INTEGER');
    expect(outputType(rule('hmac'), 'INTEGER')).toBe('TEXT');
  });
});

import { describe, expect, it } from 'vitest';
import { createRandom } from '../../../src/data/profile/random';
import { ShapeAccumulator } from '../../../src/data/profile/shape';

function formats(values: string[], k = 10) {
  const shapes = new ShapeAccumulator();
  for (const v of values) shapes.add(v);
  return shapes.formats(k);
}

const random = createRandom(3);
const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[random.int(16)]).join('');

describe('identifier formats', () => {
  it('keeps constant chunks literally and turns varying ones into classes', () => {
    const ids = Array.from({ length: 500 }, (_, i) => `txn_${String(i + 1).padStart(6, '0')}`);
    expect(formats(ids).formats.map((f) => f.pattern)).toEqual(['txn_\\d{6}']);
    const codes = Array.from({ length: 500 }, (_, i) => `INV-${2020 + (i % 5)}-AB${i}`);
    expect(formats(codes).formats.map((f) => f.pattern)).toEqual(['INV\\-\\d{4}\\-AB\\d{1,3}']);
  });

  it('recognises hexadecimal ids such as UUIDs', () => {
    const uuids = Array.from({ length: 300 }, () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`);
    const [uuid] = formats(uuids).formats;
    expect(uuid.pattern).toBe('[0-9a-f]{8}\\-[0-9a-f]{4}\\-[0-9a-f]{4}\\-[0-9a-f]{4}\\-[0-9a-f]{12}');
    for (const u of uuids) expect(new RegExp(`^${uuid.pattern}$`).test(u)).toBe(true);
  });

  it('publishes no shape (and so no literal) seen fewer than k times', () => {
    const values = [
      ...Array.from({ length: 50 }, (_, i) => `user${i}@example.com`),
      'ceo.private@rare-corp.org',
      'x.y@z.org',
    ];
    const { formats: published, otherShare } = formats(values);
    expect(published.map((f) => f.pattern)).toEqual(['user\\d{1,2}@example\\.com']);
    expect(otherShare).toBeCloseTo(2 / 52, 5);
    expect(JSON.stringify(published)).not.toContain('rare');
    expect(JSON.stringify(published)).not.toContain('private');
  });

  it('merges values with the same separators into one shape, whose classes cover them all', () => {
    const values = [...Array.from({ length: 50 }, (_, i) => `user${i}@example.com`), 'x@y.z'];
    const [shape] = formats(values).formats;
    expect(shape.pattern).toBe('[a-z0-9]{1,6}@[a-z]{1,7}\\.[a-z]{1,3}');
    for (const v of values) expect(new RegExp(`^${shape.pattern}$`).test(v)).toBe(true);
  });
});

describe('identifier generation', () => {
  it('writes the counter zero-padded at every width, unique across rows', async () => {
    const { identifierGenerator } = await import('../../../src/data/synth/identifiers');
    for (const width of [1, 2, 3, 4, 5, 6, 7, 8, 10]) {
      const column = {
        name: 'id',
        type: 'identifier' as const,
        missing: 0,
        missingRate: 0,
        identifier: {
          kind: 'string' as const,
          distinctRatio: 1,
          length: { min: width + 2, max: width + 2, mean: width + 2 },
          formats: [
            {
              pattern: '',
              share: 1,
              chunks: [
                { kind: 'literal' as const, text: 'X-' },
                { kind: 'class' as const, charset: 'digit' as const, min: width, max: width },
              ],
            },
          ],
          otherShare: 0,
          sequential: false,
        },
      };
      const next = identifierGenerator(column, createRandom(width));
      const rows = Math.min(10 ** width, 5000);
      const values = Array.from({ length: rows }, (_, r) => String(next(r)));
      for (const v of values) expect(v).toMatch(new RegExp(`^X-\\d{${width}}$`));
      expect(new Set(values).size).toBe(rows);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { createRandom } from '../../../src/data/profile/random';
import type { ColumnOf, FormatChunk } from '../../../src/data/profile/schema';
import { identifierCodec, identifierGenerator, identifierParts } from '../../../src/data/synth/identifiers';

function column(chunks: FormatChunk[], length: number): ColumnOf<'identifier'> {
  return {
    name: 'id',
    missing: 0,
    missingRate: 0,
    type: 'identifier',
    identifier: {
      kind: 'string',
      distinctRatio: 1,
      length: { min: length, max: length, mean: length },
      formats: [{ pattern: 'p', share: 1, chunks }],
      otherShare: 0,
    },
  } as unknown as ColumnOf<'identifier'>;
}

describe('identifiers in the source format', () => {
  it('stay unique without a digit chunk: the class chunk carries the counter in its own alphabet', () => {
    const gen = identifierGenerator(
      column(
        [
          { kind: 'literal', text: 'txn_' },
          { kind: 'class', charset: 'lowernum', min: 16, max: 16 },
        ],
        20,
      ),
      createRandom(1),
    );
    const ids = Array.from({ length: 200_000 }, (_, i) => String(gen(i)));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids.slice(0, 1000)) expect(id).toMatch(/^txn_[a-z0-9]{16}$/);
  });

  it('stay unique with a digit chunk, and follow the format', () => {
    const gen = identifierGenerator(
      column(
        [
          { kind: 'literal', text: 'cus_' },
          { kind: 'class', charset: 'digit', min: 8, max: 8 },
        ],
        12,
      ),
      createRandom(2),
    );
    const ids = Array.from({ length: 100_000 }, (_, i) => String(gen(i)));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toMatch(/^cus_\d{8}$/);
  });

  it('are the same for the same seed and differ across seeds', () => {
    const chunks: FormatChunk[] = [{ kind: 'class', charset: 'alnum', min: 12, max: 12 }];
    const a = identifierGenerator(column(chunks, 12), createRandom(5));
    const b = identifierGenerator(column(chunks, 12), createRandom(5));
    const c = identifierGenerator(column(chunks, 12), createRandom(6));
    expect([0, 1, 2].map(a)).toEqual([0, 1, 2].map(b));
    expect([0, 1, 2].map(a)).not.toEqual([0, 1, 2].map(c));
  });
});

describe('identifier parts as bytes', () => {
  const formats: Array<[string, FormatChunk[]]> = [
    [
      'digits in the middle',
      [
        { kind: 'literal', text: 'acct-' },
        { kind: 'class', charset: 'digit', min: 6, max: 6 },
        { kind: 'literal', text: '-x' },
        { kind: 'class', charset: 'upper', min: 1, max: 3 },
      ],
    ],
    ['counter in its own alphabet', [{ kind: 'class', charset: 'HEX', min: 12, max: 12 }]],
    [
      'e-mail shaped',
      [
        { kind: 'class', charset: 'lower', min: 2, max: 6 },
        { kind: 'literal', text: '.' },
        { kind: 'class', charset: 'digit', min: 3, max: 5 },
        { kind: 'literal', text: '@' },
        { kind: 'class', charset: 'lower', min: 4, max: 8 },
        { kind: 'literal', text: '.com' },
      ],
    ],
    ['literals only', [{ kind: 'literal', text: 'same' }]],
  ];

  it.each(formats)('writes the bytes of its text (%s)', (_, chunks) => {
    const codec = identifierCodec(column(chunks, 12), createRandom(3));
    expect(codec.write).toBeDefined();
    const parts = identifierParts(500);
    const out = Buffer.alloc(500 * codec.maxBytes);
    let p = 0;
    const texts: string[] = [];
    for (let slot = 0; slot < 500; slot++) {
      codec.draw(1000 + slot, parts, slot);
      const start = p;
      p = codec.write!(parts, slot, out, p);
      expect(p - start).toBeLessThanOrEqual(codec.maxBytes);
      texts.push(out.toString('latin1', start, p));
    }
    expect(texts).toEqual(Array.from({ length: 500 }, (_, slot) => codec.text(parts, slot)));
  });

  it('draws what the generator draws', () => {
    const chunks = formats[2][1];
    const gen = identifierGenerator(column(chunks, 12), createRandom(9));
    const codec = identifierCodec(column(chunks, 12), createRandom(9));
    const parts = identifierParts(1);
    for (let row = 0; row < 200; row++) {
      codec.draw(row, parts, 0);
      expect(codec.text(parts, 0)).toBe(gen(row));
    }
  });

  it('leaves formats that would need CSV quoting to the text path', () => {
    for (const text of ['a,b', 'say "x"', 'né']) {
      const codec = identifierCodec(
        column(
          [
            { kind: 'literal', text },
            { kind: 'class', charset: 'digit', min: 4, max: 4 },
          ],
          8,
        ),
        createRandom(1),
      );
      expect(codec.write).toBeUndefined();
      const parts = identifierParts(1);
      codec.draw(7, parts, 0);
      expect(codec.text(parts, 0)).toMatch(new RegExp(`^${text}\\d{4}$`));
    }
  });
});

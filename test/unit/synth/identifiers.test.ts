import { describe, expect, it } from 'vitest';
import { createRandom } from '../../../src/data/profile/random';
import type { ColumnOf, FormatChunk } from '../../../src/data/profile/schema';
import { identifierGenerator } from '../../../src/data/synth/identifiers';

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

// Free text shaped like the source's (length distribution) but made of a fixed, neutral vocabulary:
// the profile holds no words of the source, so none can come back out. Texts are drawn into a pool
// once per run (lengths from the profile's length percentiles) and picked from it per row.

import type { Random } from '../profile/random';
import type { ColumnOf } from '../profile/schema';

const VOCABULARY = (
  'account amount approved balance branch card charge check client code confirm customer daily data ' +
  'delivery deposit detail device email error event fee follow form fund issue item limit local ' +
  'merchant message method monthly network note number online order paid payment pending period ' +
  'place plan point price process purchase record refund region report request review risk route ' +
  'sale service session status store support system terminal ticket time total transfer update user ' +
  'value verify visit wallet week'
).split(' ');

const POOL_BITS = 14;

function text(percentiles: number[], random: Random): string {
  const h = random.next() * 100;
  const i = Math.min(99, Math.floor(h));
  const target = Math.max(1, Math.round(percentiles[i] + (h - i) * (percentiles[i + 1] - percentiles[i])));
  let out = '';
  while (out.length < target) {
    const word = VOCABULARY[random.int(VOCABULARY.length)];
    out = out.length === 0 ? word[0].toUpperCase() + word.slice(1) : `${out} ${word}`;
  }
  return out.slice(0, target).trimEnd();
}

/** The run's pool of texts, and a draw of one of them (its index) per row. */
export function textPool(column: ColumnOf<'free-text'>, random: Random): { pool: string[]; pick: () => number } {
  const percentiles = column.text.length.percentiles;
  const pool = Array.from({ length: 1 << POOL_BITS }, () => text(percentiles, random));
  const size = pool.length;
  return { pool, pick: () => Math.floor(random.fast() * size) };
}

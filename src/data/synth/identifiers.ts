// Identifiers in the source's format, never the source's values: a format is chosen by its share,
// literal chunks are copied, character-class chunks drawn at random — except one chunk per value
// (the widest digit chunk, else the tail of the widest character-class chunk), which carries a
// scrambled row counter so that ids stay unique (up to |alphabet|^width rows).
//
// The random chunks come from pools drawn once per run from the seeded stream (POOL_SIZE strings,
// with lengths spread over each chunk's range): one pick per value instead of one draw per
// character is most of what makes synthesis fast. Uniqueness never depends on the pools.

import type { Random } from '../profile/random';
import type { ColumnOf, FormatChunk } from '../profile/schema';

const CHARSETS: Record<Extract<FormatChunk, { kind: 'class' }>['charset'], string> = {
  digit: '0123456789',
  lower: 'abcdefghijklmnopqrstuvwxyz',
  upper: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  alpha: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ',
  hex: '0123456789abcdef',
  HEX: '0123456789ABCDEF',
  lowernum: 'abcdefghijklmnopqrstuvwxyz0123456789',
  uppernum: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  alnum: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
};

/** A prime stride: row i maps to (i * STRIDE + offset) mod 10^width, a permutation for widths ≥ 1. */
const STRIDE = 7919;
const POOL_BITS = 12;
const POOL_SIZE = 1 << POOL_BITS;

/** "000" … "999": digits are written three at a time. */
const TRIPLES = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

function randomString(charset: string, min: number, max: number, random: Random): string {
  const len = min + random.int(max - min + 1);
  let out = '';
  for (let i = 0; i < len; i++) out += charset[random.int(charset.length)];
  return out;
}

/** v (0 ≤ v < 10^width) zero-padded to `width` digits. */
function digits(v: number, width: number): string {
  let out = '';
  let rest = v;
  let left = width;
  while (left >= 3) {
    out = TRIPLES[rest % 1000] + out;
    rest = Math.floor(rest / 1000);
    left -= 3;
  }
  if (left > 0) out = TRIPLES[rest % 1000].slice(3 - left) + out;
  return out;
}

/** v (0 ≤ v < |alphabet|^width) in base |alphabet|, zero-padded to `width` characters. */
function inAlphabet(v: number, width: number, alphabet: string): string {
  let out = '';
  let rest = v;
  for (let i = 0; i < width; i++) {
    out = alphabet[rest % alphabet.length] + out;
    rest = Math.floor(rest / alphabet.length);
  }
  return out;
}

/**
 * One format as a function of the row. The chunks before and after the counter each become one
 * pooled segment — literals and random chunks concatenated once, at pool-building time — so a
 * value costs two pool picks and the counter's digits, however many chunks the format has.
 */
function compileFormat(source: FormatChunk[], offset: number, random: Random): (row: number) => string {
  let chunks = source;
  // The widest digit chunk (the last one on ties) carries the counter.
  let counterAt = -1;
  chunks.forEach((c, i) => {
    if (
      c.kind === 'class' &&
      c.charset === 'digit' &&
      (counterAt < 0 || c.max >= (chunks[counterAt] as { max: number }).max)
    )
      counterAt = i;
  });
  let alphabet = CHARSETS.digit;
  if (counterAt < 0) {
    // No digit chunk (e.g. txn_[a-z0-9]{16}): the widest character-class chunk carries the counter
    // in its own alphabet, in its last k characters — enough for 2^31 distinct values, or as many
    // as its shortest length allows.
    let widest = -1;
    chunks.forEach((c, i) => {
      if (c.kind === 'class' && (widest < 0 || c.max >= (chunks[widest] as { max: number }).max)) widest = i;
    });
    const chunk = widest >= 0 ? (chunks[widest] as Extract<FormatChunk, { kind: 'class' }>) : undefined;
    if (chunk) {
      const charset = CHARSETS[chunk.charset];
      const k = Math.min(chunk.min, Math.ceil((31 * Math.LN2) / Math.log(charset.length)));
      if (k >= 1) {
        const counter: FormatChunk = { kind: 'class', charset: chunk.charset, min: k, max: k };
        const head: FormatChunk[] = chunk.max > k ? [{ ...chunk, min: chunk.min - k, max: chunk.max - k }] : [];
        chunks = [...chunks.slice(0, widest), ...head, counter, ...chunks.slice(widest + 1)];
        counterAt = widest + head.length;
        alphabet = charset;
      }
    }
  }
  const segment = (part: FormatChunk[]): string[] => {
    if (part.every((c) => c.kind === 'literal')) return [part.map((c) => (c as { text: string }).text).join('')];
    return Array.from({ length: POOL_SIZE }, () =>
      part
        .map((c) => (c.kind === 'literal' ? c.text : randomString(CHARSETS[c.charset], c.min, c.max, random)))
        .join(''),
    );
  };
  const before = segment(counterAt < 0 ? chunks : chunks.slice(0, counterAt));
  const after = segment(counterAt < 0 ? [] : chunks.slice(counterAt + 1));
  const mask = POOL_SIZE - 1;
  const pick = (pool: string[]): string =>
    pool.length === 1 ? pool[0] : pool[Math.floor(random.fast() * POOL_SIZE) & mask];
  if (counterAt < 0) return () => pick(before);
  const width = (chunks[counterAt] as { max: number }).max;
  const modulus = alphabet.length ** width;
  const digitsOf = alphabet === CHARSETS.digit ? digits : (v: number, w: number) => inAlphabet(v, w, alphabet);
  if (alphabet === CHARSETS.digit && after.length === 1 && before.length === 1) {
    const [prefix] = before;
    const [suffix] = after;
    if (width >= 4 && width <= 7 && suffix === '') {
      // `txn_` + six digits: the prefix and the leading digits come from one table, the last
      // three from another — a single concatenation per value.
      const heads = Array.from({ length: 10 ** (width - 3) }, (_, h) => prefix + digits(h, width - 3));
      return (row) => {
        const v = (row * STRIDE + offset) % modulus;
        const low = v % 1000;
        return heads[(v - low) / 1000] + TRIPLES[low];
      };
    }
    return (row) => prefix + digitsOf((row * STRIDE + offset) % modulus, width) + suffix;
  }
  return (row) => pick(before) + digitsOf((row * STRIDE + offset) % modulus, width) + pick(after);
}

/** A function from the row number (0-based) to that row's identifier. */
export function identifierGenerator(column: ColumnOf<'identifier'>, random: Random): (row: number) => string | number {
  const id = column.identifier;
  if (id.kind === 'integer') {
    if (id.sequential) return (row) => row + 1;
    const low = 10 ** Math.max(0, id.length.min - 1);
    const range = Math.max(1, 10 ** id.length.max - low);
    const offset = Math.floor(random.next() * range);
    return (row) => low + ((row * STRIDE + offset) % range);
  }
  const offset = Math.floor(random.next() * 1_000_000_007);
  if (id.formats.length === 0) {
    const chunk: FormatChunk = {
      kind: 'class',
      charset: 'lowernum',
      min: Math.max(1, id.length.min),
      max: Math.max(1, id.length.max),
    };
    return compileFormat([chunk], offset, random);
  }
  const formats = id.formats.map((f) => compileFormat(f.chunks, offset, random));
  if (formats.length === 1) return formats[0];
  const total = id.formats.reduce((s, f) => s + f.share, 0);
  const cumulative: number[] = [];
  let running = 0;
  for (const f of id.formats) {
    running += f.share / total;
    cumulative.push(running);
  }
  return (row) => {
    const u = random.fast();
    let i = 0;
    while (i < cumulative.length - 1 && cumulative[i] <= u) i++;
    return formats[i](row);
  };
}

// Identifiers in the source's format, never the source's values: a format is chosen by its share,
// literal chunks are copied, character-class chunks drawn at random — except one chunk per value
// (the widest digit chunk, else the tail of the widest character-class chunk), which carries a
// scrambled row counter so that ids stay unique (up to |alphabet|^width rows).
//
// The random chunks come from pools drawn once per run from the seeded stream (POOL_SIZE strings,
// with lengths spread over each chunk's range): one pick per value instead of one draw per
// character is most of what makes synthesis fast. Uniqueness never depends on the pools.

import type { Random } from '../profile/random';
import { BytePool } from './csv-sink';
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
 * A string identifier drawn as parts, kept in a batch's slots: the format, its pooled segment
 * before the counter, the counter, its pooled segment after. The text is joined only when asked
 * for (SQLite rows, label rules); a CSV gets the parts' bytes with no string in between.
 */
export interface IdentifierParts {
  format: Int32Array;
  head: Int32Array;
  /** The counter's value, -1 when the format has none. */
  counter: Float64Array;
  tail: Int32Array;
}

export function identifierParts(size: number): IdentifierParts {
  return {
    format: new Int32Array(size),
    head: new Int32Array(size),
    counter: new Float64Array(size),
    tail: new Int32Array(size),
  };
}

/**
 * One format, compiled. The chunks before and after the counter each become one pooled segment —
 * literals and random chunks concatenated once, at pool-building time — so a value costs two pool
 * picks and the counter's digits, however many chunks the format has.
 */
function compileFormat(source: FormatChunk[], offset: number, random: Random): IdentifierCodec {
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
  const pick = (pool: string[]): number => (pool.length === 1 ? 0 : Math.floor(random.fast() * POOL_SIZE) & mask);
  const width = counterAt < 0 ? 0 : (chunks[counterAt] as { max: number }).max;
  const modulus = alphabet.length ** width;
  const digitsOf = alphabet === CHARSETS.digit ? digits : (v: number, w: number) => inAlphabet(v, w, alphabet);
  const draw = (row: number, parts: IdentifierParts, slot: number): void => {
    parts.head[slot] = pick(before);
    parts.counter[slot] = counterAt < 0 ? -1 : (row * STRIDE + offset) % modulus;
    parts.tail[slot] = pick(after);
  };
  const text = (parts: IdentifierParts, slot: number): string => {
    const v = parts.counter[slot];
    return v < 0 ? before[parts.head[slot]] : before[parts.head[slot]] + digitsOf(v, width) + after[parts.tail[slot]];
  };
  // Bytes: each pool encoded once into one array (segment i at start[i] … start[i + 1]), the
  // counter's characters written from its end.
  const longest = (pool: string[]) => pool.reduce((m, x) => Math.max(m, x.length), 0);
  const maxBytes = longest(before) + width + longest(after);
  const plain = (text: string) => /^[\x20-\x7e]*$/.test(text) && !/[",]/.test(text);
  if (![...before, ...after, alphabet].every(plain)) return { draw, text, maxBytes };
  // Plain pieces: csvField leaves them as they are, so the pools' bytes are the text's.
  const head = new BytePool(before);
  const tail = new BytePool(after);
  const alphabetBytes = Buffer.from(alphabet, 'latin1');
  const base = alphabet.length;
  const write = (parts: IdentifierParts, slot: number, out: Uint8Array, p: number): number => {
    const q = head.copy(parts.head[slot], out, p);
    const v = parts.counter[slot];
    if (v < 0) return q;
    for (let k = q + width - 1, rest = v; k >= q; k--) {
      const next = Math.floor(rest / base); // not %: a call to fmod on a double
      out[k] = alphabetBytes[rest - next * base];
      rest = next;
    }
    return tail.copy(parts.tail[slot], out, q + width);
  };
  return { draw, text, write, maxBytes };
}

/**
 * A column's string identifiers as parts: `draw` fills slot `slot` for row `row` (0-based over the
 * run), `text` joins a slot, and `write` (when every value is plain ASCII that needs no quoting)
 * writes a slot's bytes at out[p], at most `maxBytes` of them, returning the position after.
 */
export interface IdentifierCodec {
  draw(row: number, parts: IdentifierParts, slot: number): void;
  text(parts: IdentifierParts, slot: number): string;
  write?: (parts: IdentifierParts, slot: number, out: Uint8Array, p: number) => number;
  maxBytes: number;
}

/** The codec of a string identifier column (kind other than integer). */
export function identifierCodec(column: ColumnOf<'identifier'>, random: Random): IdentifierCodec {
  const id = column.identifier;
  const offset = Math.floor(random.next() * 1_000_000_007);
  const sources =
    id.formats.length === 0
      ? [
          [
            {
              kind: 'class' as const,
              charset: 'lowernum' as const,
              min: Math.max(1, id.length.min),
              max: Math.max(1, id.length.max),
            },
          ],
        ]
      : id.formats.map((f) => f.chunks);
  const formats = sources.map((chunks) => compileFormat(chunks, offset, random));
  const maxBytes = formats.reduce((m, f) => Math.max(m, f.maxBytes), 0);
  const writes = formats.map((f) => f.write);
  const write = writes.every((w) => w !== undefined)
    ? (parts: IdentifierParts, slot: number, out: Uint8Array, p: number) =>
        writes[parts.format[slot]]!(parts, slot, out, p)
    : undefined;
  const text = (parts: IdentifierParts, slot: number) => formats[parts.format[slot]].text(parts, slot);
  if (formats.length === 1) {
    const [only] = formats;
    return {
      draw: (row, parts, slot) => {
        parts.format[slot] = 0;
        only.draw(row, parts, slot);
      },
      text,
      write,
      maxBytes,
    };
  }
  const total = id.formats.reduce((s, f) => s + f.share, 0);
  const cumulative: number[] = [];
  let running = 0;
  for (const f of id.formats) {
    running += f.share / total;
    cumulative.push(running);
  }
  return {
    draw: (row, parts, slot) => {
      const u = random.fast();
      let i = 0;
      while (i < cumulative.length - 1 && cumulative[i] <= u) i++;
      parts.format[slot] = i;
      formats[i].draw(row, parts, slot);
    },
    text,
    write,
    maxBytes,
  };
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
  const codec = identifierCodec(column, random);
  const parts = identifierParts(1);
  return (row) => {
    codec.draw(row, parts, 0);
    return codec.text(parts, 0);
  };
}

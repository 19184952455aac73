// CSV bytes written straight into one reused buffer: the synthesizer's values sit in typed arrays,
// and turning each cell into a string, joining the strings into lines and encoding the lines again
// was most of what writing a CSV cost (issue 15: about half of synthesis to CSV). Written by hand
// because the CSV libraries (csv-stringify, papaparse) take rows of strings — the cost removed here.
//
// Every writer produces exactly the bytes of the string path it replaces (String(v) for numbers,
// datetimeFormatter for datetimes, the CSV quoting of csvField for text), which
// test/unit/synth/csv-sink.test.ts checks value by value and file by file.

import { DATETIME_MAX_BYTES, datetimeWriter } from '../profile/datetime';

const COMMA = 44;
const QUOTE = 34;
const NEEDS_QUOTES = /[",\r\n]/;

/** `text` as a CSV field: quoted when it holds a quote, a comma or a line break. */
export function csvField(text: string): string {
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * A byte buffer that hands full chunks to `drain` (a file's write, say) and is reused. Writers ask
 * `ensure(n)` for room before they write up to n bytes at `pos`; a chunk may end mid-row.
 */
export class CsvSink {
  buf: Buffer;
  pos = 0;
  private bytes = 0;

  constructor(
    private readonly drain: (chunk: Uint8Array) => void,
    size = 1 << 16,
  ) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Bytes handed to drain so far, and buffered. */
  get written(): number {
    return this.bytes + this.pos;
  }

  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.makeRoom(n);
  }

  private makeRoom(n: number): void {
    this.flush();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
  }

  byte(b: number): void {
    if (this.pos >= this.buf.length) this.makeRoom(1);
    this.buf[this.pos++] = b;
  }

  /** Hands what is buffered to drain; the chunk is only valid during the call. */
  flush(): void {
    if (this.pos === 0) return;
    this.drain(this.buf.subarray(0, this.pos));
    this.bytes += this.pos;
    this.pos = 0;
  }
}

/** "00" … "99" as ASCII byte pairs: digits are written two at a time. */
const PAIRS = Uint8Array.from({ length: 200 }, (_, k) => 48 + (k % 2 === 0 ? Math.floor(k / 20) : (k >> 1) % 10));

/**
 * Writes the non-negative integer n (< 2^53) in decimal at out[p]; returns the position after it.
 * (No `%` here or below: on numbers V8 holds as doubles it is a call to fmod, many times a division.)
 */
function digits(out: Uint8Array, p: number, n: number): number {
  let width = 1;
  for (let bound = 10; bound <= n; bound *= 10) width++;
  let q = p + width;
  let rest = n;
  while (rest >= 100) {
    const next = Math.floor(rest / 100);
    const pair = rest - next * 100;
    rest = next;
    out[--q] = PAIRS[2 * pair + 1];
    out[--q] = PAIRS[2 * pair];
  }
  if (rest >= 10) {
    out[--q] = PAIRS[2 * rest + 1];
    out[--q] = PAIRS[2 * rest];
  } else out[--q] = 48 + rest;
  return p + width;
}

/** Writes ASCII-only `text` as it is (the caller knows it needs no quoting). */
function writeAscii(sink: CsvSink, text: string): void {
  sink.ensure(text.length);
  const out = sink.buf;
  let p = sink.pos;
  for (let k = 0; k < text.length; k++) out[p++] = text.charCodeAt(k);
  sink.pos = p;
}

/** Writes `text` as a CSV field in UTF-8, as `csvField(text)` would read. */
export function writeTextField(sink: CsvSink, text: string): void {
  const n = text.length;
  sink.ensure(n);
  const out = sink.buf;
  let p = sink.pos;
  // Plain ASCII with nothing to quote is nearly every identifier and text: copy the char codes.
  for (let k = 0; k < n; k++) {
    const c = text.charCodeAt(k);
    if (c >= 0x80 || c === QUOTE || c === COMMA || c === 10 || c === 13) {
      const field = csvField(text);
      sink.ensure(field.length * 3);
      sink.pos += sink.buf.write(field, sink.pos, 'utf8');
      return;
    }
    out[p++] = c;
  }
  sink.pos = p;
}

/** Largest |k| for which k / 10^d has at most 15 significant digits: its shortest form is then exact. */
const EXACT_DIGITS = 1e15;

/**
 * A writer of numbers rounded to `decimals` places, as String(v) writes them: up to 15 significant
 * digits the shortest round-trip form of k / 10^d is that decimal with its trailing zeros dropped
 * (no two such decimals share a double), so it is written from the integer k. Anything else
 * (more digits, exponent notation below 1e-6, no known decimals) goes through String.
 */
export function numberWriter(decimals: number | undefined): (sink: CsvSink, v: number) => void {
  if (decimals === undefined || !Number.isInteger(decimals) || decimals < 0 || decimals > 15)
    return (sink, v) => writeAscii(sink, String(v));
  const factor = 10 ** decimals;
  return (sink, v) => {
    const k = Math.round(v * factor);
    if (!(Math.abs(k) < EXACT_DIGITS) || (v !== 0 && Math.abs(v) < 1e-6) || k / factor !== v) {
      writeAscii(sink, String(v));
      return;
    }
    sink.ensure(18);
    const out = sink.buf;
    let p = sink.pos;
    let m = k;
    if (m < 0) {
      out[p++] = 45; // '-'
      m = -m;
    }
    const whole = Math.floor(m / factor);
    p = digits(out, p, whole);
    let fraction = m - whole * factor;
    if (fraction > 0) {
      let width = decimals;
      for (let tenth = Math.floor(fraction / 10); tenth * 10 === fraction; tenth = Math.floor(fraction / 10)) {
        fraction = tenth;
        width--;
      }
      out[p++] = 46; // '.'
      // The fraction's digits with its leading zeros (width of them in all, the trailing ones gone).
      const end = p + width;
      p = digits(out, p, fraction);
      if (p < end) {
        const shown = p - (end - width);
        out.copyWithin(end - shown, end - width, p);
        out.fill(48, end - width, end - shown);
        p = end;
      }
    }
    sink.pos = p;
  };
}

/** A writer of epoch milliseconds in `format`, as datetimeFormatter(format) writes them. */
export function datetimeCellWriter(format: string): (sink: CsvSink, epochMs: number) => void {
  const write = datetimeWriter(format);
  return (sink, epochMs) => {
    sink.ensure(DATETIME_MAX_BYTES);
    sink.pos = write(epochMs, sink.buf, sink.pos);
  };
}

/**
 * Texts encoded once, as CSV fields (quoted where csvField quotes), into one array: entry i is
 * bytes[start[i]] … bytes[start[i + 1]]. One array with offsets, not a buffer per entry: the
 * entries are short and copied byte by byte, and this keeps that loop on one typed array.
 */
export class BytePool {
  readonly bytes: Uint8Array;
  readonly start: Int32Array;
  /** Bytes of the longest entry. */
  readonly longest: number;

  constructor(texts: string[]) {
    const encoded = texts.map((t) => Buffer.from(csvField(t), 'utf8'));
    this.start = new Int32Array(texts.length + 1);
    encoded.forEach((b, i) => (this.start[i + 1] = this.start[i] + b.length));
    this.bytes = Buffer.concat(encoded);
    this.longest = encoded.reduce((m, b) => Math.max(m, b.length), 0);
  }

  /** Copies entry i to out[p] (room assumed); returns the position after it. */
  copy(i: number, out: Uint8Array, p: number): number {
    const bytes = this.bytes;
    let q = p;
    for (let k = this.start[i], end = this.start[i + 1]; k < end; k++) out[q++] = bytes[k];
    return q;
  }
}

/** A writer of code i of `labels` (categories, boolean tokens, a pool of texts). */
export function labelWriter(labels: string[]): (sink: CsvSink, code: number) => void {
  const pool = new BytePool(labels);
  const longest = pool.longest;
  return (sink, code) => {
    sink.ensure(longest);
    sink.pos = pool.copy(code, sink.buf, sink.pos);
  };
}

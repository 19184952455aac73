// Streaming CSV (RFC 4180): a header row, fields separated by commas, quoted with double quotes
// ("" inside quotes is a quote; quotes may hold commas and line breaks), records ended by LF, CRLF
// or CR. The reader holds one chunk and the record being read, never the file, so memory stays flat
// whatever the file's size. Errors name the file and the line where the bad record starts.

import fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { ConfigError } from '../../validation/errors';

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

const CHUNK_BYTES = 1 << 20;
/** A record longer than this is almost certainly an unbalanced quote swallowing the rest of the file. */
export const MAX_RECORD_CHARS = 16 << 20;

/** A CSV file that cannot be read as a table: names the file and the line. */
export class MalformedCsvError extends ConfigError {
  override name = 'MalformedCsvError';
  constructor(
    file: string,
    readonly line: number,
    message: string,
  ) {
    super(file, [{ path: '', message: `line ${line}: ${message}` }]);
  }
}

export interface CsvRecord {
  fields: string[];
  /** 1-based line on which the record starts. */
  line: number;
}

const INCOMPLETE = -1;

/**
 * Reads `file` record by record. The first record is the header (see `header`); `records()` yields
 * the data records, each checked to have as many fields as the header. Blank lines are skipped.
 */
export class CsvReader {
  readonly file: string;
  readonly header: string[];
  #fd: number | undefined;
  #decoder = new StringDecoder('utf8');
  #chunk: Buffer;
  #text = '';
  #pos = 0;
  #eof = false;
  #line = 1;
  #fields: string[] = [];
  /** Line breaks inside quoted fields of the record being parsed. */
  #innerBreaks = 0;

  /** `chunkBytes` is the read size (tests use tiny ones to split records at every position). */
  constructor(file: string, opts: { chunkBytes?: number } = {}) {
    this.file = file;
    this.#chunk = Buffer.allocUnsafe(opts.chunkBytes ?? CHUNK_BYTES);
    try {
      this.#fd = fs.openSync(file, 'r');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ConfigError(file, [
        {
          path: '',
          message: code === 'ENOENT' ? 'source file not found' : `cannot read the source (${code ?? String(error)})`,
        },
      ]);
    }
    try {
      this.#fill();
      if (this.#text.charCodeAt(0) === 0xfeff) this.#pos = 1; // UTF-8 byte order mark
      const header = this.#next();
      if (!header) throw new MalformedCsvError(file, 1, 'the file is empty; expected a header row naming the columns');
      this.header = header.fields;
      const seen = new Set<string>();
      for (const [i, name] of this.header.entries()) {
        if (name.trim() === '')
          throw new MalformedCsvError(file, 1, `header field ${i + 1} is empty; every column needs a name`);
        if (seen.has(name)) throw new MalformedCsvError(file, 1, `column "${name}" appears twice in the header`);
        seen.add(name);
      }
    } catch (error) {
      this.close();
      throw error;
    }
  }

  *records(): Generator<CsvRecord> {
    try {
      for (let record = this.#next(); record; record = this.#next()) {
        if (record.fields.length !== this.header.length) {
          throw new MalformedCsvError(
            this.file,
            record.line,
            `expected ${this.header.length} fields (as in the header), got ${record.fields.length}`,
          );
        }
        yield record;
      }
    } finally {
      this.close();
    }
  }

  close(): void {
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    this.#fd = undefined;
  }

  /** Appends the next chunk of the file to the unparsed text; sets #eof at the end. */
  #fill(): void {
    if (this.#eof || this.#fd === undefined) return;
    const n = fs.readSync(this.#fd, this.#chunk, 0, this.#chunk.length, null);
    const rest = this.#pos < this.#text.length ? this.#text.slice(this.#pos) : '';
    this.#pos = 0;
    if (n === 0) {
      this.#eof = true;
      this.#text = rest + this.#decoder.end();
    } else {
      this.#text = rest + this.#decoder.write(this.#chunk.subarray(0, n));
    }
  }

  #next(): CsvRecord | undefined {
    for (;;) {
      // Blank lines between records carry no data.
      while (this.#pos < this.#text.length) {
        const c = this.#text.charCodeAt(this.#pos);
        if (c !== LF && c !== CR) break;
        if (c === CR && this.#pos + 1 >= this.#text.length && !this.#eof) break; // maybe CRLF split across chunks
        this.#pos += c === CR && this.#text.charCodeAt(this.#pos + 1) === LF ? 2 : 1;
        this.#line++;
      }
      if (this.#pos >= this.#text.length) {
        if (this.#eof) return undefined;
        this.#fill();
        continue;
      }
      const start = this.#pos;
      this.#fields = [];
      this.#innerBreaks = 0;
      const end = this.#parseRecord(start);
      if (end === INCOMPLETE) {
        if (this.#text.length - start > MAX_RECORD_CHARS) {
          throw new MalformedCsvError(
            this.file,
            this.#line,
            `a record longer than ${MAX_RECORD_CHARS >> 20} MiB starts here: probably an unbalanced quote`,
          );
        }
        this.#fill();
        continue;
      }
      const record = { fields: this.#fields, line: this.#line };
      this.#line += 1 + this.#innerBreaks;
      this.#pos = end;
      return record;
    }
  }

  /** Parses one record from `i`; returns the index after its terminator, or INCOMPLETE. */
  #parseRecord(i: number): number {
    const text = this.#text;
    const n = text.length;
    const eof = this.#eof;
    const fields = this.#fields;
    for (;;) {
      if (i >= n) {
        if (!eof) return INCOMPLETE;
        fields.push('');
        return n;
      }
      let c: number;
      if (text.charCodeAt(i) === QUOTE) {
        let value = '';
        let segment = i + 1;
        for (;;) {
          const q = text.indexOf('"', segment);
          if (q < 0 || (q + 1 >= n && !eof)) {
            if (!eof) return INCOMPLETE;
            throw new MalformedCsvError(
              this.file,
              this.#line,
              'a quoted field is never closed (unbalanced double quote)',
            );
          }
          if (text.charCodeAt(q + 1) === QUOTE) {
            value += text.slice(segment, q + 1);
            segment = q + 2;
            continue;
          }
          value += text.slice(segment, q);
          i = q + 1;
          break;
        }
        this.#innerBreaks += countBreaks(value);
        fields.push(value);
        if (i >= n) return n; // eof right after the closing quote
        c = text.charCodeAt(i);
        if (c !== COMMA && c !== LF && c !== CR) {
          throw new MalformedCsvError(
            this.file,
            this.#line + this.#innerBreaks,
            `unexpected text after the closing quote of field ${fields.length}; a quote inside a quoted field is written ""`,
          );
        }
      } else {
        let j = i;
        while (j < n) {
          c = text.charCodeAt(j);
          if (c === COMMA || c === LF || c === CR) break;
          j++;
        }
        if (j >= n) {
          if (!eof) return INCOMPLETE;
          fields.push(text.slice(i, j));
          return n;
        }
        fields.push(text.slice(i, j));
        i = j;
        c = text.charCodeAt(i);
      }
      if (c === COMMA) {
        i++;
        continue;
      }
      if (c === LF) return i + 1;
      // CR: CRLF, or a lone CR ending the record.
      if (i + 1 >= n && !eof) return INCOMPLETE;
      return text.charCodeAt(i + 1) === LF ? i + 2 : i + 1;
    }
  }
}

function countBreaks(value: string): number {
  let count = 0;
  for (let k = value.indexOf('\n'); k >= 0; k = value.indexOf('\n', k + 1)) count++;
  if (count === 0) for (let k = value.indexOf('\r'); k >= 0; k = value.indexOf('\r', k + 1)) count++;
  return count;
}

const NEEDS_QUOTES = /[",\r\n]/;

/** One field of CSV output: quoted only when it must be. */
export function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Buffered CSV output to an open file descriptor. */
export class CsvWriter {
  #parts: string[] = [];
  #size = 0;

  constructor(private readonly fd: number) {}

  writeRow(fields: readonly string[]): void {
    let line = '';
    for (let k = 0; k < fields.length; k++) line += (k === 0 ? '' : ',') + csvField(fields[k]);
    line += '\n';
    this.#parts.push(line);
    this.#size += line.length;
    if (this.#size >= CHUNK_BYTES) this.flush();
  }

  flush(): void {
    if (this.#parts.length === 0) return;
    fs.writeSync(this.fd, this.#parts.join(''));
    this.#parts = [];
    this.#size = 0;
  }
}

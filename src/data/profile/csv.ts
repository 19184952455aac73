// An incremental RFC 4180 CSV parser: feed it chunks as they are read, get records out, never hold
// the file. Quoted fields may contain commas, doubled quotes and line breaks; CRLF, LF and lone CR
// all end a record; blank lines are skipped. Anything else that is not CSV is an error naming the
// file, the line and the column, because guessing at a malformed row would profile the wrong data.

import { DataInputError } from './errors';

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

const enum State {
  FieldStart,
  Unquoted,
  Quoted,
  /** Just read a quote inside a quoted field: either the closing quote or the first of a pair. */
  QuoteInQuoted,
}

export type RecordHandler = (fields: string[], line: number) => void;

export class CsvParser {
  private state = State.FieldStart;
  private field = '';
  private fields: string[] = [];
  /** Line (1-based) where the current record started, and the line being read now. */
  private recordLine = 1;
  private line = 1;
  private skipLf = false;
  private started = false;
  /** Whether the current record had a quoted field (so `""` on a line is a record, not a blank line). */
  private quotedSeen = false;
  private quotedEndsInCr = false;
  /** Column names once the header is read, to name the column in messages. */
  header: string[] | undefined;

  constructor(private readonly file: string) {}

  private columnName(index: number): string {
    const name = this.header?.[index];
    return name === undefined ? `field ${index + 1}` : `column ${JSON.stringify(name)}`;
  }

  private fail(line: number, fieldIndex: number, message: string): never {
    throw new DataInputError(this.file, `line ${line}, ${this.columnName(fieldIndex)}`, message);
  }

  private endRecord(onRecord: RecordHandler): void {
    this.fields.push(this.field);
    this.field = '';
    const fields = this.fields;
    this.fields = [];
    // A blank line is one empty unquoted field: skip it rather than call it a one-field record.
    if (!(fields.length === 1 && fields[0] === '' && !this.quotedSeen)) onRecord(fields, this.recordLine);
    this.quotedSeen = false;
  }

  feed(chunk: string, onRecord: RecordHandler): void {
    let s = chunk;
    if (!this.started) {
      this.started = true;
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1); // byte order mark
    }
    const n = s.length;
    let i = 0;
    while (i < n) {
      if (this.skipLf) {
        this.skipLf = false;
        if (s.charCodeAt(i) === LF) {
          i++;
          continue;
        }
      }
      switch (this.state) {
        case State.FieldStart: {
          if (this.fields.length === 0) this.recordLine = this.line;
          const c = s.charCodeAt(i);
          if (c === QUOTE) {
            this.state = State.Quoted;
            this.quotedSeen = true;
            i++;
            continue;
          }
          this.state = State.Unquoted;
          continue;
        }
        case State.Unquoted: {
          let j = i;
          let c = 0;
          while (j < n) {
            c = s.charCodeAt(j);
            if (c === COMMA || c === LF || c === CR || c === QUOTE) break;
            j++;
          }
          if (j > i) this.field += s.slice(i, j);
          i = j;
          if (j === n) continue;
          if (c === QUOTE) {
            this.fail(
              this.line,
              this.fields.length,
              'a quote inside an unquoted field; quote the whole field and double the quotes inside it',
            );
          }
          i++;
          if (c === COMMA) {
            this.fields.push(this.field);
            this.field = '';
            this.state = State.FieldStart;
          } else {
            this.endRecord(onRecord);
            this.state = State.FieldStart;
            this.line++;
            this.skipLf = c === CR;
          }
          continue;
        }
        case State.Quoted: {
          const j = s.indexOf('"', i);
          const end = j < 0 ? n : j;
          const piece = s.slice(i, end);
          this.field += piece;
          this.countLineBreaks(piece);
          if (j < 0) {
            i = n;
            continue;
          }
          this.quotedEndsInCr = false;
          i = j + 1;
          this.state = State.QuoteInQuoted;
          continue;
        }
        case State.QuoteInQuoted: {
          const c = s.charCodeAt(i);
          if (c === QUOTE) {
            this.field += '"';
            this.state = State.Quoted;
            i++;
          } else if (c === COMMA) {
            this.fields.push(this.field);
            this.field = '';
            this.state = State.FieldStart;
            i++;
          } else if (c === LF || c === CR) {
            this.endRecord(onRecord);
            this.state = State.FieldStart;
            this.line++;
            this.skipLf = c === CR;
            i++;
          } else {
            this.fail(
              this.line,
              this.fields.length,
              `unexpected ${JSON.stringify(s[i])} after the closing quote of a quoted field`,
            );
          }
          continue;
        }
      }
    }
  }

  /** Call once after the last chunk. */
  end(onRecord: RecordHandler): void {
    if (this.state === State.Quoted) {
      this.fail(this.recordLine, this.fields.length, 'a quoted field is never closed (missing closing quote)');
    }
    if (this.state !== State.FieldStart || this.fields.length > 0 || this.field !== '') this.endRecord(onRecord);
    this.state = State.FieldStart;
  }

  /** Line breaks inside a quoted field still move the line count (CRLF split across chunks counts once). */
  private countLineBreaks(text: string): void {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === LF) {
        if (!(i === 0 && this.quotedEndsInCr)) this.line++;
      } else if (c === CR) {
        this.line++;
        if (text.charCodeAt(i + 1) === LF) i++;
      }
    }
    if (text.length > 0) this.quotedEndsInCr = text.charCodeAt(text.length - 1) === CR;
  }
}

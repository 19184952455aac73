// A push parser for CSV (RFC 4180): comma-separated, fields optionally in double quotes, `""` for
// a quote inside one, quoted fields may span lines, CRLF or LF line ends, an optional UTF-8 BOM.
// Chunks of any size go in, whole records come out, so a file is read with constant memory. A
// quote inside an unquoted field is kept as a character (as most CSV writers produce it); text
// after a closing quote, or a quoted field still open at the end, is an error with its line.

/** A malformed CSV record; `line` is 1-based. */
export class CsvError extends Error {
  override name = 'CsvError';

  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

const enum State {
  FieldStart,
  Unquoted,
  Quoted,
  /** In a quoted field, right after a `"`: either `""` (a quote) or the closing quote. */
  QuoteSeen,
}

export class CsvRecordReader {
  private state = State.FieldStart;
  private field = '';
  private record: string[] = [];
  private line = 1;
  private recordLine = 1;
  private quoteLine = 1;
  private started = false;
  /** The previous chunk ended with `\r`: a `\n` first in the next one belongs to it. */
  private skipLf = false;

  constructor(private readonly onRecord: (record: string[], line: number) => void) {}

  push(input: string): void {
    let chunk = input;
    if (!this.started) {
      this.started = true;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    const n = chunk.length;
    let i = 0;
    // Next positions of the characters that end an unquoted field, found with indexOf and
    // reused until passed (-1: none left in this chunk).
    let comma = -2;
    let lf = -2;
    let cr = -2;
    while (i < n) {
      if (this.skipLf) {
        this.skipLf = false;
        if (chunk.charCodeAt(i) === 0x0a) {
          i++;
          continue;
        }
      }
      switch (this.state) {
        case State.FieldStart:
          if (chunk.charCodeAt(i) === 0x22) {
            this.state = State.Quoted;
            this.quoteLine = this.line;
            i++;
            break;
          }
          this.state = State.Unquoted;
        // falls through
        case State.Unquoted: {
          if (comma !== -1 && comma < i) comma = chunk.indexOf(',', i);
          if (lf !== -1 && lf < i) lf = chunk.indexOf('\n', i);
          if (cr !== -1 && cr < i) cr = chunk.indexOf('\r', i);
          let end = n;
          if (comma !== -1 && comma < end) end = comma;
          if (lf !== -1 && lf < end) end = lf;
          if (cr !== -1 && cr < end) end = cr;
          this.field += chunk.slice(i, end);
          if (end === n) {
            i = n;
            break;
          }
          this.delimiter(chunk.charCodeAt(end));
          i = end + 1;
          break;
        }
        case State.Quoted: {
          const quote = chunk.indexOf('"', i);
          const end = quote === -1 ? n : quote;
          for (let nl = chunk.indexOf('\n', i); nl !== -1 && nl < end; nl = chunk.indexOf('\n', nl + 1)) this.line++;
          this.field += chunk.slice(i, end);
          if (quote !== -1) this.state = State.QuoteSeen;
          i = end + (quote === -1 ? 0 : 1);
          break;
        }
        case State.QuoteSeen: {
          const c = chunk.charCodeAt(i);
          if (c === 0x22) {
            this.field += '"';
            this.state = State.Quoted;
          } else if (c === 0x2c || c === 0x0a || c === 0x0d) {
            this.delimiter(c);
          } else {
            throw new CsvError(
              this.line,
              `unexpected ${JSON.stringify(chunk[i])} after the closing quote of field ${this.record.length + 1}`,
            );
          }
          i++;
          break;
        }
      }
    }
  }

  /** Flushes the last record; throws if a quoted field is still open. */
  end(): void {
    if (this.state === State.Quoted)
      throw new CsvError(this.quoteLine, 'a quoted field is not closed before the end of the file');
    if (this.state !== State.FieldStart || this.record.length > 0 || this.field !== '') {
      this.endField();
      this.endRecord();
    }
  }

  private delimiter(c: number): void {
    this.endField();
    if (c === 0x2c) return;
    this.endRecord();
    this.line++;
    if (c === 0x0d) this.skipLf = true;
  }

  private endField(): void {
    this.record.push(this.field);
    this.field = '';
    this.state = State.FieldStart;
  }

  private endRecord(): void {
    const record = this.record;
    this.record = [];
    this.onRecord(record, this.recordLine);
    this.recordLine = this.line + 1;
  }
}

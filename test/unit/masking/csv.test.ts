import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { csvField, CsvReader, CsvWriter, MalformedCsvError } from '../../../src/data/masking/csv';
import { ConfigError } from '../../../src/validation/errors';
import { MASKING_FIXTURES, tempDir } from '../../fixtures/masking/helpers';

const root = tempDir('csv');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

let n = 0;
function csv(text: string): string {
  const file = path.join(root, `f${n++}.csv`);
  fs.writeFileSync(file, text);
  return file;
}

function read(file: string, chunkBytes?: number): { header: string[]; rows: string[][]; lines: number[] } {
  const reader = new CsvReader(file, { chunkBytes });
  const records = [...reader.records()];
  return { header: reader.header, rows: records.map((r) => r.fields), lines: records.map((r) => r.line) };
}

function malformed(file: string): MalformedCsvError {
  try {
    read(file);
  } catch (error) {
    expect(error).toBeInstanceOf(MalformedCsvError);
    expect(error).toBeInstanceOf(ConfigError);
    return error as MalformedCsvError;
  }
  throw new Error('expected a MalformedCsvError');
}

describe('CsvReader', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks, and counts lines through them', () => {
    const { header, rows, lines } = read(path.join(MASKING_FIXTURES, 'customers.csv'));
    expect(header[0]).toBe('id');
    expect(rows).toHaveLength(5);
    expect(rows[0][8]).toBe('Boston, MA');
    expect(rows[0][9]).toBe('prefers "email", not phone');
    expect(rows[2][9]).toBe('multi\nline note');
    expect(lines).toEqual([2, 3, 4, 6, 7]);
  });

  it('accepts CRLF, lone CR, a byte order mark, a missing final newline, empty fields, and skips blank lines', () => {
    expect(read(csv('\ufeffa,b\r\n1,\r\n\r\n,2\r3,"4"')).rows).toEqual([
      ['1', ''],
      ['', '2'],
      ['3', '4'],
    ]);
    expect(read(csv('a,b\n1,2\n')).rows).toEqual([['1', '2']]);
    expect(read(csv('a,b\n"",""\n')).rows).toEqual([['', '']]);
  });

  it('round-trips what CsvWriter writes, across chunk boundaries (multi-byte characters included)', () => {
    const pieces = [
      'plain',
      'with,comma',
      'with "quotes"',
      'line\nbreak',
      'crlf\r\nbreak',
      'ünïcødé ✓ 𝄞',
      '',
      ' spaced ',
    ];
    const expected: string[][] = [];
    const file = path.join(root, 'roundtrip.csv');
    const fd = fs.openSync(file, 'w');
    const writer = new CsvWriter(fd);
    writer.writeRow(['a', 'b', 'c']);
    for (let i = 0; i < 60_000; i++) {
      const row = [String(i), pieces[i % pieces.length], pieces[(i * 7) % pieces.length] + 'x'.repeat(i % 13)];
      expected.push(row);
      writer.writeRow(row);
    }
    writer.flush();
    fs.closeSync(fd);
    expect(fs.statSync(file).size).toBeGreaterThan(2 << 20); // several 1 MiB chunks
    expect(read(file).rows).toEqual(expected);
  });

  it('gives the same records and lines whatever the read size, so no split point breaks a record', () => {
    const file = path.join(MASKING_FIXTURES, 'customers.csv');
    const whole = read(file);
    for (const chunkBytes of [1, 2, 3, 5, 7, 16, 64, 333]) expect(read(file, chunkBytes)).toEqual(whole);
    const tricky = csv('a,b\r\n"x\r\ny","é""𝄞"\r\n\r\n3,\r4,"5"');
    const expected = read(tricky);
    expect(expected.rows).toEqual([
      ['x\r\ny', 'é"𝄞'],
      ['3', ''],
      ['4', '5'],
    ]);
    for (let chunkBytes = 1; chunkBytes < 12; chunkBytes++) expect(read(tricky, chunkBytes)).toEqual(expected);
  });

  it('quotes a field only when it must', () => {
    expect(csvField('abc')).toBe('abc');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('a\nb')).toBe('"a\nb"');
  });
});

describe('malformed CSV: the file and the line', () => {
  it('an unbalanced quote', () => {
    const file = path.join(MASKING_FIXTURES, 'unbalanced-quote.csv');
    const error = malformed(file);
    expect(error.line).toBe(2);
    expect(error.message).toBe(`${file}: line 2: a quoted field is never closed (unbalanced double quote)`);
  });

  it('a wrong field count', () => {
    const file = path.join(MASKING_FIXTURES, 'wrong-field-count.csv');
    expect(malformed(file).message).toBe(`${file}: line 4: expected 3 fields (as in the header), got 4`);
  });

  it('text after a closing quote, counted after earlier multi-line fields', () => {
    expect(malformed(path.join(MASKING_FIXTURES, 'text-after-quote.csv')).message).toMatch(
      /line 2: unexpected text after the closing quote of field 2/,
    );
    expect(malformed(csv('a,b\n"x\ny",1\n"z"q,2\n')).line).toBe(4);
  });

  it('an empty file, an empty or duplicate header name', () => {
    expect(malformed(path.join(MASKING_FIXTURES, 'empty.csv')).message).toMatch(
      /line 1: the file is empty; expected a header row/,
    );
    expect(malformed(csv('a,,c\n1,2,3\n')).message).toMatch(/line 1: header field 2 is empty/);
    expect(malformed(csv('a,b,a\n1,2,3\n')).message).toMatch(/line 1: column "a" appears twice/);
  });

  it('a missing file', () => {
    expect(() => new CsvReader(path.join(root, 'missing.csv'))).toThrow(/missing\.csv: source file not found/);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CsvParser } from '../../../src/data/profile/csv';
import { DataInputError } from '../../../src/data/profile/errors';
import { openSource } from '../../../src/data/profile/sources';

const FIXTURES = path.join(__dirname, '../../fixtures/profile');

/** Parses `chunks` as one stream and returns the records with their starting lines. */
function parse(chunks: string[], header?: string[]): Array<{ fields: string[]; line: number }> {
  const parser = new CsvParser('test.csv');
  parser.header = header;
  const out: Array<{ fields: string[]; line: number }> = [];
  const onRecord = (fields: string[], line: number) => out.push({ fields, line });
  for (const chunk of chunks) parser.feed(chunk, onRecord);
  parser.end(onRecord);
  return out;
}

function failure(fn: () => unknown): DataInputError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DataInputError);
    return err as DataInputError;
  }
  throw new Error('expected a DataInputError');
}

describe('CsvParser', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks', () => {
    const records = parse(['a,b,c\n1,"x, y","say ""hi"""\n2,"two\nlines",z\n']);
    expect(records.map((r) => r.fields)).toEqual([
      ['a', 'b', 'c'],
      ['1', 'x, y', 'say "hi"'],
      ['2', 'two\nlines', 'z'],
    ]);
    expect(records.map((r) => r.line)).toEqual([1, 2, 3]);
  });

  it('gives the same records whichever way the input is split into chunks', () => {
    const text = 'id,note\r\n1,"a ""quoted"" word"\r\n2,"multi\r\nline"\r\n\r\n3,plain\r\n';
    const whole = parse([text]);
    for (let size = 1; size <= 7; size++) {
      const chunks: string[] = [];
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
      expect(parse(chunks)).toEqual(whole);
    }
    expect(whole.map((r) => r.fields)).toEqual([
      ['id', 'note'],
      ['1', 'a "quoted" word'],
      ['2', 'multi\r\nline'],
      ['3', 'plain'],
    ]);
    expect(whole.map((r) => r.line)).toEqual([1, 2, 3, 6]);
  });

  it('skips blank lines, strips a byte order mark and accepts a last line without newline', () => {
    expect(parse(['\ufeffa,b\n\n1,2\n\n3,4']).map((r) => r.fields)).toEqual([
      ['a', 'b'],
      ['1', '2'],
      ['3', '4'],
    ]);
  });

  it('names the line and column of a quote inside an unquoted field', () => {
    const err = failure(() => parse(['id,note\n1,say "hi"\n'], ['id', 'note']));
    expect(err.message).toBe(
      'test.csv: line 2, column "note": a quote inside an unquoted field; quote the whole field and double the quotes inside it',
    );
  });

  it('names the line and column of text after a closing quote', () => {
    const err = failure(() => parse(['id,note\n1,"a"b\n'], ['id', 'note']));
    expect(err.message).toMatch(/^test\.csv: line 2, column "note": unexpected "b" after the closing quote/);
  });

  it('names the line where an unclosed quoted field starts', () => {
    const err = failure(() => parse(['id,note\n1,"never\nclosed\n'], ['id', 'note']));
    expect(err.message).toBe('test.csv: line 2, column "note": a quoted field is never closed (missing closing quote)');
  });
});

describe('openSource (CSV files)', () => {
  async function readAll(file: string): Promise<unknown[][]> {
    const source = await openSource(file);
    const rows: unknown[][] = [];
    for await (const batch of source.batches()) rows.push(...batch);
    return rows;
  }

  it('reads empty fields as missing', async () => {
    const source = await openSource(path.join(FIXTURES, 'header-only.csv'));
    expect(source.columns).toEqual(['id', 'name', 'amount']);
    expect(source.table).toBe('header-only');
    expect(await readAll(path.join(FIXTURES, 'header-only.csv'))).toEqual([]);
  });

  it('rejects a row with too few fields, naming the file, the line and the missing column', async () => {
    const file = path.join(FIXTURES, 'short-row.csv');
    await expect(readAll(file)).rejects.toThrow(
      `${file}: line 3, column "amount": missing: the row has 2 fields, the header 3`,
    );
  });

  it('rejects an unclosed quote and a stray quote, naming file, line and column', async () => {
    const unclosed = path.join(FIXTURES, 'unclosed-quote.csv');
    await expect(readAll(unclosed)).rejects.toThrow(
      `${unclosed}: line 3, column "note": a quoted field is never closed`,
    );
    const stray = path.join(FIXTURES, 'stray-quote.csv');
    await expect(readAll(stray)).rejects.toThrow(`${stray}: line 2, column "note": a quote inside an unquoted field`);
  });

  it('rejects a missing file, an empty file and duplicate or empty column names', async () => {
    await expect(openSource(path.join(FIXTURES, 'nope.csv'))).rejects.toThrow(/nope\.csv: no such file/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-csv-'));
    try {
      const write = (name: string, text: string) => {
        fs.writeFileSync(path.join(dir, name), text);
        return path.join(dir, name);
      };
      const empty = write('empty.csv', '');
      await expect(openSource(empty)).rejects.toThrow(
        `${empty}: the file is empty; expected a header line naming the columns`,
      );
      const twice = write('twice.csv', 'id,amount,id\n1,2,3\n');
      await expect(openSource(twice)).rejects.toThrow(
        `${twice}: line 1, column "id": named twice (fields 1 and 3); column names must be unique`,
      );
      const unnamed = write('unnamed.csv', 'id,,amount\n1,2,3\n');
      await expect(openSource(unnamed)).rejects.toThrow(`${unnamed}: line 1, field 2: the header names no column here`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { describe, expect, it } from 'vitest';
import { CsvError, CsvRecordReader } from '../../../src/data/pii/csv';

function parse(chunks: readonly string[]): Array<{ record: string[]; line: number }> {
  const out: Array<{ record: string[]; line: number }> = [];
  const reader = new CsvRecordReader((record, line) => out.push({ record, line }));
  for (const chunk of chunks) reader.push(chunk);
  reader.end();
  return out;
}

/** Every way of cutting `text` in two, plus one character at a time. */
function cuts(text: string): string[][] {
  const out = [[text], [...text]];
  for (let i = 1; i < text.length; i++) out.push([text.slice(0, i), text.slice(i)]);
  return out;
}

describe('CsvRecordReader', () => {
  const text = '\ufeffid,"note, with comma",q\r\n1,"say ""hi""\nsecond line",\r\n2,plain,"x"\n\n3,a"b,\r\n';
  const expected = [
    { record: ['id', 'note, with comma', 'q'], line: 1 },
    { record: ['1', 'say "hi"\nsecond line', ''], line: 2 },
    { record: ['2', 'plain', 'x'], line: 4 },
    { record: [''], line: 5 },
    { record: ['3', 'a"b', ''], line: 6 },
  ];

  it('reads quoted fields, escaped quotes, embedded newlines, CRLF and a BOM, however the input is chunked', () => {
    for (const chunks of cuts(text)) expect(parse(chunks), JSON.stringify(chunks)).toEqual(expected);
  });

  it('ends the last record without a trailing newline, including an empty last field', () => {
    expect(parse(['a,b\n1,'])).toEqual([
      { record: ['a', 'b'], line: 1 },
      { record: ['1', ''], line: 2 },
    ]);
    expect(parse(['a,"b"'])).toEqual([{ record: ['a', 'b'], line: 1 }]);
  });

  it('reports text after a closing quote and an unclosed quote with their lines', () => {
    expect(() => parse(['a,b\n"x"y,1\n'])).toThrow(
      new CsvError(2, 'unexpected "y" after the closing quote of field 1'),
    );
    expect(() => parse(['a\n', '"open\n\nmore'])).toThrow(/line 2: a quoted field is not closed/);
  });
});

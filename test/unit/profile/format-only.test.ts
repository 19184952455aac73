import { describe, expect, it } from 'vitest';
import { profileRows } from '../../../src/data/profile/profiler';

describe('format-only columns', () => {
  it('keep the formats of number-like values (card numbers written as plain digits) without publishing a value', () => {
    const rows = Array.from({ length: 400 }, (_, i) => {
      const digits = String(4000000000000000 + i * 7919);
      return [
        i % 4 === 0 ? `${digits.slice(0, 4)} ${digits.slice(4, 8)} ${digits.slice(8, 12)} ${digits.slice(12)}` : digits,
      ];
    });
    const profile = profileRows('cards', ['card_number'], rows, { formatOnly: ['card_number'] });
    const column = profile.columns[0];
    expect(column.type).toBe('identifier');
    if (column.type !== 'identifier') return;
    const formats = column.identifier.formats.map((f) => [f.pattern, f.share]);
    // The plain-digit layout is a format too (it used to be left out); the grouped one keeps its
    // constant leading groups as literals, as any shape does.
    expect(formats[0]).toEqual(['\\d{16}', 0.75]);
    expect(formats[1][1]).toBe(0.25);
    expect(formats[1][0]).toMatch(/ \\d\{4\} \\d\{4\}$/);
    const text = JSON.stringify(profile);
    for (const [value] of rows.slice(0, 50)) expect(text).not.toContain(value.replace(/ /g, '').slice(0, 12));
  });
});

// National phone numbers per region, from libphonenumber's metadata (libphonenumber-js, the
// `min` set): a number written without its country code counts as a phone when, in one of the
// configured regions (default all), its digits are a valid national number (the region's national
// number pattern and lengths, after an optional trunk prefix) AND its grouping is the one the
// region's own formats print (`612 34 56 78` in Spain, `(11) 96123-4567` in Brazil,
// `030 1234567` in Germany). The grouping requirement is what keeps order numbers, ISBNs and
// amounts out: most digit strings are a valid national number somewhere, few are laid out as one.

import metadata from 'libphonenumber-js/metadata.min.json';

type FormatEntry = [string, string, string[]?, (string | number)?, number?];
type CountryEntry = [string, string, string, number[], FormatEntry[]?, string?, ...unknown[]];

interface Format {
  region: string;
  pattern: RegExp;
  leading?: RegExp;
  /** The layout, e.g. `$1 $2-$3`. */
  layout: string;
  /** How the first group is printed nationally, e.g. `0$1`, `($1)`, `0 $1`; `$1` when plain. */
  rule: string;
  /** The shapes it prints (digits as `d`, dots as spaces), plain and decorated. */
  shapes: RegExp[];
  /** The same shapes with dashes as spaces too: `959-325-358` for Spain's `959 32 53 58`… and `959 325 358`. */
  looseShapes: RegExp[];
}

/** `(\d{2,3})` → `d{2,3}`: each group of a format's pattern as a run of `d`s (any length when not that simple). */
function groupShapes(pattern: string): string[] {
  const groups: string[] = [];
  for (const m of pattern.matchAll(/\(([^()]*)\)/g)) {
    const simple = /^\\d(?:\{(\d+)(?:,(\d+))?\})?$/.exec(m[1]);
    groups.push(simple ? `d{${simple[1] ?? 1},${simple[2] ?? simple[1] ?? 1}}` : 'd{1,20}');
  }
  return groups;
}

const escapeShape = (text: string): string => text.replace(/[()[\]{}.*+?^$|\\-]/g, '\\$&');

/** Dots stand for spaces in every layout; in a loose one, dashes do too. */
const spaced = (text: string, loose: boolean): string =>
  loose ? text.replace(/[.-]/g, ' ') : text.replace(/\./g, ' ');

function shapesOf(layout: string, rule: string, pattern: string, loose = false): RegExp[] {
  const groups = groupShapes(pattern);
  const render = (template: string): RegExp => {
    let out = '';
    for (const part of spaced(template, loose).split(/(\$\d)/)) {
      if (/^\$\d$/.test(part)) out += groups[Number(part[1]) - 1] ?? 'd{1,20}';
      else out += escapeShape(part.replace(/\d/g, 'd'));
    }
    return new RegExp(`^${out}$`);
  };
  return [render(layout), render(layout.replace('$1', rule))];
}

interface Region {
  code: string;
  national: RegExp;
  lengths: ReadonlySet<number>;
  prefix?: string;
  formats: Format[];
}

const countries = (metadata as unknown as { countries: Record<string, CountryEntry> }).countries;

/** Every region libphonenumber knows (ISO 3166 alpha-2). */
export const PHONE_REGIONS: readonly string[] = Object.keys(countries);

function compile(code: string): Region {
  const entry = countries[code];
  const prefix = typeof entry[5] === 'string' && entry[5] !== '' ? entry[5] : undefined;
  const formats = (Array.isArray(entry[4]) ? entry[4] : []).map((f): Format => {
    const rule = typeof f[3] === 'string' ? f[3] : '';
    const leading = Array.isArray(f[2]) && f[2].length ? f[2][f[2].length - 1] : undefined;
    return {
      region: code,
      pattern: new RegExp(`^(?:${f[0]})$`),
      leading: leading ? new RegExp(`^(?:${leading})`) : undefined,
      layout: f[1],
      rule: rule.includes('$1') ? rule : '$1',
      shapes: shapesOf(f[1], rule.includes('$1') ? rule : '$1', f[0]),
      looseShapes: shapesOf(f[1], rule.includes('$1') ? rule : '$1', f[0], true),
    };
  });
  return {
    code,
    national: new RegExp(`^(?:${entry[2]})$`),
    lengths: new Set(entry[3]),
    prefix,
    formats,
  };
}

/** The regions' rules, compiled once per set of regions. */
export class NationalPhoneRules {
  private readonly regions: Region[];
  /** Shape (digits as `d`) → the regions with a format that prints it; few shapes occur, so few entries. */
  private readonly byShape = new Map<string, Region[]>();
  private readonly byLooseShape = new Map<string, Region[]>();
  /** National number length → the regions whose numbers (after an optional trunk prefix) may have it. */
  private readonly byLength = new Map<number, Region[]>();

  constructor(regions: readonly string[] = PHONE_REGIONS) {
    this.regions = regions.map((code) => {
      const upper = code.toUpperCase();
      if (!countries[upper])
        throw new Error(`unknown phone region "${code}"; expected an ISO 3166 code libphonenumber knows, such as DE`);
      return compile(upper);
    });
  }

  /**
   * Whether `candidate` (digits with the separators as written) is a national number printed as
   * one of the regions' formats prints it: same groups, same separators (a dot may stand for a
   * space), the first group with or without its national decoration (`0`, parentheses).
   */
  matches(candidate: string, loose = false): boolean {
    const written = spaced(candidate, loose);
    let digits = '';
    for (let i = 0; i < candidate.length; i++) {
      const c = candidate.charCodeAt(i);
      if (c >= 0x30 && c <= 0x39) digits += candidate[i];
    }
    const shape = written.replace(/\d/g, 'd');
    const cache = loose ? this.byLooseShape : this.byShape;
    let regions = cache.get(shape);
    if (regions === undefined) {
      regions = this.regions.filter((r) =>
        r.formats.some((f) => (loose ? f.looseShapes : f.shapes).some((re) => re.test(shape))),
      );
      if (cache.size < 10_000) cache.set(shape, regions);
    }
    for (const region of regions) {
      if (this.matchesIn(region, written, digits, false, loose)) return true;
      if (region.prefix && digits.startsWith(region.prefix) && this.matchesIn(region, written, digits, true, loose))
        return true;
    }
    return false;
  }

  /**
   * Whether `digits` (no separators) is a valid national number of one of the regions, with or
   * without the region's trunk prefix: the region's national number pattern and lengths. Says
   * nothing about layout: most digit strings of 8–12 digits are a number somewhere, which is why
   * unseparated digits count as phones only on a column's evidence (see column.ts).
   */
  nationalNumber(digits: string): boolean {
    for (const region of this.regionsOfLength(digits.length)) {
      if (region.national.test(digits)) return true;
    }
    for (let cut = 1; cut <= 2; cut++) {
      for (const region of this.regionsOfLength(digits.length - cut)) {
        if (
          region.prefix?.length === cut &&
          digits.startsWith(region.prefix) &&
          region.national.test(digits.slice(cut))
        )
          return true;
      }
    }
    return false;
  }

  private regionsOfLength(length: number): Region[] {
    let regions = this.byLength.get(length);
    if (regions === undefined) {
      regions = this.regions.filter((r) => r.lengths.has(length));
      this.byLength.set(length, regions);
    }
    return regions;
  }

  private matchesIn(region: Region, written: string, digits: string, withPrefix: boolean, loose: boolean): boolean {
    const national = withPrefix ? digits.slice(region.prefix!.length) : digits;
    if (!region.lengths.has(national.length) || !region.national.test(national)) return false;
    for (const format of region.formats) {
      if (format.leading && !format.leading.test(national)) continue;
      const m = format.pattern.exec(national);
      if (!m) continue;
      const fill = (layout: string): string => layout.replace(/\$(\d)/g, (_, k: string) => m[Number(k)] ?? '');
      const decorated = fill(format.layout.replace('$1', format.rule));
      if (withPrefix) {
        if (decorated.includes(region.prefix! + m[1]) || decorated.includes(`${region.prefix!} ${m[1]}`)) {
          if (spaced(decorated, loose) === written) return true;
        }
        continue;
      }
      const plain = fill(format.layout);
      if (plain === written || (loose && spaced(plain, true) === written)) return true;
      // The decoration without the trunk prefix: `(11) 96123-4567`, not `0 11 …`.
      if (region.prefix === undefined || !format.rule.includes(region.prefix)) {
        if (spaced(decorated, loose) === written) return true;
      }
    }
    return false;
  }
}

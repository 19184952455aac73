// ISO-8601-like date and time text: recognising it, turning it into epoch milliseconds (UTC), and
// writing synthetic values back in the format the source used.

const DATETIME =
  /^(\d{4})([-/])(\d{2})\2(\d{2})(?:([T ])(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/;

export interface ParsedDatetime {
  epochMs: number;
  /** The text's format, e.g. `YYYY-MM-DD HH:mm:ss` or `YYYY-MM-DDTHH:mm:ss.SSSZ`. */
  format: string;
}

/** Epoch milliseconds and format of `text`, or undefined when it is not a date(time) we know. */
export function parseDatetime(text: string): ParsedDatetime | undefined {
  if (text.length < 10 || text.length > 40) return undefined;
  const m = DATETIME.exec(text);
  if (!m) return undefined;
  const [, y, sep, mo, d, t, hh, mm, ss, frac, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = hh === undefined ? 0 : Number(hh);
  const minute = mm === undefined ? 0 : Number(mm);
  const second = ss === undefined ? 0 : Number(ss);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = frac === undefined ? 0 : Math.floor(Number(`0.${frac}`) * 1000);
  let epochMs = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  if (new Date(epochMs).getUTCDate() !== day) return undefined; // 2023-02-30 and the like
  let zoneFormat = '';
  if (zone !== undefined) {
    if (zone === 'Z') zoneFormat = 'Z';
    else {
      const sign = zone[0] === '-' ? -1 : 1;
      const digits = zone.slice(1).replace(':', '');
      const offset = Number(digits.slice(0, 2)) * 60 + (digits.length > 2 ? Number(digits.slice(2, 4)) : 0);
      epochMs -= sign * offset * 60_000;
      zoneFormat = zone.includes(':') ? '+HH:MM' : digits.length > 2 ? '+HHMM' : '+HH';
    }
  }
  let format = `YYYY${sep}MM${sep}DD`;
  if (t !== undefined) {
    format += `${t}HH:mm`;
    if (ss !== undefined) format += ':ss';
    if (frac !== undefined) format += `.${'S'.repeat(frac.length)}`;
    format += zoneFormat;
  }
  return { epochMs, format };
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** Writes epoch milliseconds (UTC) in `format`, one of the formats parseDatetime reports. */
export function formatDatetime(epochMs: number, format: string): string {
  return datetimeFormatter(format)(epochMs);
}

/** civilFromDays' answer, reused: the formatters run once per row and allocate nothing for it. */
const civil = new Int32Array(3);

/** Year, month (1–12) and day of a day number since 1970-01-01 (Howard Hinnant's civil_from_days), into `civil`. */
function civilFromDays(days: number): void {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  civil[0] = yoe + era * 400 + (month <= 2 ? 1 : 0);
  civil[1] = month;
  civil[2] = doy - Math.floor((153 * mp + 2) / 5) + 1;
}

/** What a format writes, read once per format. */
interface DatetimeLayout {
  sep: string;
  hasTime: boolean;
  timeSep: string;
  hasSeconds: boolean;
  /** Digits of the fraction of a second (0 = none). */
  fraction: number;
  /** The zone as written for UTC: '', 'Z', '+00:00', '+0000' or '+00'. */
  zone: string;
}

function layoutOf(format: string): DatetimeLayout {
  return {
    sep: format[4],
    hasTime: format.length > 10,
    timeSep: format[10],
    hasSeconds: format.includes(':ss'),
    fraction: /\.(S+)/.exec(format)?.[1].length ?? 0,
    zone: format.endsWith('Z')
      ? 'Z'
      : format.endsWith('+HH:MM')
        ? '+00:00'
        : format.endsWith('+HHMM')
          ? '+0000'
          : format.endsWith('+HH')
            ? '+00'
            : '',
  };
}

const formatters = new Map<string, (epochMs: number) => string>();

/**
 * A function writing epoch milliseconds (UTC) in `format`, compiled once per format: synthesis
 * formats one datetime per row, so this avoids a Date object and re-reading the format each time.
 */
export function datetimeFormatter(format: string): (epochMs: number) => string {
  const cached = formatters.get(format);
  if (cached) return cached;
  const { sep, hasTime, timeSep, hasSeconds, fraction, zone } = layoutOf(format);
  const formatter = (epochMs: number): string => {
    const days = Math.floor(epochMs / DAY_MS);
    civilFromDays(days);
    let out = `${civil[0]}${sep}${pad2(civil[1])}${sep}${pad2(civil[2])}`;
    if (!hasTime) return out;
    const ms = epochMs - days * DAY_MS;
    const seconds = Math.floor(ms / 1000);
    out += `${timeSep}${pad2(Math.floor(seconds / 3600))}:${pad2(Math.floor(seconds / 60) % 60)}`;
    if (hasSeconds) out += `:${pad2(seconds % 60)}`;
    if (fraction > 0)
      out += `.${String(Math.floor(ms % 1000))
        .padStart(3, '0')
        .padEnd(fraction, '0')
        .slice(0, fraction)}`;
    return out + zone;
  };
  formatters.set(format, formatter);
  return formatter;
}

/** The most bytes a datetimeWriter writes: a 6-digit signed year, the time, 9 fraction digits, a zone. */
export const DATETIME_MAX_BYTES = 48;

/**
 * The bytes of `datetimeFormatter(format)(epochMs)`, written into `out` at `pos` (ASCII, at most
 * DATETIME_MAX_BYTES); returns the position after them. The CSV writer uses it to write a
 * datetime with no string in between (see src/data/synth/csv-sink.ts).
 */
export function datetimeWriter(format: string): (epochMs: number, out: Uint8Array, pos: number) => number {
  const { sep, hasTime, timeSep, hasSeconds, fraction, zone } = layoutOf(format);
  const sepByte = sep.charCodeAt(0);
  const timeSepByte = hasTime ? timeSep.charCodeAt(0) : 0;
  const zoneBytes = Array.from(zone, (c) => c.charCodeAt(0));
  /** n (0–99) as two digits. Integer arithmetic throughout: `%` on a double is a call to fmod. */
  const two = (out: Uint8Array, p: number, n: number): number => {
    const tens = (n / 10) | 0;
    out[p] = 48 + tens;
    out[p + 1] = 48 + n - tens * 10;
    return p + 2;
  };
  return (epochMs, out, pos) => {
    const days = Math.floor(epochMs / DAY_MS);
    civilFromDays(days);
    let p = pos;
    let year = civil[0];
    if (year < 0) {
      out[p++] = 45; // '-'
      year = -year;
    }
    // The year as String() writes it: no padding.
    let width = 1;
    for (let t = year; t >= 10; t = (t / 10) | 0) width++;
    for (let k = p + width - 1, rest = year; k >= p; k--) {
      const next = (rest / 10) | 0;
      out[k] = 48 + rest - next * 10;
      rest = next;
    }
    p += width;
    out[p++] = sepByte;
    p = two(out, p, civil[1]);
    out[p++] = sepByte;
    p = two(out, p, civil[2]);
    if (!hasTime) return p;
    // Milliseconds into the day (0 ≤ t < 86,400,000: an int32); the floor as the string path takes it.
    const t = Math.floor(epochMs - days * DAY_MS) | 0;
    const seconds = (t / 1000) | 0;
    const minutes = (seconds / 60) | 0;
    const hours = (minutes / 60) | 0;
    out[p++] = timeSepByte;
    p = two(out, p, hours);
    out[p++] = 58; // ':'
    p = two(out, p, minutes - hours * 60);
    if (hasSeconds) {
      out[p++] = 58;
      p = two(out, p, seconds - minutes * 60);
    }
    if (fraction > 0) {
      out[p++] = 46; // '.'
      const milli = t - seconds * 1000;
      const hundreds = (milli / 100) | 0;
      const tens = ((milli - hundreds * 100) / 10) | 0;
      for (let k = 0; k < fraction; k++)
        out[p++] =
          k === 0 ? 48 + hundreds : k === 1 ? 48 + tens : k === 2 ? 48 + milli - hundreds * 100 - tens * 10 : 48;
    }
    for (const b of zoneBytes) out[p++] = b;
    return p;
  };
}

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Coarsest of day, hour, minute, second, millisecond that divides every value seen. */
export const DATETIME_RESOLUTIONS = [DAY_MS, HOUR_MS, 60_000, 1000, 1] as const;

/** Day of week with Monday = 0. */
export function weekdayOf(epochMs: number): number {
  return (new Date(epochMs).getUTCDay() + 6) % 7;
}

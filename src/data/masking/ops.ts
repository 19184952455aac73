// The column operators. Each rule compiles once into a function from a source value to its output
// value; the sanitizer calls it per row. A missing value (NULL, or an empty CSV field) stays
// missing under every op: missingness is a property the lower layers' tests rely on, and it says
// nothing about a person. Errors about a value say what was wrong with it, never the value.

import { createHmac } from 'node:crypto';
import type { EnvironmentKeys } from './keyring';
import { fakeGenerator } from './fake';
import type { ColumnRule, GeneralizeRule, HmacRule, MaskRule, SqlType } from './policy';

/** A value as read from a CSV (always text) or an SQLite source. */
export type Cell = string | number | bigint | Buffer | null;

/** A value the op cannot handle; the sanitizer adds the file, line and column. */
export class ValueRejected extends Error {
  override name = 'ValueRejected';
}

export interface OpContext {
  /** Present when the policy has keyed ops (hmac, fake). */
  keys?: EnvironmentKeys;
  /** The policy's default fake seed. */
  seed: number;
}

export interface CompiledRule {
  apply: (value: Cell) => Cell;
  /** One line for the run summary: the op and its options, never a value. */
  summary: string;
}

const isMissing = (value: Cell): value is null | '' => value === null || value === '';

function text(value: string | number | bigint | Buffer): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('base64');
  return String(value);
}

/** Compiles a rule that is not `drop` (dropped columns are never read). */
export function compileRule(rule: Exclude<ColumnRule, { op: 'drop' }>, ctx: OpContext): CompiledRule {
  switch (rule.op) {
    case 'keep':
      return { apply: (v) => v, summary: 'keep' };
    case 'redact': {
      const constant = rule.with;
      return { apply: (v) => (isMissing(v) ? v : constant), summary: `redact → ${JSON.stringify(constant)}` };
    }
    case 'mask':
      return {
        apply: maskFunction(rule),
        summary: `mask, keep last ${rule.keep}${rule.preserveLength ? ' (length kept)' : ''}`,
      };
    case 'hmac':
      return {
        apply: hmacFunction(rule, needKeys(ctx).hmac),
        summary: `hmac ${rule.prefix}<${rule.alphabet} ${rule.length}>${rule.domain ? ` domain ${rule.domain}` : ''}`,
      };
    case 'fake': {
      const seed = rule.seed ?? ctx.seed;
      const generate = fakeGenerator(rule.kind, needKeys(ctx).fake, seed);
      return {
        apply: (v) => (isMissing(v) ? v : generate(Buffer.isBuffer(v) ? v : text(v))),
        summary: `fake ${rule.kind} (seed ${seed})`,
      };
    }
    case 'generalize':
      return { apply: generalizeFunction(rule), summary: generalizeSummary(rule) };
  }
}

function needKeys(ctx: OpContext): EnvironmentKeys {
  if (!ctx.keys) throw new Error('internal: a keyed op was compiled without environment keys');
  return ctx.keys;
}

/** The declared type of the column in an SQLite output. */
export function outputType(rule: Exclude<ColumnRule, { op: 'drop' }>, sourceType: string | undefined): string {
  if (rule.type) return rule.type;
  if (rule.op === 'keep') return sourceType && sourceType !== '' ? sourceType : 'TEXT';
  if (rule.op === 'redact' && typeof rule.with === 'number') return 'NUMERIC';
  return 'TEXT' satisfies SqlType;
}

// --- hmac --------------------------------------------------------------------------------------

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Buffer, length: number): string {
  let out = '';
  let bits = 0;
  let acc = 0;
  for (let k = 0; out.length < length; k++) {
    acc = ((acc << 8) | bytes[k]) & 0xffff;
    bits += 8;
    while (bits >= 5 && out.length < length) {
      bits -= 5;
      out += BASE32[(acc >>> bits) & 31];
    }
  }
  return out;
}

function encodePseudonym(digest: Buffer, rule: HmacRule): string {
  switch (rule.alphabet) {
    case 'base32':
      return base32(digest, rule.length);
    case 'hex':
      return digest.toString('hex', 0, Math.ceil(rule.length / 2)).slice(0, rule.length);
    case 'digits': {
      // 256 bits reduced modulo 10^(length − 1): the bias is below 10^-25 for the longest allowed
      // output. The last digit is chosen so that the Luhn check FAILS: a pseudonym of 13–19 digits
      // must never look like a payment card to the PII scan (or to anyone else).
      const body = (BigInt(`0x${digest.toString('hex')}`) % 10n ** BigInt(rule.length - 1))
        .toString()
        .padStart(rule.length - 1, '0');
      return body + String((luhnCheckDigit(body) + 5) % 10);
    }
  }
}

/** The digit that, appended to `body`, makes it pass the Luhn check. */
export function luhnCheckDigit(body: string): number {
  let sum = 0;
  for (let i = body.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = body.charCodeAt(i) - 0x30;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

/**
 * HMAC-SHA256 under the environment's key, so a value gets the same pseudonym everywhere in one
 * environment (joins hold) and an unrelated one in any other environment. The domain (default
 * none) separates columns that must not be joinable.
 */
function hmacFunction(rule: HmacRule, key: Buffer): (v: Cell) => Cell {
  const domain = `${rule.domain ?? ''}\u0000`;
  return (v) => {
    if (isMissing(v)) return v;
    const digest = createHmac('sha256', key)
      .update(domain)
      .update(Buffer.isBuffer(v) ? v : text(v))
      .digest();
    return rule.prefix + encodePseudonym(digest, rule);
  };
}

// --- mask --------------------------------------------------------------------------------------

/** `****1234`: the last `keep` characters stay; a value no longer than that is masked entirely. */
function maskFunction(rule: MaskRule): (v: Cell) => Cell {
  const fixed = rule.char.repeat(4);
  return (v) => {
    if (isMissing(v)) return v;
    const chars = Array.from(text(v)); // code points, so a kept tail never splits a character
    const keep = chars.length > rule.keep ? rule.keep : 0;
    const tail = keep === 0 ? '' : chars.slice(chars.length - keep).join('');
    return (rule.preserveLength ? rule.char.repeat(chars.length - keep) : fixed) + tail;
  };
}

// --- generalize --------------------------------------------------------------------------------

const DATE = /^(\d{4})-(\d{2})(?:-(\d{2}))?(?:[T ].*)?$/;
const ZIP = /^(\d{5})(?:-\d{4})?$/;

function generalizeSummary(rule: GeneralizeRule): string {
  if (rule.to === 'month') return 'generalize dates to month';
  if (rule.to === 'zip3')
    return `generalize ZIP to 3 digits${rule.suppress?.length ? ` (${rule.suppress.length} suppressed to 000)` : ''}`;
  const bounds = [rule.min !== undefined ? `min ${rule.min}` : '', rule.max !== undefined ? `max ${rule.max}` : '']
    .filter(Boolean)
    .join(', ');
  return `generalize numbers to buckets of ${rule.size}${bounds ? ` (${bounds})` : ''}`;
}

/** Formats a bucket bound without float noise: 0.30000000000000004 → 0.3. */
const bound = (x: number): string => String(Number(x.toPrecision(12)));

function generalizeFunction(rule: GeneralizeRule): (v: Cell) => Cell {
  const reject = (why: string): null => {
    if (rule.invalid === 'empty') return null;
    throw new ValueRejected(`${why}; fix the source or set \`invalid: empty\` on the column`);
  };
  if (rule.to === 'month') {
    return (v) => {
      if (isMissing(v)) return v;
      const m = typeof v === 'string' ? DATE.exec(v.trim()) : null;
      if (!m) return reject('not a date (expected YYYY-MM-DD, optionally with a time)');
      const month = Number(m[2]);
      const day = m[3] === undefined ? 1 : Number(m[3]);
      if (month < 1 || month > 12 || day < 1 || day > 31) return reject('not a valid calendar date');
      return `${m[1]}-${m[2]}`;
    };
  }
  if (rule.to === 'zip3') {
    const suppressed = new Set(rule.suppress ?? []);
    return (v) => {
      if (isMissing(v)) return v;
      let zip: string | undefined;
      if (typeof v === 'string') zip = ZIP.exec(v.trim())?.[1];
      // An integer column loses leading zeros: 2134 is ZIP 02134.
      else if ((typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint') {
        const n = Number(v);
        if (n >= 0 && n <= 99999) zip = String(n).padStart(5, '0');
      }
      if (zip === undefined) return reject('not a US ZIP code (expected 12345 or 12345-6789)');
      const prefix = zip.slice(0, 3);
      return suppressed.has(prefix) ? '000' : prefix;
    };
  }
  const size = rule.size!;
  return (v) => {
    if (isMissing(v)) return v;
    const x =
      typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'string' ? Number(v.trim()) : NaN;
    if (!Number.isFinite(x)) return reject('not a number');
    if (rule.min !== undefined && x < rule.min) return `(-inf,${bound(rule.min)})`;
    if (rule.max !== undefined && x >= rule.max) return `[${bound(rule.max)},+inf)`;
    let q = x / size;
    // 0.3 / 0.1 is 2.9999999999999996: snap quotients that are integers but for rounding.
    if (Math.abs(q - Math.round(q)) < 1e-9) q = Math.round(q);
    const k = Math.floor(q);
    return `[${bound(k * size)},${bound((k + 1) * size)})`;
  };
}

// PII detectors. Each one counts the findings of one kind in a text value and never hands a
// matched value back: the only way out of this module is a count per detector name.
//
// A finding is a span that passes its kind's own rules (a known issuer and the Luhn check for
// cards, the country's length and mod-97 for IBANs, area/group/serial rules for SSNs, octet
// ranges for IPv4, a national or E.164 layout for phones), so look-alikes such as order ids,
// versions, timestamps and amounts are not counted.
//
// Speed: emails, IBANs and IPv6 addresses are found from a cheap anchor (`@`, two capitals and two
// digits, `:`). The four kinds made of digits share one scan: a native regex finds each *number
// run* once (digits and the separators their layouts use), and IPv4, card, SSN and phone rules
// look only at runs with enough digits for them. Text without such a run costs one regex scan.
//
// The built-in detectors run in a fixed order on one value and *claim* the spans they count, and
// an IBAN claims any IBAN-shaped span, valid or not: the digits inside an email, an IBAN or an
// IPv6 address are then not counted again as a phone number or a card. Custom patterns and the
// deny-list are independent of the claims: they count whatever they match.

import { NationalPhoneRules } from './phone-regions';

export const BUILTIN_DETECTORS = ['email', 'iban', 'ipv6', 'ipv4', 'card', 'ssn', 'phone'] as const;
export type BuiltinDetector = (typeof BUILTIN_DETECTORS)[number];

/** The detector name under which deny-list terms are counted. */
export const DENY_LIST_DETECTOR = 'deny-list';

/** A configured pattern: every match of `regex` counts as one finding named `name`. */
export interface PatternDetectorSpec {
  name: string;
  regex: RegExp;
}

export interface DetectorOptions {
  /** Built-in detectors to run; all of them by default. */
  builtins?: readonly BuiltinDetector[];
  /** Regions (ISO 3166) whose national phone layouts count (libphonenumber metadata); default all. */
  phoneRegions?: readonly string[];
  patterns?: readonly PatternDetectorSpec[];
  /** Terms counted case-insensitively as whole words (a term may hold several words). */
  denyList?: readonly string[];
}

// --- character classes ------------------------------------------------------------------------

const SPACE = 0x20;
const PLUS = 0x2b;
const DASH = 0x2d;
const DOT = 0x2e;
const SLASH = 0x2f;
const COLON = 0x3a;
const AT = 0x40;
const UNDERSCORE = 0x5f;
const PERCENT = 0x25;

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isUpper = (c: number): boolean => c >= 0x41 && c <= 0x5a;
const isLower = (c: number): boolean => c >= 0x61 && c <= 0x7a;
const isAsciiAlnum = (c: number): boolean => isDigit(c) || isUpper(c) || isLower(c);
const isHex = (c: number): boolean => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
const LETTER_OR_NUMBER = /[\p{L}\p{N}]/u;

/** A letter, a digit or `_`, in any script: what a whole-word boundary must not touch. */
function isWordChar(c: number): boolean {
  if (c < 0x80) return isAsciiAlnum(c) || c === UNDERSCORE;
  return !Number.isNaN(c) && LETTER_OR_NUMBER.test(String.fromCharCode(c));
}

/**
 * Whether a number may start at `start`: not inside a word, not right after a `+`, and not the
 * tail of a longer number such as a decimal (`3.14159…`), an id (`ORD-12…`) or a path (`/12…`).
 */
function numberStartsCleanly(text: string, start: number): boolean {
  if (start === 0) return true;
  const before = text.charCodeAt(start - 1);
  if (isWordChar(before) || before === PLUS) return false;
  if (before === DOT || before === DASH || before === SLASH) {
    return start < 2 || !isAsciiAlnum(text.charCodeAt(start - 2));
  }
  return true;
}

/** Whether a number may end at `end` (exclusive): not followed by more of a word, a decimal or an id. */
function numberEndsCleanly(text: string, end: number): boolean {
  if (end >= text.length) return true;
  const after = text.charCodeAt(end);
  if (isWordChar(after)) return false;
  if (after === DOT || after === DASH || after === SLASH || after === COLON) {
    return end + 1 >= text.length || !isDigit(text.charCodeAt(end + 1));
  }
  return true;
}

// --- claims -----------------------------------------------------------------------------------

/** Spans of one value already attributed to a built-in detector, as [start, end) pairs. */
class Claims {
  private readonly spans: number[] = [];
  /** Entries of `spans` in use; reset per value without touching the array. */
  private size = 0;

  reset(): void {
    this.size = 0;
  }

  overlaps(start: number, end: number): boolean {
    for (let i = 0; i < this.size; i += 2) {
      if (start < this.spans[i + 1] && this.spans[i] < end) return true;
    }
    return false;
  }

  add(start: number, end: number): void {
    this.spans[this.size] = start;
    this.spans[this.size + 1] = end;
    this.size += 2;
  }
}

// --- detector kinds ---------------------------------------------------------------------------

/** Looks at the whole value. */
interface TextDetector {
  readonly name: string;
  /** A cheap test: false means `count` would find nothing in `text`. */
  mayContain(text: string): boolean;
  count(text: string, claims: Claims): number;
}

/** Looks at one number run of a value: `run` is text[runStart, runStart + run.length). */
interface NumberDetector {
  readonly name: string;
  /** Whether a run with this many digits (`plus`: it starts with `+`) may hold a finding. */
  worthLooking(run: string, digits: number, plus: boolean): boolean;
  count(text: string, run: string, runStart: number, claims: Claims): number;
}

// --- email ------------------------------------------------------------------------------------

const isEmailLocalChar = (c: number): boolean =>
  isAsciiAlnum(c) || c === DOT || c === UNDERSCORE || c === PERCENT || c === PLUS || c === DASH;
const isDomainChar = (c: number): boolean => isAsciiAlnum(c) || c === DOT || c === DASH;

/** `local` in [start, at): not empty, at most 64 characters, no `..`, not ending with a dot. */
function validLocalPart(text: string, start: number, at: number): boolean {
  if (at - start > 64 || text.charCodeAt(at - 1) === DOT) return false;
  for (let i = start + 1; i < at; i++) {
    if (text.charCodeAt(i) === DOT && text.charCodeAt(i - 1) === DOT) return false;
  }
  return true;
}

/** A domain in [start, end): two or more labels of 1–63 characters, no label edged by `-`, an alphabetic TLD of 2+. */
function validDomain(text: string, start: number, end: number): boolean {
  let labels = 0;
  let labelStart = start;
  for (let i = start; i <= end; i++) {
    if (i < end && text.charCodeAt(i) !== DOT) continue;
    const length = i - labelStart;
    if (length === 0 || length > 63) return false;
    if (text.charCodeAt(labelStart) === DASH || text.charCodeAt(i - 1) === DASH) return false;
    labels++;
    if (i === end) {
      if (labels < 2 || length < 2) return false;
      // An internationalised TLD in its ASCII (punycode) form: xn--p1ai, xn--80asehdb.
      if (length > 4 && text.slice(labelStart, labelStart + 4).toLowerCase() === 'xn--') return true;
      for (let j = labelStart; j < end; j++) {
        const c = text.charCodeAt(j);
        if (!isUpper(c) && !isLower(c)) return false;
      }
    }
    labelStart = i + 1;
  }
  return true;
}

const emailDetector: TextDetector = {
  name: 'email',
  mayContain: (text) => text.indexOf('@') !== -1,
  count(text, claims) {
    let found = 0;
    let at = text.indexOf('@');
    while (at !== -1) {
      let start = at;
      while (start > 0 && isEmailLocalChar(text.charCodeAt(start - 1))) start--;
      while (start < at && text.charCodeAt(start) === DOT) start++;
      let end = at + 1;
      while (end < text.length && isDomainChar(text.charCodeAt(end))) end++;
      // A sentence may end right after the address.
      while (end > at + 1 && (text.charCodeAt(end - 1) === DOT || text.charCodeAt(end - 1) === DASH)) end--;
      if (
        start < at &&
        text.charCodeAt(end) !== AT &&
        validLocalPart(text, start, at) &&
        validDomain(text, at + 1, end) &&
        !claims.overlaps(start, end)
      ) {
        found++;
        claims.add(start, end);
        at = text.indexOf('@', end);
      } else {
        at = text.indexOf('@', at + 1);
      }
    }
    return found;
  },
};

// --- IBAN -------------------------------------------------------------------------------------

/** IBAN length per country: the SWIFT IBAN registry, plus countries that use IBANs outside it. */
export const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AO: 25,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BF: 28,
  BG: 22,
  BH: 22,
  BI: 27,
  BJ: 28,
  BR: 29,
  BY: 28,
  CF: 27,
  CG: 27,
  CH: 21,
  CI: 28,
  CM: 27,
  CR: 22,
  CV: 25,
  CY: 28,
  CZ: 24,
  DE: 22,
  DJ: 27,
  DK: 18,
  DO: 28,
  DZ: 26,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FK: 18,
  FO: 18,
  FR: 27,
  GA: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GQ: 27,
  GR: 27,
  GT: 28,
  GW: 25,
  HN: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IR: 26,
  IS: 26,
  IT: 27,
  JO: 30,
  KM: 27,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  LY: 25,
  MA: 28,
  MC: 27,
  MD: 24,
  ME: 22,
  MG: 27,
  MK: 19,
  ML: 28,
  MN: 20,
  MR: 27,
  MT: 31,
  MU: 30,
  MZ: 25,
  NE: 28,
  NI: 28,
  NL: 18,
  NO: 15,
  OM: 23,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  RU: 33,
  SA: 24,
  SC: 31,
  SD: 18,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  SN: 28,
  SO: 23,
  ST: 25,
  SV: 28,
  TD: 27,
  TG: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
  YE: 30,
};

/** ISO 13616 check: move the first four characters to the end, letters to 10..35, the number mod 97 is 1. */
export function ibanChecksumValid(iban: string): boolean {
  const compact = iban.replace(/[ -]/g, '').toUpperCase();
  if (compact.length < 5 || !/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(compact)) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (let i = 0; i < rearranged.length; i++) {
    const c = rearranged.charCodeAt(i);
    remainder = isDigit(c) ? (remainder * 10 + (c - 0x30)) % 97 : (remainder * 100 + (c - 55)) % 97;
  }
  return remainder === 1;
}

/** Whether `iban` (compact or in groups of four) has a known country, that country's length and a valid checksum. */
export function ibanValid(iban: string): boolean {
  const compact = iban.replace(/[ -]/g, '').toUpperCase();
  return IBAN_LENGTHS[compact.slice(0, 2)] === compact.length && ibanChecksumValid(compact);
}

/** Upper or lower case: `de89 3704 …` is as much an IBAN as `DE89 3704 …`. */
const IBAN_START = /[A-Za-z]{2}\d\d/g;

/** The longest IBAN in use has 34 characters. */
const MAX_IBAN_LENGTH = 34;
/** An IBAN-like token shorter than this is not claimed when it is not an IBAN. */
const MIN_CLAIMED_IBAN_LIKE = 15;

/**
 * Reads an IBAN in electronic form (no spaces) or paper form (groups of four joined by single
 * spaces or dashes, one kind throughout), in either case, from `start`, up to `limit` characters;
 * returns the characters (upper case) and where it stopped.
 */
function readIban(text: string, start: number, limit: number): { compact: string; end: number } {
  let compact = '';
  let i = start;
  let separator = -1;
  while (compact.length < limit && i < text.length) {
    const c = text.charCodeAt(i);
    if (isDigit(c) || isUpper(c) || isLower(c)) {
      compact += text[i];
      i++;
    } else if (
      (c === SPACE || c === DASH) &&
      (separator === -1 || separator === c) &&
      compact.length % 4 === 0 &&
      i + 1 < text.length &&
      isAsciiAlnum(text.charCodeAt(i + 1))
    ) {
      separator = c;
      i++;
    } else {
      break;
    }
  }
  return { compact: compact.toUpperCase(), end: i };
}

const ibanDetector: TextDetector = {
  name: 'iban',
  // Two letters and two digits start it, and a BBAN holds at least 11 more characters.
  mayContain: (text) => text.length >= 15,
  count(text, claims) {
    let found = 0;
    IBAN_START.lastIndex = 0;
    for (let m = IBAN_START.exec(text); m !== null; m = IBAN_START.exec(text)) {
      const start = m.index;
      if (start > 0 && isWordChar(text.charCodeAt(start - 1))) continue;
      const length = IBAN_LENGTHS[text.slice(start, start + 2).toUpperCase()];
      const { compact, end } = length === undefined ? { compact: '', end: start } : readIban(text, start, length);
      if (
        length !== undefined &&
        compact.length === length &&
        (end === text.length || !isWordChar(text.charCodeAt(end)))
      ) {
        if (claims.overlaps(start, end)) continue;
        // Claimed even when the checksum fails: its digits are not a phone number or a card either.
        claims.add(start, end);
        if (ibanChecksumValid(compact)) found++;
        IBAN_START.lastIndex = end;
        continue;
      }
      // An unknown country or the wrong length: not an IBAN, but its digits are no card or phone either.
      const likeIban = readIban(text, start, MAX_IBAN_LENGTH);
      if (likeIban.compact.length >= MIN_CLAIMED_IBAN_LIKE && !claims.overlaps(start, likeIban.end)) {
        claims.add(start, likeIban.end);
        IBAN_START.lastIndex = likeIban.end;
      }
    }
    return found;
  },
};

// --- IPv6 -------------------------------------------------------------------------------------

/** A dotted quad with octets 0–255 and no leading zeros. */
export function ipv4Valid(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every(octetValid);
}

function octetValid(part: string): boolean {
  if (part.length === 0 || part.length > 3 || !/^\d+$/.test(part)) return false;
  if (part.length > 1 && part[0] === '0') return false;
  return Number(part) <= 255;
}

/** An IPv6 address: eight groups of 1–4 hex digits, or fewer with one `::`, optionally ending in a dotted quad. */
export function ipv6Valid(text: string): boolean {
  let groups = 8;
  let body = text;
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.') !== -1) {
    if (!ipv4Valid(text.slice(lastColon + 1))) return false;
    body = text.slice(0, lastColon + 1) + '0:0';
    groups = 8;
  }
  if (body.indexOf(':::') !== -1) return false;
  const double = body.indexOf('::');
  if (double !== -1 && body.indexOf('::', double + 1) !== -1) return false;
  const hexGroups = (part: string): number => {
    if (part === '') return 0;
    const list = part.split(':');
    for (const g of list) if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return -1;
    return list.length;
  };
  if (double === -1) return hexGroups(body) === groups;
  const left = hexGroups(body.slice(0, double));
  const right = hexGroups(body.slice(double + 2));
  if (left < 0 || right < 0) return false;
  // `::` alone (or with nothing but zeros) says nothing about a host.
  return left + right <= groups - 1 && /[1-9A-Fa-f]/.test(body);
}

/** Characters masking leaves behind (`****ed::`): a fragment next to them is what is left of a value, not an address. */
const isMaskChar = (c: number): boolean => c === 0x2a || c === 0x23 || c === 0x2022 || c === 0x2588;

/** An IPv6 address has `::` or seven colons; a time (`10:30:00`) has neither. */
function mayHoldIpv6(text: string): boolean {
  let colon = text.indexOf(':');
  if (colon === -1) return false;
  if (text.indexOf('::', colon) !== -1) return true;
  for (let colons = 1; colons < 7; colons++) {
    colon = text.indexOf(':', colon + 1);
    if (colon === -1) return false;
  }
  return true;
}

const ipv6Detector: TextDetector = {
  name: 'ipv6',
  mayContain: mayHoldIpv6,
  count(text, claims) {
    let found = 0;
    let colon = text.indexOf(':');
    while (colon !== -1) {
      let start = colon;
      while (start > 0) {
        const c = text.charCodeAt(start - 1);
        if (!isHex(c) && c !== COLON) break;
        start--;
      }
      let end = colon + 1;
      while (end < text.length) {
        const c = text.charCodeAt(end);
        if (!isHex(c) && c !== COLON && c !== DOT) break;
        end++;
      }
      // Trailing punctuation of the sentence (`…::1.` or `…:1:`) is not part of the address.
      while (end > colon + 1 && text.charCodeAt(end - 1) === DOT) end--;
      if (end - start > 2 && text.charCodeAt(end - 1) === COLON && text.charCodeAt(end - 2) !== COLON) end--;
      if (
        end - start >= 3 &&
        (start === 0 || (!isWordChar(text.charCodeAt(start - 1)) && !isMaskChar(text.charCodeAt(start - 1)))) &&
        (end === text.length || !isMaskChar(text.charCodeAt(end))) &&
        (end === text.length || !isWordChar(text.charCodeAt(end))) &&
        ipv6Valid(text.slice(start, end)) &&
        !claims.overlaps(start, end)
      ) {
        found++;
        claims.add(start, end);
      }
      colon = text.indexOf(':', Math.max(end, colon + 1));
    }
    return found;
  },
};

// --- IPv4 -------------------------------------------------------------------------------------

const IPV4_CANDIDATE = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})/g;

const ipv4Detector: NumberDetector = {
  name: 'ipv4',
  worthLooking: (run, digits) => digits >= 4 && run.indexOf('.') !== -1,
  count(text, run, runStart, claims) {
    let found = 0;
    IPV4_CANDIDATE.lastIndex = 0;
    for (let m = IPV4_CANDIDATE.exec(run); m !== null; m = IPV4_CANDIDATE.exec(run)) {
      const start = runStart + m.index;
      const end = start + m[0].length;
      if (start > 0) {
        // A version (`v1.2.3.4`, `1.2.3.4.5`) is not an address.
        const before = text.charCodeAt(start - 1);
        if (isWordChar(before) || before === DOT) continue;
      }
      if (end < text.length) {
        const after = text.charCodeAt(end);
        if (isWordChar(after) || (after === DOT && end + 1 < text.length && isDigit(text.charCodeAt(end + 1))))
          continue;
      }
      if (!octetValid(m[1]) || !octetValid(m[2]) || !octetValid(m[3]) || !octetValid(m[4])) continue;
      if (claims.overlaps(start, end)) continue;
      found++;
      claims.add(start, end);
    }
    return found;
  },
};

// --- payment cards ----------------------------------------------------------------------------

interface CardIssuer {
  issuer: string;
  /** Inclusive ranges of IIN prefixes; both ends have the same number of digits. */
  ranges: ReadonlyArray<readonly [string, string]>;
  lengths: readonly number[];
}

const span = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Issuer identification number (IIN) prefixes and card lengths of the schemes in use. */
export const CARD_ISSUERS: readonly CardIssuer[] = [
  { issuer: 'visa', ranges: [['4', '4']], lengths: [13, 16, 19] },
  {
    issuer: 'mastercard',
    ranges: [
      ['51', '55'],
      ['2221', '2720'],
    ],
    lengths: [16],
  },
  {
    issuer: 'amex',
    ranges: [
      ['34', '34'],
      ['37', '37'],
    ],
    lengths: [15],
  },
  {
    issuer: 'discover',
    ranges: [
      ['6011', '6011'],
      ['644', '649'],
      ['65', '65'],
      ['622126', '622925'],
    ],
    lengths: span(16, 19),
  },
  {
    issuer: 'diners',
    ranges: [
      ['300', '305'],
      ['3095', '3095'],
      ['36', '36'],
      ['38', '39'],
    ],
    lengths: span(14, 19),
  },
  { issuer: 'jcb', ranges: [['3528', '3589']], lengths: span(16, 19) },
  {
    issuer: 'unionpay',
    ranges: [
      ['62', '62'],
      ['81', '81'],
    ],
    lengths: span(16, 19),
  },
  {
    issuer: 'maestro',
    ranges: [
      ['50', '50'],
      ['56', '69'],
    ],
    lengths: span(12, 19),
  },
  { issuer: 'mir', ranges: [['2200', '2204']], lengths: span(16, 19) },
  {
    issuer: 'rupay',
    ranges: [
      ['60', '60'],
      ['65', '65'],
      ['82', '82'],
      ['353', '353'],
      ['356', '356'],
      ['508', '508'],
    ],
    lengths: [16],
  },
  { issuer: 'uatp', ranges: [['1', '1']], lengths: [15] },
  { issuer: 'troy', ranges: [['9792', '9792']], lengths: [16] },
];

/** The card scheme whose IIN ranges and lengths fit `digits`, or undefined. */
export function cardIssuer(digits: string): string | undefined {
  for (const entry of CARD_ISSUERS) {
    if (!entry.lengths.includes(digits.length)) continue;
    for (const [from, to] of entry.ranges) {
      const prefix = digits.slice(0, from.length);
      if (prefix >= from && prefix <= to) return entry.issuer;
    }
  }
  return undefined;
}

/** The Luhn (mod 10) check over a string of digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** The EAN-13 (GTIN-13) check: weights 1 and 3 from the left, the sum a multiple of 10. */
export function ean13Valid(digits: string): boolean {
  if (digits.length !== 13) return false;
  let sum = 0;
  for (let i = 0; i < 13; i++) sum += (digits.charCodeAt(i) - 0x30) * (i % 2 === 0 ? 1 : 3);
  return sum % 10 === 0;
}

/**
 * A payment card number: 13–19 digits, a known issuer for that length, and the Luhn check. A
 * 13-digit number that is a valid EAN-13 barcode is a barcode: 13-digit cards (old Visa) are out of
 * circulation, while barcodes in the 400–440 range (Germany) share Visa's leading 4.
 */
export function cardNumberValid(digits: string): boolean {
  return (
    digits.length >= 13 &&
    digits.length <= 19 &&
    cardIssuer(digits) !== undefined &&
    luhnValid(digits) &&
    !ean13Valid(digits)
  );
}

/** A run of digits joined by single spaces or dashes, at least 13 digits long. */
const CARD_CANDIDATE = /\d(?:[ -]?\d){12,}/g;
/** At most this many groups in one card number (4-4-4-4-3 is the longest layout in use). */
const MAX_CARD_GROUPS = 5;

interface Group {
  start: number;
  end: number;
}

/** Splits [start, end) into the groups of characters between those `isSeparator` accepts. */
function splitGroups(text: string, start: number, end: number, isSeparator: (c: number) => boolean): Group[] {
  const groups: Group[] = [];
  let groupStart = start;
  for (let i = start; i < end; i++) {
    if (isSeparator(text.charCodeAt(i))) {
      if (i > groupStart) groups.push({ start: groupStart, end: i });
      groupStart = i + 1;
    }
  }
  if (end > groupStart) groups.push({ start: groupStart, end });
  return groups;
}

/** A chunk of a card candidate: digits, possibly with dashes, between spaces. */
interface CardChunk extends Group {
  digits: number;
  dashes: boolean;
}

/**
 * The digits of chunks [first, last] if they are laid out as a card: one chunk of digits, or of
 * groups joined by dashes, or several chunks without dashes; in both grouped forms the groups
 * have 4–6 digits and the last 1–6 (4-4-4-4, 4-6-5, 4-6-4, 4-4-4-4-3).
 */
function cardDigits(text: string, chunks: CardChunk[], first: number, last: number): string | undefined {
  let groups: Group[];
  if (first === last) groups = splitGroups(text, chunks[first].start, chunks[first].end, isDash);
  else if (chunks.slice(first, last + 1).some((c) => c.dashes)) return undefined;
  else groups = chunks.slice(first, last + 1);
  if (groups.length > MAX_CARD_GROUPS) return undefined;
  let digits = '';
  for (let g = 0; g < groups.length; g++) {
    const size = groups[g].end - groups[g].start;
    if (groups.length > 1 && (size > 6 || (g < groups.length - 1 && size < 4))) return undefined;
    digits += text.slice(groups[g].start, groups[g].end);
  }
  return digits;
}

const isDash = (c: number): boolean => c === DASH;
const isSpace = (c: number): boolean => c === SPACE;

const cardDetector: NumberDetector = {
  name: 'card',
  worthLooking: (_run, digits) => digits >= 13,
  count(text, run, runStart, claims) {
    let found = 0;
    CARD_CANDIDATE.lastIndex = 0;
    for (let m = CARD_CANDIDATE.exec(run); m !== null; m = CARD_CANDIDATE.exec(run)) {
      const candidateStart = runStart + m.index;
      const candidateEnd = candidateStart + m[0].length;
      const startsCleanly = numberStartsCleanly(text, candidateStart);
      const endsCleanly = numberEndsCleanly(text, candidateEnd);
      const chunks: CardChunk[] = splitGroups(text, candidateStart, candidateEnd, isSpace).map((g) => {
        const chunk = text.slice(g.start, g.end);
        return { ...g, dashes: chunk.indexOf('-') !== -1, digits: chunk.replace(/-/g, '').length };
      });
      const last = chunks.length - 1;
      // A neighbour a spaced card may leave out: clearly another token, not one more group of it.
      // ("5514 7982 0753 6522 67" is one 18-digit number: its first 16 digits pass Luhn one time
      // in ten, but they are not a card.) A first chunk glued to a word ("AB12 3456 …") is not
      // left out either: the run continues that token.
      const foreign = chunks.map((c, i) => c.dashes || c.digits > 6 || (i === last && !endsCleanly));
      let first = 0;
      while (first <= last) {
        let matchedLast = -1;
        for (let end = Math.min(last, first + MAX_CARD_GROUPS - 1); end >= first; end--) {
          if ((first === 0 && !startsCleanly) || (end === last && !endsCleanly)) continue;
          if (end > first && ((first > 0 && !foreign[first - 1]) || (end < last && !foreign[end + 1]))) continue;
          const digits = cardDigits(text, chunks, first, end);
          if (digits === undefined || !cardNumberValid(digits)) continue;
          if (claims.overlaps(chunks[first].start, chunks[end].end)) continue;
          matchedLast = end;
          break;
        }
        if (matchedLast < 0) {
          first++;
          continue;
        }
        found++;
        claims.add(chunks[first].start, chunks[matchedLast].end);
        first = matchedLast + 1;
      }
    }
    return found;
  },
};

// --- US social security numbers ---------------------------------------------------------------

/** Numbers the SSA never issues although their parts look valid (published in advertising). */
const RETIRED_SSNS = new Set(['078051120', '219099999']);

/** SSA rules: area not 000, 666 or 900–999; group not 00; serial not 0000. */
export function ssnValid(area: string, group: string, serial: string): boolean {
  if (area === '000' || area === '666' || area[0] === '9') return false;
  if (group === '00' || serial === '0000') return false;
  return !RETIRED_SSNS.has(area + group + serial);
}

/** AAA-GG-SSSS, or with spaces or dots; the same separator twice. */
const SSN_CANDIDATE = /(\d{3})([- .])(\d\d)\2(\d{4})/g;

const ssnDetector: NumberDetector = {
  name: 'ssn',
  // Never inside a number that starts with `+`: `+81 575-24-7922` is a phone number in Japan.
  worthLooking: (_run, digits, plus) => digits >= 9 && !plus,
  count(text, run, runStart, claims) {
    let found = 0;
    SSN_CANDIDATE.lastIndex = 0;
    for (let m = SSN_CANDIDATE.exec(run); m !== null; m = SSN_CANDIDATE.exec(run)) {
      const start = runStart + m.index;
      const end = start + m[0].length;
      if (!numberStartsCleanly(text, start) || !numberEndsCleanly(text, end)) {
        // Let the next attempt start inside this one: "1234-56-7890" is not one, "12 345-67-8901" has one.
        SSN_CANDIDATE.lastIndex = m.index + 1;
        continue;
      }
      if (!ssnValid(m[1], m[3], m[4]) || claims.overlaps(start, end)) continue;
      found++;
      claims.add(start, end);
    }
    return found;
  },
};

// --- phone numbers ----------------------------------------------------------------------------

/** Digits a phone number with this E.164 country code has, country code included. */
const E164_LENGTHS: Readonly<Record<string, readonly [number, number]>> = {
  '1': [11, 11], // NANP: +1 NPA NXX XXXX
  '7': [11, 11],
  '33': [11, 11],
  '44': [11, 12],
  '49': [10, 14],
  '61': [11, 11],
  '86': [12, 13],
  '91': [12, 12],
};
const E164_DEFAULT: readonly [number, number] = [8, 15];

/** US/Canada national layouts: (NPA) NXX-XXXX, NPA-NXX-XXXX, NPA.NXX.XXXX, 1-NPA-NXX-XXXX. */
const NANP = /^(?:1[ .-]?)?(?:\([2-9]\d\d\)[ .-]?|[2-9]\d\d([ .-]))[2-9]\d\d([ .-])\d{4}$/;
/** National layouts with a trunk 0 (UK, France, Germany, Italy, Netherlands, Australia, India…), one kind of separator. */
const TRUNK_ZERO = /^(?:\(0[1-9]\d{0,4}\)|0[1-9]\d{0,4})([ ./-])\d{2,8}(?:\1\d{2,8}){0,4}$/;
/**
 * +CC then groups: digits after a separator, or a parenthesised group such as the trunk `(0)` of
 * `+44 (0)20 …`. Every repetition starts with a separator or `(`, so matching stays linear.
 */
const E164 = /^\+ ?[1-9]\d*(?:[ .-]?\(\d{1,4}\)[ .-]?\d+|[ .-]\d+)*$/;

function digitsOf(text: string): string {
  let digits = '';
  for (let i = 0; i < text.length; i++) if (isDigit(text.charCodeAt(i))) digits += text[i];
  return digits;
}

/** Digit groups of a national candidate (separators space . - /, a parenthesised group), or undefined. */
function nationalGroups(candidate: string): string[] | undefined {
  if (!/^\(?\d[\d ()./-]*\d$/.test(candidate)) return undefined;
  const groups = candidate.split(/[ ()./-]+/).filter((g) => g !== '');
  return groups.length >= 2 ? groups : undefined;
}

/** 2024-03-05, 05.03.2024, 03/05/2024: a date, not a phone number, in any region. */
function looksLikeDate(groups: readonly string[]): boolean {
  if (groups.length !== 3) return false;
  const [a, b, c] = groups.map(Number);
  if (groups[0].length === 4) return a >= 1900 && a <= 2100 && b >= 1 && b <= 12 && c >= 1 && c <= 31;
  if (groups[2].length === 4) return c >= 1900 && c <= 2100 && a >= 1 && a <= 31 && b >= 1 && b <= 31;
  return false;
}

let defaultNationalRules: NationalPhoneRules | undefined;

/**
 * Whether `candidate` (no surrounding separators) is a phone number: E.164, a US/Canada or trunk-0
 * layout, or a national number laid out as one of `rules`' regions prints it (default: all regions).
 */
export function phoneNumberValid(candidate: string, rules?: NationalPhoneRules): boolean {
  // A date, or a date and more (2024-03-05-1234): not a phone number, as for the candidates below.
  // First, because it is cheap and most digit runs in prose are dates.
  if (startsWithIsoDate(candidate)) return false;
  if (phoneLayoutValid(candidate)) return true;
  if (candidate.charCodeAt(0) === PLUS) return false;
  const groups = nationalGroups(candidate);
  if (!groups) return false;
  const digits = groups.reduce((n, g) => n + g.length, 0);
  if (digits < 8 || digits > 13 || looksLikeDate(groups)) return false;
  // AAA-GG-SSSS is the SSN layout and a dotted quad an IPv4 address: valid or not, they are
  // those detectors' to judge.
  if (/^\d{3}([- .])\d\d\1\d{4}$/.test(candidate) || /^\d{1,3}(?:\.\d{1,3}){3}$/.test(candidate)) return false;
  // Without a trunk 0 or parentheses, two groups say too little ("2019 69066" is a year and a
  // number): a national number then needs the region's full grouping, three groups or more.
  if (groups.length < 3 && candidate[0] !== '0' && candidate[0] !== '(') return false;
  return (rules ?? (defaultNationalRules ??= new NationalPhoneRules())).matches(candidate);
}

function phoneLayoutValid(candidate: string): boolean {
  if (candidate.charCodeAt(0) === PLUS) {
    if (!E164.test(candidate)) return false;
    const digits = digitsOf(candidate.replace(/\(0\)/g, ''));
    const cc = digits[0] === '1' || digits[0] === '7' ? digits[0] : digits.slice(0, 2);
    const [min, max] = E164_LENGTHS[cc] ?? E164_DEFAULT;
    if (digits.length < min || digits.length > max) return false;
    // +1: the area code and the exchange start with 2–9.
    return cc !== '1' || (digits[1] >= '2' && digits[4] >= '2');
  }
  if (NANP.test(candidate)) {
    const m = NANP.exec(candidate)!;
    // Without parentheses, the two separators match: 415-555-0132, not 415-555.0132.
    return m[1] === undefined || m[1] === m[2];
  }
  const trunk = TRUNK_ZERO.exec(candidate);
  if (trunk) {
    // 10–11 digits (UK, France, Italy, Australia…); 12 only as area + subscriber (0151 23456789),
    // not in three groups of four like the digits of a card.
    const digits = digitsOf(candidate).length;
    return digits === 10 || digits === 11 || (digits === 12 && candidate.split(trunk[1]).length === 2);
  }
  return false;
}

/** At most this many space-separated chunks in one phone number (+44 (0)20 7946 0958 has four). */
const MAX_PHONE_CHUNKS = 6;

const phoneDetector = (rules: NationalPhoneRules): NumberDetector => ({
  name: 'phone',
  // National layouts have 8 or more digits (Spain's 9, Germany's 0 30 1234567); after a `+`, 8 may do.
  worthLooking: (_run, digits) => digits >= 8,
  count(text, run, runStart, claims) {
    let found = 0;
    const runEnd = runStart + run.length;
    if (!numberStartsCleanly(text, runStart) || !numberEndsCleanly(text, runEnd)) return 0;
    // A run may hold a number next to a short one ("Apt 12 415-555-0132") or next to a value
    // another detector claimed (a card, an SSN): try spans of whole space-separated chunks,
    // longest first, leaving out only such chunks. Other neighbours mean the run is something
    // else, such as the groups of a card-like number.
    const chunks = splitGroups(text, runStart, runEnd, isSpace);
    // A date chunk may be left out too: "2024-03-05 415-555-0132" is a date, then a phone.
    const short = chunks.map(
      (c) =>
        c.end - c.start <= 3 ||
        claims.overlaps(c.start, c.end) ||
        (c.end - c.start === 10 && startsWithIsoDate(text.slice(c.start, c.end))),
    );
    // shortFrom[i]: chunks i.. can all be left out, so a number may end before chunk i.
    const shortFrom = new Array<boolean>(chunks.length + 1).fill(true);
    for (let i = chunks.length - 1; i >= 0; i--) shortFrom[i] = short[i] && shortFrom[i + 1];
    let first = 0;
    while (first < chunks.length) {
      let matchedLast = -1;
      for (let last = Math.min(chunks.length - 1, first + MAX_PHONE_CHUNKS - 1); last >= first; last--) {
        if (!shortFrom[last + 1]) continue;
        const start = chunks[first].start;
        const end = chunks[last].end;
        if (end - start < 8) break;
        if (!phoneNumberValid(text.slice(start, end), rules) || claims.overlaps(start, end)) continue;
        matchedLast = last;
        break;
      }
      if (matchedLast < 0) {
        if (!short[first]) break;
        first++;
        continue;
      }
      found++;
      claims.add(chunks[first].start, chunks[matchedLast].end);
      first = matchedLast + 1;
    }
    return found;
  },
});

// --- configured patterns and the deny-list ----------------------------------------------------

function countMatches(regex: RegExp, text: string): number {
  let found = 0;
  regex.lastIndex = 0;
  for (let m = regex.exec(text); m !== null; m = regex.exec(text)) {
    if (m[0].length === 0) {
      regex.lastIndex++;
      continue;
    }
    found++;
  }
  return found;
}

function patternDetector(spec: PatternDetectorSpec): TextDetector {
  const flags = spec.regex.flags.includes('g') ? spec.regex.flags : `${spec.regex.flags}g`;
  const regex = new RegExp(spec.regex.source, flags);
  return { name: spec.name, mayContain: () => true, count: (text) => countMatches(regex, text) };
}

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Lower-cased, trimmed, inner whitespace collapsed; empty terms dropped, duplicates merged. */
export function normalizeDenyTerms(terms: readonly string[]): string[] {
  const out = new Set<string>();
  for (const term of terms) {
    const t = term.trim().replace(/\s+/g, ' ').toLowerCase();
    if (t !== '') out.add(t);
  }
  return [...out];
}

function denyListDetector(terms: readonly string[]): TextDetector {
  const normalized = normalizeDenyTerms(terms).sort((a, b) => b.length - a.length);
  const alternatives = normalized.map((t) => t.split(' ').map(escapeRegex).join('\\s+'));
  const regex = new RegExp(`(?<![\\p{L}\\p{N}_])(?:${alternatives.join('|')})(?![\\p{L}\\p{N}_])`, 'giu');
  // Pre-filter: some term's first word must appear in the lower-cased text at all.
  const firstWords = [...new Set(normalized.map((t) => t.split(' ')[0]))];
  return {
    name: DENY_LIST_DETECTOR,
    mayContain(text) {
      const lower = text.toLowerCase();
      for (const word of firstWords) if (lower.indexOf(word) !== -1) return true;
      return false;
    },
    count: (text) => countMatches(regex, text),
  };
}

// --- the set ----------------------------------------------------------------------------------

const TEXT_DETECTORS: ReadonlyMap<BuiltinDetector, TextDetector> = new Map<BuiltinDetector, TextDetector>([
  ['email', emailDetector],
  ['iban', ibanDetector],
  ['ipv6', ipv6Detector],
]);
const NUMBER_DETECTORS: ReadonlyMap<BuiltinDetector, NumberDetector> = new Map<BuiltinDetector, NumberDetector>([
  ['ipv4', ipv4Detector],
  ['card', cardDetector],
  ['ssn', ssnDetector],
]);

/**
 * A number run: digits joined by the separators the layouts of IPv4 addresses, cards, SSNs and
 * phone numbers use (space, `(`, `)`, `.`, `/`, `-`), from a digit (or a leading `+` or `(`) to a
 * digit, 7 characters or more. Runs do not overlap, so each number is looked at once, by the
 * number detectors that want its digit count. Quantities, years and prices are too short: they
 * fail inside the regex engine without a match object. (Asking the regex for 9+ digits instead
 * is slower: it retries at every digit of each shorter run.)
 */
const NUMBER_RUN = /[+(]?\d[\d ()./-]{5,}\d/g;
/** The shortest run: `1.2.3.4`. */
const MIN_RUN_LENGTH = 7;

function countDigits(run: string): number {
  let digits = 0;
  for (let i = 0; i < run.length; i++) {
    const c = run.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) digits++;
  }
  return digits;
}

const digitAt = (text: string, i: number): number => text.charCodeAt(i) - 0x30;

/** `yyyy-mm-dd` (or with dots) at the start of a run, without allocating: 1900–2100, month 1–12, day 1–31. */
function startsWithIsoDate(run: string): boolean {
  if (run.length < 10 || isDigit(run.charCodeAt(4)) || run.charCodeAt(4) !== run.charCodeAt(7)) return false;
  for (let i = 0; i < 4; i++) if (!isDigit(run.charCodeAt(i))) return false;
  if (!isDigit(run.charCodeAt(5)) || !isDigit(run.charCodeAt(6)) || !isDigit(run.charCodeAt(8))) return false;
  if (!isDigit(run.charCodeAt(9)) || (run.length > 10 && isDigit(run.charCodeAt(10)))) return false;
  const year = digitAt(run, 0) * 1000 + digitAt(run, 1) * 100 + digitAt(run, 2) * 10 + digitAt(run, 3);
  const month = digitAt(run, 5) * 10 + digitAt(run, 6);
  const day = digitAt(run, 8) * 10 + digitAt(run, 9);
  return year >= 1900 && year <= 2100 && month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

/**
 * Counters a value adds besides the findings, in the slots after `names`: *candidates* whose
 * reading depends on the column they are in (column.ts decides). Never findings on their own.
 */
export interface CandidateSlots {
  /** Unseparated digits that are a national number somewhere, or a national number grouped as a region groups it but with other separators (`959-325-358`). */
  phone: number;
  /** Nine unseparated digits that pass the SSA rules. */
  ssn: number;
  /** IPv4 findings that are also a national number printed with dots (`612.34.56.78`). */
  ipv4AsPhone: number;
}

/**
 * A configured set of detectors. It answers with counts only: `countInto` adds the findings of
 * each detector (in `names` order) to an array of counters, `count` returns them by name.
 */
export class PiiDetectors {
  readonly names: readonly string[];
  private readonly text: ReadonlyArray<{ detector: TextDetector; slot: number }>;
  private readonly numbers: ReadonlyArray<{ detector: NumberDetector; slot: number }>;
  private readonly extra: ReadonlyArray<{ detector: TextDetector; slot: number }>;
  private readonly claims = new Claims();
  private readonly rules: NationalPhoneRules;
  /** Counters `countInto` needs: one per name, then the candidate slots. */
  readonly slots: number;
  /** Where the candidates are counted (indices past `names`). */
  readonly candidates: CandidateSlots;
  private readonly phoneSlot: number;
  private readonly ssnSlot: number;
  private readonly ipv4Slot: number;

  constructor(options: DetectorOptions = {}) {
    const builtins = options.builtins ?? BUILTIN_DETECTORS;
    for (const name of builtins) {
      if (!BUILTIN_DETECTORS.includes(name))
        throw new Error(`unknown detector "${name}"; expected one of ${BUILTIN_DETECTORS.join(', ')}`);
    }
    // Claims work in the built-in order, whatever order the caller lists them in.
    const names = BUILTIN_DETECTORS.filter((name) => builtins.includes(name));
    const slot = (name: string): number => names.indexOf(name as BuiltinDetector);
    this.text = names
      .filter((n) => TEXT_DETECTORS.has(n))
      .map((n) => ({ detector: TEXT_DETECTORS.get(n)!, slot: slot(n) }));
    const rules = new NationalPhoneRules(options.phoneRegions);
    this.rules = rules;
    this.numbers = names
      .filter((n) => NUMBER_DETECTORS.has(n) || n === 'phone')
      .map((n) => ({ detector: n === 'phone' ? phoneDetector(rules) : NUMBER_DETECTORS.get(n)!, slot: slot(n) }));
    const extra: TextDetector[] = [];
    for (const pattern of options.patterns ?? []) {
      if (
        (BUILTIN_DETECTORS as readonly string[]).includes(pattern.name) ||
        pattern.name === DENY_LIST_DETECTOR ||
        extra.some((d) => d.name === pattern.name)
      ) {
        throw new Error(`pattern "${pattern.name}" has the name of another detector`);
      }
      extra.push(patternDetector(pattern));
    }
    if (options.denyList && normalizeDenyTerms(options.denyList).length > 0)
      extra.push(denyListDetector(options.denyList));
    this.extra = extra.map((detector, i) => ({ detector, slot: names.length + i }));
    this.names = [...names, ...extra.map((d) => d.name)];
    const n = this.names.length;
    this.candidates = { phone: n, ssn: n + 1, ipv4AsPhone: n + 2 };
    this.slots = n + 3;
    this.phoneSlot = slot('phone');
    this.ssnSlot = slot('ssn');
    this.ipv4Slot = slot('ipv4');
  }

  /** The slot of detector `name`, or -1 when it does not run. */
  slotOf(name: string): number {
    return this.names.indexOf(name);
  }

  /**
   * After the detectors looked at a number run: counts it as a candidate when nothing claimed it
   * and it is an unseparated (or loosely grouped) phone number or SSN, or when it was counted as an
   * IPv4 address but is also a dotted phone number.
   */
  private countCandidates(
    text: string,
    run: string,
    runStart: number,
    digits: number,
    ipv4Found: number,
    counts: number[] | Float64Array,
  ): number {
    // A date, or a date and more (2024-03-05-1234): not a phone number. Most runs in prose are dates.
    if (run.charCodeAt(0) === PLUS || startsWithIsoDate(run)) return 0;
    // One pass over the run: its groups, and whether a dash or a dot joins them.
    let groups = 1;
    let dashOrDot = false;
    for (let i = 0; i < run.length; i++) {
      const c = run.charCodeAt(i);
      if (isDigit(c)) continue;
      if (c !== SPACE && c !== DASH && c !== DOT) return 0;
      if (i === 0 || !isDigit(run.charCodeAt(i - 1))) return 0;
      if (c !== SPACE) dashOrDot = true;
      groups++;
    }
    // Groups joined by spaces only were judged by the phone detector already: the loose reading
    // adds dashes and dots.
    if (groups > 1 && !dashOrDot) return 0;
    const start = runStart;
    const end = runStart + run.length;
    if (!numberStartsCleanly(text, start) || !numberEndsCleanly(text, end)) return 0;
    if (this.claims.overlaps(start, end)) {
      if (ipv4Found > 0 && this.phoneSlot >= 0 && digits >= 8 && this.rules.matches(run, true)) {
        counts[this.candidates.ipv4AsPhone]++;
        return 1;
      }
      return 0;
    }
    if (groups === 1) {
      let n = 0;
      if (this.ssnSlot >= 0 && digits === 9 && ssnValid(run.slice(0, 3), run.slice(3, 5), run.slice(5))) {
        counts[this.candidates.ssn]++;
        n++;
      }
      // 8–12 digits: 13 are a barcode (EAN-13) far more often than a national number.
      if (this.phoneSlot >= 0 && digits >= 8 && digits <= 12 && this.rules.nationalNumber(run)) {
        counts[this.candidates.phone]++;
        n++;
      }
      return n;
    }
    // As for strict layouts: without a trunk 0, two groups say too little ("2019 69066", "12345-678").
    if (this.phoneSlot < 0 || digits > 13 || (groups < 3 && run.charCodeAt(0) !== 0x30)) return 0;
    if (groups === 3 && looksLikeDate(run.split(/[ .-]/))) return 0;
    // Grouped as some region prints it, or, in three or more groups after a trunk 0, any national
    // number (faker's and many people's Japanese `06795-6-3144`, which Japan prints `06-7956-3144`):
    // as for unseparated digits, only a column that is mostly such values makes it a phone.
    if (
      !this.rules.matches(run, true) &&
      !(groups >= 3 && run.charCodeAt(0) === 0x30 && this.rules.nationalNumber(digitsOf(run)))
    )
      return 0;
    counts[this.candidates.phone]++;
    return 1;
  }

  /**
   * Whether a number value with fewer than 13 digits needs scanning. Not for the built-in
   * detectors: every layout they accept needs 13+ digits (a card) or characters a number does
   * not have; a configured pattern or term may match any number, though.
   */
  get scansShortNumbers(): boolean {
    return this.extra.length > 0;
  }

  /**
   * Adds each detector's number of findings in `text` to `counts[i]` (i as in `names`), and the
   * candidates to the slots `candidates` names (`counts` has `slots` entries); returns the sum of
   * all it added.
   */
  countInto(text: string, counts: number[] | Float64Array): number {
    const claims = this.claims;
    claims.reset();
    let total = 0;
    for (let i = 0; i < this.text.length; i++) {
      const { detector, slot } = this.text[i];
      if (!detector.mayContain(text)) continue;
      const n = detector.count(text, claims);
      counts[slot] += n;
      total += n;
    }
    if (this.numbers.length > 0 && text.length >= MIN_RUN_LENGTH) {
      NUMBER_RUN.lastIndex = 0;
      for (let m = NUMBER_RUN.exec(text); m !== null; m = NUMBER_RUN.exec(text)) {
        const run = m[0];
        const digits = countDigits(run);
        const plus = run.charCodeAt(0) === PLUS;
        let ipv4Found = 0;
        for (let i = 0; i < this.numbers.length; i++) {
          const { detector, slot } = this.numbers[i];
          if (!detector.worthLooking(run, digits, plus)) continue;
          const n = detector.count(text, run, m.index, claims);
          if (slot === this.ipv4Slot) ipv4Found = n;
          counts[slot] += n;
          total += n;
        }
        if (digits >= 8 && digits <= 13) total += this.countCandidates(text, run, m.index, digits, ipv4Found, counts);
      }
    }
    for (let i = 0; i < this.extra.length; i++) {
      const { detector, slot } = this.extra[i];
      if (!detector.mayContain(text)) continue;
      const n = detector.count(text, claims);
      counts[slot] += n;
      total += n;
    }
    return total;
  }

  /** Findings in `text` per detector name; detectors with none are left out. */
  count(text: string): Record<string, number> {
    const counts = new Array<number>(this.slots).fill(0);
    this.countInto(text, counts);
    const out: Record<string, number> = {};
    this.names.forEach((name, i) => {
      if (counts[i] > 0) out[name] = counts[i];
    });
    return out;
  }
}

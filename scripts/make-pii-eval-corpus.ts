// Generates the HELD-OUT PII evaluation corpus, test/fixtures/pii/eval/corpus.jsonl: real-world
// formats of 11 locales from @faker-js/faker's locale data, kept apart from the tuning corpus
// (scripts/make-pii-corpus.ts), whose generator the detectors were refined against. One JSON object
// per line, `{ locale, text, labels, decoys? }`.
//
// Validity is checked here, independently of src/data/pii: a phone is kept only when
// libphonenumber-js (`max` metadata, full validation) says it is a valid number of the locale's
// region; IBANs by a mod-97 written here; cards by a Luhn written here; SSNs by the SSA's rules
// written here. Each valid phone is planted in the layouts people write it in: as faker wrote it,
// libphonenumber's national format, its international format, and (for regions that print groups
// with spaces) with dots. Look-alikes come from the same locales: dates and prices as Intl formats
// them, postal codes, ISBN-13/EAN-13 barcodes, order and invoice numbers.
//
//   npx tsx scripts/make-pii-eval-corpus.ts [--seed N] [--out FILE]

import fs from 'node:fs';
import path from 'node:path';
import {
  type Faker,
  fakerDE,
  fakerEN_GB,
  fakerEN_IN,
  fakerEN_US,
  fakerES,
  fakerFR,
  fakerIT,
  fakerJA,
  fakerNL,
  fakerPL,
  fakerPT_BR,
} from '@faker-js/faker';
import { parsePhoneNumberWithError, type CountryCode } from 'libphonenumber-js/max';

export const EVAL_SEED = 7_000_001;
export const EVAL_FILE = path.join(__dirname, '..', 'test', 'fixtures', 'pii', 'eval', 'corpus.jsonl');

export interface EvalLine {
  locale: string;
  text: string;
  labels: string[];
  decoys?: string[];
}

interface Locale {
  name: string;
  faker: Faker;
  region: CountryCode;
  intl: string;
  currency: string;
  iban?: string;
}

const LOCALES: Locale[] = [
  { name: 'de', faker: fakerDE, region: 'DE', intl: 'de-DE', currency: 'EUR', iban: 'DE' },
  { name: 'fr', faker: fakerFR, region: 'FR', intl: 'fr-FR', currency: 'EUR', iban: 'FR' },
  { name: 'es', faker: fakerES, region: 'ES', intl: 'es-ES', currency: 'EUR', iban: 'ES' },
  { name: 'it', faker: fakerIT, region: 'IT', intl: 'it-IT', currency: 'EUR', iban: 'IT' },
  { name: 'nl', faker: fakerNL, region: 'NL', intl: 'nl-NL', currency: 'EUR', iban: 'NL' },
  { name: 'pl', faker: fakerPL, region: 'PL', intl: 'pl-PL', currency: 'PLN', iban: 'PL' },
  { name: 'pt_BR', faker: fakerPT_BR, region: 'BR', intl: 'pt-BR', currency: 'BRL', iban: 'BR' },
  { name: 'en_GB', faker: fakerEN_GB, region: 'GB', intl: 'en-GB', currency: 'GBP', iban: 'GB' },
  { name: 'en_IN', faker: fakerEN_IN, region: 'IN', intl: 'en-IN', currency: 'INR' },
  { name: 'ja', faker: fakerJA, region: 'JP', intl: 'ja-JP', currency: 'JPY' },
  { name: 'en_US', faker: fakerEN_US, region: 'US', intl: 'en-US', currency: 'USD' },
];

function mod97Valid(iban: string): boolean {
  const s = iban.replace(/[ -]/g, '').toUpperCase();
  const r = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (const ch of r) rem = /\d/.test(ch) ? (rem * 10 + Number(ch)) % 97 : (rem * 100 + ch.charCodeAt(0) - 55) % 97;
  return rem === 1;
}

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

/** The layouts people write a valid number in; undefined when libphonenumber finds it invalid. */
function phoneLayouts(raw: string, region: CountryCode): string[] | undefined {
  try {
    const parsed = parsePhoneNumberWithError(raw, region);
    if (!parsed.isValid() || parsed.country !== region) return undefined;
    const national = parsed.formatNational();
    const layouts = new Set([parsed.formatInternational(), national]);
    // faker's own layout, when it is a plain number (no extension, no letters).
    if (/^[+\d][\d ().-]+\d$/.test(raw)) layouts.add(raw);
    if (/^\d[\d ]+\d$/.test(national) && national.includes(' ')) layouts.add(national.replace(/ /g, '.'));
    return [...layouts];
  } catch {
    return undefined;
  }
}

const CONTEXTS: Record<string, string[]> = {
  de: ['Tel.: {}', 'Rufnummer {} (Büro)', 'Bitte zurückrufen unter {}.'],
  fr: ['Tél. : {}', 'Appelez le {} svp', 'Contact : {}'],
  es: ['Tel.: {}', 'Llámame al {}.', 'Contacto: {}'],
  it: ['Tel. {}', 'Chiamare il {}', 'Recapito: {}'],
  nl: ['Tel.: {}', 'Bel {} voor info', 'Telefoon: {}'],
  pl: ['Tel. {}', 'Zadzwoń: {}', 'Kontakt: {}'],
  pt_BR: ['Tel.: {}', 'Ligue para {}.', 'Contato: {}'],
  en_GB: ['Tel: {}', 'Ring {} after 5pm', 'Contact: {}'],
  en_IN: ['Mob: {}', 'Call {} today', 'Contact: {}'],
  ja: ['電話 {}', 'TEL: {}', '連絡先 {}'],
  en_US: ['Phone: {}', 'Call me at {}.', 'Contact: {}'],
};

// The corpus is the same on any day: faker's relative dates count back from this
// fixed day, not from the clock (a past() year turned over once and the test failed).
const CORPUS_DATE = '2026-12-02T17:00:00Z';

export function makeEvalCorpus(seed = EVAL_SEED): EvalLine[] {
  const lines: EvalLine[] = [];
  for (const locale of LOCALES) {
    const f = locale.faker;
    f.seed(seed);
    const put = (template: string, value: string): string => template.replace('{}', value);
    const context = (): string => f.helpers.arrayElement(CONTEXTS[locale.name]);
    // Phones: every layout of each valid number.
    let phones = 0;
    for (let attempt = 0; attempt < 400 && phones < 40; attempt++) {
      const layouts = phoneLayouts(f.phone.number(), locale.region);
      if (!layouts) continue;
      phones++;
      for (const layout of layouts)
        lines.push({ locale: locale.name, text: put(context(), layout), labels: ['phone'] });
    }
    // IBANs: paper form, electronic form, lower case, dashes.
    if (locale.iban) {
      for (let i = 0; i < 12; i++) {
        const iban = f.finance.iban({ formatted: true, countryCode: locale.iban });
        if (!mod97Valid(iban)) continue;
        const variants = [iban, iban.replace(/ /g, ''), iban.toLowerCase(), iban.replace(/ /g, '-')];
        for (const v of variants) lines.push({ locale: locale.name, text: `IBAN: ${v}`, labels: ['iban'] });
      }
    }
    // E-mails: the locale's names, and an internationalised TLD in punycode.
    for (let i = 0; i < 15; i++) {
      const email = f.internet.email();
      if (/^[\x21-\x7e]+@[a-z0-9.-]+\.[a-z]{2,}$/i.test(email))
        lines.push({ locale: locale.name, text: `E-mail ${email}`, labels: ['email'] });
    }
    for (const tld of ['xn--p1ai', 'xn--80asehdb', 'xn--fiqs8s']) {
      lines.push({
        locale: locale.name,
        text: `${f.internet.username().replace(/[^A-Za-z0-9._-]/g, '')}@mail.${tld}`,
        labels: ['email'],
      });
    }
    // Cards, checked by a Luhn written here.
    for (let i = 0; i < 8; i++) {
      const card = f.finance.creditCardNumber(f.helpers.arrayElement(['visa', 'mastercard']));
      if (!luhn(card.replace(/\D/g, ''))) continue;
      lines.push({ locale: locale.name, text: `Karte/card ${card}`, labels: ['card'] });
    }
    // SSNs (US only), with dashes, spaces or dots.
    if (locale.region === 'US') {
      for (let i = 0; i < 20; i++) {
        const area = f.number.int({ min: 1, max: 899 });
        if (area === 666) continue;
        const parts = [
          String(area).padStart(3, '0'),
          String(f.number.int({ min: 1, max: 99 })).padStart(2, '0'),
          String(f.number.int({ min: 1, max: 9999 })).padStart(4, '0'),
        ];
        const sep = f.helpers.arrayElement(['-', ' ', '.']);
        lines.push({ locale: locale.name, text: `SSN ${parts.join(sep)}`, labels: ['ssn'] });
      }
    }
    // Look-alikes from the same locale: dates, prices, postal codes, barcodes, order numbers.
    const dates = new Intl.DateTimeFormat(locale.intl, { year: 'numeric', month: '2-digit', day: '2-digit' });
    const prices = new Intl.NumberFormat(locale.intl, { style: 'currency', currency: locale.currency });
    for (let i = 0; i < 15; i++) {
      const decoys: Array<[string, string]> = [
        [`Datum ${dates.format(f.date.between({ from: '1990-01-01', to: '2030-12-31' }))}`, 'phone'],
        [`Total ${prices.format(f.number.float({ min: 1, max: 9_999_999, fractionDigits: 2 }))}`, 'phone'],
        [`PLZ ${f.location.zipCode()}`, 'phone'],
        [`EAN ${f.commerce.isbn({ variant: 13, separator: '' })}`, 'card'],
        [`ISBN ${f.commerce.isbn(13)}`, 'phone'],
        [`Order ${f.string.numeric(6)}-${f.string.numeric(4)}`, 'phone'],
        [`Invoice ${f.date.past({ refDate: CORPUS_DATE }).getFullYear()} ${f.string.numeric(5)}`, 'phone'],
      ];
      for (const [text, kind] of decoys) lines.push({ locale: locale.name, text, labels: [], decoys: [kind] });
    }
  }
  return lines;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const seedAt = args.indexOf('--seed');
  const outAt = args.indexOf('--out');
  const seed = seedAt >= 0 ? Number(args[seedAt + 1]) : EVAL_SEED;
  const out = outAt >= 0 ? args[outAt + 1] : EVAL_FILE;
  const lines = makeEvalCorpus(seed);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  console.log(`wrote ${lines.length} lines to ${out}`);
}

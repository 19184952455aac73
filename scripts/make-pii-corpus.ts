// Generates the labelled PII corpus, test/fixtures/pii/corpus.jsonl: one JSON object per line,
// `{ text, labels, decoys? }`, where `labels` lists one detector name per PII value planted in
// `text`, and `decoys` the detectors whose look-alikes it holds (not PII: they must not count).
// Lines hold real-looking PII of every kind embedded in sentences, and look-alikes that are not
// PII (card numbers failing Luhn or with no issuer, SSNs with a 000/666/9xx area, IBANs failing
// mod-97, versions with octets above 255, timestamps, order ids, prices, numbers too short for a
// phone…). Labels come from how each value was built, with a Luhn and a mod-97 written here, not
// from src/data/pii, so the corpus can judge the detectors.
//
//   npx tsx scripts/make-pii-corpus.ts [--seed N] [--out FILE]
//
// The same seed gives the same file. The corpus test reads the committed file and checks that it
// is what this script makes.

import fs from 'node:fs';
import path from 'node:path';
import { base, en, Faker } from '@faker-js/faker';

export const CORPUS_SEED = 20261125;
export const CORPUS_FILE = path.join(__dirname, '..', 'test', 'fixtures', 'pii', 'corpus.jsonl');

/** Terms of test/fixtures/pii/deny-list.txt and the pattern of test/fixtures/pii/patterns.yaml. */
export const CORPUS_DENY_TERMS = ['Project Bluebird', 'nightjar', 'Operation Larkspur'];
export const CORPUS_PATTERN = { name: 'employee_id', regex: '\\bEMP-\\d{6}\\b' };

export interface CorpusLine {
  text: string;
  labels: string[];
  /** Detectors imitated by look-alikes in `text`, one entry per look-alike. */
  decoys?: string[];
}

/** A generated value: its text and the detector names it plants (empty for a look-alike). */
interface Planted {
  value: string;
  labels: string[];
}

export function makeCorpus(seed = CORPUS_SEED): CorpusLine[] {
  const f = new Faker({ locale: [en, base] });
  f.seed(seed);
  const int = (min: number, max: number): number => f.number.int({ min, max });
  const pick = <T>(xs: readonly T[]): T => f.helpers.arrayElement(xs);
  const chance = (p: number): boolean => f.number.float({ min: 0, max: 1 }) < p;
  const numeric = (length: number): string => f.string.numeric({ length, allowLeadingZeros: true });
  const pad = (n: number, width: number): string => String(n).padStart(width, '0');
  const name = (): string => f.person.fullName();
  const date = (): string => f.date.between({ from: '2019-01-01', to: '2026-12-31' }).toISOString().slice(0, 10);

  // --- checks written independently of src/data/pii ------------------------------------------

  const luhnCheckDigit = (payload: string): string => {
    let sum = 0;
    for (let i = 0; i < payload.length; i++) {
      let d = Number(payload[payload.length - 1 - i]);
      if (i % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      sum += d;
    }
    return String((10 - (sum % 10)) % 10);
  };
  const mod97 = (s: string): number => {
    let r = 0;
    for (const ch of s) r = /\d/.test(ch) ? (r * 10 + Number(ch)) % 97 : (r * 100 + ch.charCodeAt(0) - 55) % 97;
    return r;
  };
  const ibanOk = (compact: string): boolean => mod97(compact.slice(4) + compact.slice(0, 4)) === 1;
  const withIbanCheck = (country: string, bban: string): string => {
    const check = 98 - mod97(bban + country + '00');
    return country + pad(check, 2) + bban;
  };
  const groupsOf4 = (compact: string): string => compact.replace(/(.{4})(?=.)/g, '$1 ');

  // --- payment cards -------------------------------------------------------------------------

  const CARD_SCHEMES: ReadonlyArray<{ prefix: () => string; lengths: readonly number[] }> = [
    { prefix: () => '4', lengths: [16, 16, 16, 16, 13, 19] },
    { prefix: () => String(int(51, 55)), lengths: [16] },
    { prefix: () => String(int(2221, 2720)), lengths: [16] },
    { prefix: () => pick(['34', '37']), lengths: [15] },
    { prefix: () => pick(['6011', '65', String(int(644, 649))]), lengths: [16] },
    { prefix: () => String(int(3528, 3589)), lengths: [16] },
    { prefix: () => pick(['36', '38', String(int(300, 305))]), lengths: [14] },
    { prefix: () => '62', lengths: [16, 19] },
    { prefix: () => pick(['5018', '6759', '6304']), lengths: [16] },
    { prefix: () => String(int(2200, 2204)), lengths: [16] },
  ];
  const luhnNumber = (prefix: string, length: number): string => {
    const payload = prefix + numeric(length - prefix.length - 1);
    return payload + luhnCheckDigit(payload);
  };
  const breakLuhn = (card: string): string => {
    const last = Number(card[card.length - 1]);
    return card.slice(0, -1) + String((last + int(1, 9)) % 10);
  };
  const formatCard = (digits: string): string => {
    const sep = pick([' ', ' ', '-', '']);
    if (sep === '') return digits;
    const layout =
      digits.length === 15
        ? [4, 6, 5]
        : digits.length === 14
          ? [4, 6, 4]
          : digits.length === 13
            ? [4, 4, 5]
            : [4, 4, 4, 4, 3];
    const parts: string[] = [];
    let at = 0;
    for (const size of layout) {
      if (at >= digits.length) break;
      parts.push(digits.slice(at, at + size));
      at += size;
    }
    return parts.join(sep);
  };
  const validCard = (): string => {
    const scheme = pick(CARD_SCHEMES);
    return luhnNumber(scheme.prefix(), pick(scheme.lengths));
  };
  const card = (): Planted => ({ value: formatCard(validCard()), labels: ['card'] });
  const cardLookalike = (): Planted => {
    const kind = int(0, 9);
    if (kind < 6) return { value: formatCard(breakLuhn(validCard())), labels: [] };
    // Luhn-valid, but no scheme issues this prefix (7x, 8x but 81/82, 9x but 9792, 31–33, 0x).
    if (kind < 8)
      return {
        value: formatCard(luhnNumber(pick(['70', '77', '85', '88', '90', '95', '31', '33', '07']), 16)),
        labels: [],
      };
    // Luhn-valid and a known prefix, but a length that scheme never uses.
    const [prefix, length] = pick([
      ['37', 16],
      ['34', 17],
      ['4', 15],
      ['4', 14],
      ['51', 15],
      ['55', 18],
    ] as const);
    return { value: formatCard(luhnNumber(prefix, length)), labels: [] };
  };

  // --- SSNs ----------------------------------------------------------------------------------

  const formatSsn = (area: number, group: number, serial: number): string => {
    const sep = chance(0.85) ? '-' : ' ';
    return [pad(area, 3), pad(group, 2), pad(serial, 4)].join(sep);
  };
  const ssn = (): Planted => {
    let area = int(1, 899);
    if (area === 666) area = 665;
    return { value: formatSsn(area, int(1, 99), int(1, 9999)), labels: ['ssn'] };
  };
  const ssnLookalike = (): Planted => {
    const kind = int(0, 4);
    const area = kind === 0 ? 0 : kind === 1 ? 666 : kind === 2 ? int(900, 999) : int(1, 665);
    return { value: formatSsn(area, kind === 3 ? 0 : int(1, 99), kind === 4 ? 0 : int(1, 9999)), labels: [] };
  };

  // --- IBANs ---------------------------------------------------------------------------------

  const validIban = (): string => {
    const compact = f.finance.iban();
    if (!ibanOk(compact)) throw new Error(`faker made an IBAN that fails mod-97: ${compact}`);
    return compact;
  };
  const formatIban = (compact: string): string => (chance(0.5) ? groupsOf4(compact) : compact);
  const iban = (): Planted => ({ value: formatIban(validIban()), labels: ['iban'] });
  const ibanLookalike = (): Planted => {
    const compact = validIban();
    const kind = int(0, 5);
    if (kind < 4) {
      // One digit of the account changed: mod-97 catches every single substitution.
      const digitsAt = [...compact.slice(4)].map((c, i) => (/\d/.test(c) ? i + 4 : -1)).filter((i) => i >= 0);
      const at = pick(digitsAt);
      const changed = compact.slice(0, at) + String((Number(compact[at]) + int(1, 9)) % 10) + compact.slice(at + 1);
      if (ibanOk(changed)) throw new Error('a changed IBAN digit kept the checksum');
      return { value: formatIban(changed), labels: [] };
    }
    if (kind === 4) {
      // No such country, checksum valid.
      return { value: formatIban(withIbanCheck(pick(['ZZ', 'QX', 'XY']), compact.slice(4))), labels: [] };
    }
    // One character short of the country's length, checksum recomputed.
    return { value: formatIban(withIbanCheck(compact.slice(0, 2), compact.slice(4, -1))), labels: [] };
  };

  // --- IP addresses --------------------------------------------------------------------------

  const ipv4 = (): Planted => ({ value: f.internet.ipv4(), labels: ['ipv4'] });
  const ipv4Lookalike = (): Planted => {
    const octets = [int(1, 255), int(0, 255), int(0, 255), int(0, 255)].map(String);
    const kind = int(0, 4);
    if (kind < 2) {
      octets[int(0, 3)] = String(int(256, 999));
      return { value: octets.join('.'), labels: [] };
    }
    if (kind === 2) return { value: `v${int(0, 9)}.${int(0, 20)}.${int(0, 50)}.${int(0, 200)}`, labels: [] };
    if (kind === 3)
      return { value: `${int(1, 9)}.${int(0, 20)}.${int(0, 9)}.${int(0, 99)}.${int(0, 999)}`, labels: [] };
    return { value: `1.3.6.1.4.1.${int(1, 60000)}.${int(1, 9)}`, labels: [] };
  };
  const hexGroup = (): string =>
    f.string.hexadecimal({ length: int(1, 4), casing: 'lower', prefix: '' }).replace(/^0+(?=.)/, '');
  const ipv6 = (): Planted => {
    const kind = int(0, 5);
    let value: string;
    if (kind === 0) value = f.internet.ipv6();
    else if (kind === 1) value = `fe80::${hexGroup()}:${hexGroup()}:${hexGroup()}:${hexGroup()}`;
    else if (kind === 2) value = `::ffff:${f.internet.ipv4()}`;
    else if (kind === 3) value = `2001:db8:${hexGroup()}::${hexGroup()}`;
    else if (kind === 4) {
      const groups = Array.from({ length: 8 }, hexGroup);
      const from = int(1, 5);
      const to = int(from + 1, 7);
      value = `${groups.slice(0, from).join(':')}::${groups.slice(to).join(':')}`;
    } else value = `[2001:${hexGroup()}:${hexGroup()}::${hexGroup()}]:${int(1024, 65535)}`;
    return { value: chance(0.15) ? value.toUpperCase() : value, labels: ['ipv6'] };
  };
  const ipv6Lookalike = (): Planted => {
    const value = pick([
      () => `${pad(int(0, 23), 2)}:${pad(int(0, 59), 2)}:${pad(int(0, 59), 2)}`,
      () => `${date()}T${pad(int(0, 23), 2)}:${pad(int(0, 59), 2)}:${pad(int(0, 59), 2)}Z`,
      () => f.internet.mac(),
      () => f.internet.mac({ separator: '-' }),
      () => pick(['std::vector', 'std::string', 'Foo::Bar', 'ActiveRecord::Base', 'crate::config']),
      () => `${int(1, 32)}:${int(1, 20)}`,
      () =>
        `${hexGroup()}:${hexGroup()}:${hexGroup()}:${hexGroup()}:${hexGroup()}:${hexGroup()}:${hexGroup()}:${hexGroup()}:${hexGroup()}`,
      () => `2001:db8::${f.string.hexadecimal({ length: 5, casing: 'lower', prefix: '' })}`,
    ])();
    return { value, labels: [] };
  };

  // --- phones --------------------------------------------------------------------------------

  const nanpParts = (): [string, string, string] => [String(int(200, 999)), String(int(200, 999)), numeric(4)];
  const phone = (): Planted => {
    const [a, b, c] = nanpParts();
    const value = pick([
      () => `(${a}) ${b}-${c}`,
      () => `${a}-${b}-${c}`,
      () => `${a}.${b}.${c}`,
      () => `${a} ${b} ${c}`,
      () => `1-${pick(['800', '888', '877'])}-${b}-${c}`,
      () => `+1 ${a} ${b} ${c}`,
      () => `+1-${a}-${b}-${c}`,
      () => `+1${a}${b}${c}`,
      () => `+1 (${a}) ${b}-${c}`,
      () => `+44 20 ${numeric(4)} ${numeric(4)}`,
      () => `+44 7${numeric(3)} ${numeric(6)}`,
      () => `020 ${numeric(4)} ${numeric(4)}`,
      () => `07${numeric(3)} ${numeric(6)}`,
      () => `+44 (0)161 ${numeric(3)} ${numeric(4)}`,
      () => `+33 ${int(1, 9)} ${numeric(2)} ${numeric(2)} ${numeric(2)} ${numeric(2)}`,
      () => `0${int(1, 9)} ${numeric(2)} ${numeric(2)} ${numeric(2)} ${numeric(2)}`,
      () => `0${int(6, 7)}.${numeric(2)}.${numeric(2)}.${numeric(2)}.${numeric(2)}`,
      () => `+49 30 ${numeric(8)}`,
      () => `030 ${numeric(8)}`,
      () => `+49 15${int(1, 9)} ${numeric(8)}`,
      () => `015${int(1, 9)} ${numeric(8)}`,
      () => `+61 2 ${numeric(4)} ${numeric(4)}`,
      () => `02 ${numeric(4)} ${numeric(4)}`,
      () => `+91 9${numeric(4)} ${numeric(5)}`,
      () => `+34${int(6, 7)}${numeric(8)}`,
      () => `+81 3-${numeric(4)}-${numeric(4)}`,
      () => `+55 11 9${numeric(4)}-${numeric(4)}`,
      () => `+353 1 ${numeric(3)} ${numeric(4)}`,
    ])();
    return { value, labels: ['phone'] };
  };
  const phoneLookalike = (): Planted => {
    const value = pick([
      () => `${int(200, 999)}-${numeric(4)}`,
      () => `0800 ${numeric(3)}`,
      () => `+1 ${int(200, 999)} ${int(200, 999)}`,
      () => `+1 555 ${numeric(4)}`,
      () => `+44 20 ${numeric(3)}`,
      () => `${int(100, 199)}-${int(200, 999)}-${numeric(4)}`,
      () => date(),
      () => `${pad(int(1, 12), 2)}/${pad(int(1, 28), 2)}/${int(2019, 2026)}`,
      () => `${pad(int(1, 28), 2)}.${pad(int(1, 12), 2)}.${int(2019, 2026)}`,
      () => `${date()} ${pad(int(0, 23), 2)}:${pad(int(0, 59), 2)}`,
      () => `$${int(1, 99)},${numeric(3)}.${numeric(2)}`,
      () => `€ ${int(1, 999)}.${numeric(3)},${numeric(2)}`,
      () => `ORD-${date().replace(/-/g, '')}-${numeric(4)}`,
      () => `#${int(100000, 999999)}`,
      () => String(int(1_500_000_000, 1_800_000_000)),
      () => `${numeric(5)}-${numeric(4)}`,
      () => `978-${int(0, 1)}-${numeric(2)}-${numeric(6)}-${int(0, 9)}`,
      () => `${int(1, 9)}.${int(0, 99)}.${int(0, 99)}`,
      () => `INV ${int(2019, 2026)} ${numeric(5)}`,
    ])();
    return { value, labels: [] };
  };

  // --- emails --------------------------------------------------------------------------------

  const email = (): Planted => {
    const first = f.person.firstName();
    const last = f.person.lastName();
    const value = pick([
      () => f.internet.email({ firstName: first, lastName: last }),
      () =>
        f.internet.email({
          firstName: first,
          lastName: last,
          provider: `${f.internet.domainWord()}.${pick(['co.uk', 'de', 'io', 'org', 'com.au'])}`,
        }),
      () => `${first.toLowerCase()}.${last.toLowerCase()}+${f.word.noun()}@${f.internet.domainName()}`,
      () => `${f.internet.username().toLowerCase()}@mail.${f.internet.domainName()}`,
      () => f.internet.exampleEmail({ firstName: first, lastName: last }).toUpperCase(),
    ])();
    return { value, labels: ['email'] };
  };
  const emailLookalike = (): Planted => {
    const value = pick([
      () => `@${f.internet.username()}`,
      () => `${f.internet.username()}@localhost`,
      () => `${pick(['lodash', 'react', 'zod', 'vitest', '@types/node'])}@${int(0, 20)}.${int(0, 20)}.${int(0, 20)}`,
      () => `meet @ ${int(1, 12)}pm`,
      () => `${f.internet.username()}@${f.internet.domainWord()}`,
      () => `${int(2, 20)} @ $${int(1, 99)}.${numeric(2)}`,
    ])();
    return { value, labels: [] };
  };

  // --- configured pattern and deny-list ------------------------------------------------------

  const employeeId = (): Planted => ({ value: `EMP-${numeric(6)}`, labels: ['employee_id'] });
  const employeeIdLookalike = (): Planted => ({
    value: pick([`EMP-${numeric(5)}`, `TEMP-${numeric(6)}`, `EMP-${numeric(7)}`]),
    labels: [],
  });
  const denyTerm = (): Planted => {
    const term = pick(CORPUS_DENY_TERMS);
    const value = pick([term, term.toUpperCase(), term.toLowerCase()]);
    return { value, labels: ['deny-list'] };
  };
  const denyLookalike = (): Planted => ({
    value: pick([
      'bluebirds',
      'the Bluebird Cafe project',
      'nightjars',
      'Nightjarring',
      'Larkspur Avenue',
      'operation of larkspurs',
    ]),
    labels: [],
  });

  // --- sentences -----------------------------------------------------------------------------

  const sentence = (kind: string, v: string): string => {
    const n = name();
    const templates: Record<string, Array<() => string>> = {
      email: [
        () => `Please reply to ${v} before Friday.`,
        () => `Contact: ${n} <${v}>`,
        () => `${n} changed the login address to ${v} on ${date()}.`,
        () => `Forwarded from ${v}: "${f.lorem.sentence()}"`,
      ],
      card: [
        () => `Paid with card ${v}, exp ${pad(int(1, 12), 2)}/${int(26, 31)}.`,
        () => `${n} asked us to update the card on file to ${v}.`,
        () => `card_number=${v};status=declined`,
        () => `Number ${v} was charged $${int(5, 900)}.${numeric(2)} on ${date()}.`,
      ],
      ssn: [
        () => `SSN: ${v}`,
        () => `${n}'s social security number is ${v}, see the attached form.`,
        () => `Applicant ${n} (SSN ${v}) signed on ${date()}.`,
        () => `tax id ${v} on file`,
      ],
      iban: [
        () => `Please wire the refund to IBAN ${v}.`,
        () => `${n} banks with ${f.company.name()}, account ${v}.`,
        () => `iban=${v}`,
        () => `Beneficiary: ${n}; account: ${v}; reference ${f.string.alphanumeric(8).toUpperCase()}.`,
      ],
      ipv4: [
        () => `Login from ${v} at ${date()}.`,
        () => `client_ip=${v} status=200 bytes=${int(100, 99999)}`,
        () => `${n} connected through ${v}:${int(1024, 65535)}.`,
        () => `Blocked request (${v}) after ${int(3, 10)} attempts.`,
      ],
      ipv6: [
        () => `Login from ${v} at ${date()}.`,
        () => `client_ip=${v} status=200`,
        () => `${n}'s router announced ${v} today.`,
        () => `Firewall rule added for ${v}.`,
      ],
      phone: [
        () => `Call me at ${v} after 5pm.`,
        () => `${n}, tel. ${v}`,
        () => `Phone: ${v}; fax none.`,
        () => `Left a voicemail for ${n} on ${v} about order ${int(10000, 99999)}.`,
      ],
      employee_id: [() => `Badge issued to ${n} (${v}).`, () => `Employee ${v} joined ${f.commerce.department()}.`],
      'deny-list': [() => `Status of ${v}: on hold.`, () => `${n} briefed the board on ${v} yesterday.`],
    };
    return pick(templates[kind])();
  };
  const lookalikeSentence = (v: string): string =>
    pick([
      () => `Reference ${v} in the ${f.commerce.department()} report.`,
      () => `${f.company.name()} logged ${v} on ${date()}.`,
      () => `value=${v}`,
      () => `We saw "${v}" in the ${f.system.fileName()} file.`,
      () => `Order ${int(10000, 99999)}: ${v}, shipped ${int(1, 20)} items.`,
      () => `${f.lorem.sentence({ min: 3, max: 8 }).replace(/\.$/, '')} ${v}.`,
    ])();

  const positives: Array<[string, () => Planted, number]> = [
    ['email', email, 330],
    ['card', card, 400],
    ['ssn', ssn, 280],
    ['iban', iban, 300],
    ['ipv4', ipv4, 260],
    ['ipv6', ipv6, 280],
    ['phone', phone, 420],
    ['employee_id', employeeId, 80],
    ['deny-list', denyTerm, 80],
  ];
  const lookalikes: Array<[string, () => Planted, number]> = [
    ['card', cardLookalike, 420],
    ['ssn', ssnLookalike, 260],
    ['iban', ibanLookalike, 240],
    ['ipv4', ipv4Lookalike, 220],
    ['ipv6', ipv6Lookalike, 200],
    ['phone', phoneLookalike, 380],
    ['email', emailLookalike, 140],
    ['employee_id', employeeIdLookalike, 50],
    ['deny-list', denyLookalike, 50],
  ];

  const lines: CorpusLine[] = [];
  for (const [kind, make, count] of positives) {
    for (let i = 0; i < count; i++) {
      const planted = make();
      lines.push({ text: sentence(kind, planted.value), labels: planted.labels });
    }
  }
  for (const [kind, make, count] of lookalikes) {
    for (let i = 0; i < count; i++) lines.push({ text: lookalikeSentence(make().value), labels: [], decoys: [kind] });
  }
  // Several values in one line: PII next to look-alikes.
  const anyPositive = positives.slice(0, 7).map(([kind, make]) => ({ kind, make }));
  for (let i = 0; i < 300; i++) {
    const parts: string[] = [];
    const labels: string[] = [];
    const decoys: string[] = [];
    for (let k = int(2, 3); k > 0; k--) {
      if (chance(0.6)) {
        const { kind, make } = pick(anyPositive);
        const planted = make();
        parts.push(sentence(kind, planted.value));
        labels.push(...planted.labels);
      } else {
        const [kind, make] = pick(lookalikes);
        parts.push(lookalikeSentence(make().value));
        decoys.push(kind);
      }
    }
    lines.push({ text: parts.join(' '), labels, ...(decoys.length > 0 ? { decoys } : {}) });
  }
  // Plain prose with numbers and nothing else.
  for (let i = 0; i < 200; i++) {
    lines.push({
      text: `${f.lorem.sentence()} ${f.company.catchPhrase()}: ${int(1, 500)} units at $${int(1, 999)}.${numeric(2)} (${date()}).`,
      labels: [],
    });
  }
  return f.helpers.shuffle(lines);
}

function main(args: string[]): void {
  const value = (flag: string): string | undefined => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const seed = value('--seed') === undefined ? CORPUS_SEED : Number(value('--seed'));
  if (!Number.isSafeInteger(seed)) throw new Error('--seed needs an integer');
  const out = value('--out') ?? CORPUS_FILE;
  const lines = makeCorpus(seed);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const planted = lines.reduce((n, l) => n + l.labels.length, 0);
  console.log(`wrote ${out}: ${lines.length} lines, ${planted} planted values, ${fs.statSync(out).size} bytes`);
}

if (require.main === module) main(process.argv.slice(2));

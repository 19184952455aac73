import { describe, expect, it } from 'vitest';
import {
  BUILTIN_DETECTORS,
  cardIssuer,
  cardNumberValid,
  ibanChecksumValid,
  ibanValid,
  ipv4Valid,
  ipv6Valid,
  luhnValid,
  phoneNumberValid,
  PiiDetectors,
  ssnValid,
} from '../../../src/data/pii/detectors';

const all = new PiiDetectors();
const count = (text: string): Record<string, number> => all.count(text);

describe('email', () => {
  it.each([
    'write to jane.doe@example.com today',
    'JANE.DOE+INVOICES@MAIL.EXAMPLE.CO.UK',
    'Contact: Jane <j_d%x-1@sub-domain.example.io>.',
  ])('finds one in %s', (text) => expect(count(text)).toEqual({ email: 1 }));

  it.each([
    '@janedoe on social',
    'root@localhost',
    'npm i zod@4.1.2',
    'meet @ 5pm',
    'a..b@example.com is broken',
    'x@-bad-.com',
  ])('finds none in %s', (text) => expect(count(text).email).toBeUndefined());

  it('counts every address in a value', () => {
    expect(count('a@example.com, b@example.org; c@example.net')).toEqual({ email: 3 });
  });
});

describe('US SSN', () => {
  it('applies the area, group and serial rules', () => {
    expect(ssnValid('123', '45', '6789')).toBe(true);
    expect(ssnValid('000', '45', '6789')).toBe(false);
    expect(ssnValid('666', '45', '6789')).toBe(false);
    expect(ssnValid('900', '45', '6789')).toBe(false);
    expect(ssnValid('999', '45', '6789')).toBe(false);
    expect(ssnValid('123', '00', '6789')).toBe(false);
    expect(ssnValid('123', '45', '0000')).toBe(false);
    expect(ssnValid('078', '05', '1120')).toBe(false);
  });

  it.each(['SSN 123-45-6789', 'ssn: 899 01 0001', 'ids 001-01-0001.'])('finds one in %s', (text) =>
    expect(count(text)).toEqual({ ssn: 1 }),
  );

  it.each([
    '000-12-3456',
    '666-12-3456',
    '912-34-5678',
    '123-00-4567',
    '123-45-0000',
    '123-45 6789',
    'ORD-123-45-6789x',
    '1234-56-7890',
  ])('finds none in %s', (text) => expect(count(text).ssn).toBeUndefined());
});

describe('payment cards', () => {
  it('checks Luhn, the issuer prefix and the length for that issuer', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(cardIssuer('378282246310005')).toBe('amex');
    expect(cardIssuer('3782822463100050')).toBeUndefined();
    expect(cardIssuer('5500000000000004')).toBe('mastercard');
    expect(cardIssuer('2221000000000009')).toBe('mastercard');
    expect(cardIssuer('7000000000000000')).toBeUndefined();
    expect(cardNumberValid('4111111111111111')).toBe(true);
    // Luhn-valid, but no scheme issues 16-digit numbers starting with 7.
    expect(cardNumberValid('7000000000000002')).toBe(false);
  });

  it.each([
    '4111111111111111',
    'card 4111 1111 1111 1111 exp 12/27',
    'card 4111-1111-1111-1111.',
    'Amex 3782 822463 10005',
    'Diners 3056 930902 5904',
    'visa 4222222222222',
    'in 2024 4111111111111111',
    'ref 4111111111111111 2',
    'card 4111111111111111 12/27',
    'card_number=6011111111111117;',
  ])('finds one in %s', (text) => expect(count(text)).toEqual({ card: 1 }));

  it.each([
    '4111 1111 1111 1112',
    '7000 0000 0000 0002',
    '3782 8224 6310 0050',
    '4111-1111 1111-1111',
    '41 11 11 11 11 11 11 11',
    '1234 4111 1111 1111 1111',
    '0.4111111111111111',
    'ORD-4111111111111111',
    '41111111111111111111111',
    '5514 7982 0753 6522 67',
  ])('finds none in %s', (text) => expect(count(text).card).toBeUndefined());
});

describe('IBAN', () => {
  it('checks the country length table and mod-97', () => {
    expect(ibanValid('DE89370400440532013000')).toBe(true);
    expect(ibanValid('DE89 3704 0044 0532 0130 00')).toBe(true);
    expect(ibanValid('DE88370400440532013000')).toBe(false);
    expect(ibanValid('DE8937040044053201300')).toBe(false);
    expect(ibanChecksumValid('GB82WEST12345698765432')).toBe(true);
    expect(ibanValid('ZZ82WEST12345698765432')).toBe(false);
  });

  it.each([
    'IBAN DE89 3704 0044 0532 0130 00.',
    'iban=GB82WEST12345698765432',
    'NO9386011117947 is short',
    'MT84MALT011000012345MTLCAST001S',
  ])('finds one in %s', (text) => expect(count(text)).toEqual({ iban: 1 }));

  it.each([
    'DE88 3704 0044 0532 0130 00',
    'GB82WEST1234569876543',
    'GB82WEST123456987654321',
    'XDE89370400440532013000',
  ])('finds none in %s', (text) => expect(count(text)).toEqual({}));

  it('claims its digits: an IBAN is not also a phone number or a card, valid or not', () => {
    expect(count('pay to GB29 NWBK 6016 1331 9268 19')).toEqual({ iban: 1 });
    expect(count('pay to DE89 3704 0044 0532 0130 00')).toEqual({ iban: 1 });
    expect(count('pay to DE88 3704 0044 0532 0130 00')).toEqual({});
  });
});

describe('IP addresses', () => {
  it('IPv4: four octets 0–255 without leading zeros', () => {
    expect(ipv4Valid('192.168.1.10')).toBe(true);
    expect(ipv4Valid('255.255.255.255')).toBe(true);
    expect(ipv4Valid('256.1.1.1')).toBe(false);
    expect(ipv4Valid('01.2.3.4')).toBe(false);
    expect(ipv4Valid('1.2.3')).toBe(false);
  });

  it.each(['from 10.0.0.1', 'client_ip=203.0.113.7 ok', '(192.168.0.1)', '10.0.0.1:8080'])(
    'finds an IPv4 address in %s',
    (text) => expect(count(text)).toEqual({ ipv4: 1 }),
  );

  it.each(['version 10.300.2.1', 'v1.2.3.4', '1.2.3.4.5', 'OID 1.3.6.1.4.1.311', 'on 15.03.2024'])(
    'finds none in %s',
    (text) => expect(count(text)).toEqual({}),
  );

  it('IPv6: full, compressed and IPv4-mapped forms', () => {
    for (const ok of [
      '2001:0db8:85a3:0000:0000:8a2e:0370:7334',
      '2001:db8::1',
      'fe80::1ff:fe23:4567:890a',
      '::ffff:192.0.2.1',
      '::1',
      '1::',
    ]) {
      expect(ipv6Valid(ok), ok).toBe(true);
    }
    for (const bad of [
      '::',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8:9',
      '2001:db8::12345',
      '1::2::3',
      '10:30:00',
      '::ffff:300.0.2.1',
    ]) {
      expect(ipv6Valid(bad), bad).toBe(false);
    }
  });

  it.each([
    'from 2001:db8::8a2e:370:7334.',
    'at [2001:db8::1]:443',
    'mapped ::ffff:192.0.2.1 here',
    'FE80::1FF:FE23:4567:890A',
  ])('finds one IPv6 address (and no IPv4) in %s', (text) => expect(count(text)).toEqual({ ipv6: 1 }));

  it.each(['at 10:30:00', 'std::vector<int>', 'Foo::Bar', 'mac 00:1A:2B:3C:4D:5E', '2024-03-15T10:30:00Z', '16:9'])(
    'finds none in %s',
    (text) => expect(count(text)).toEqual({}),
  );
});

describe('phone numbers', () => {
  it.each([
    '(415) 555-0132',
    '415-555-0132',
    '415.555.0132',
    '1-800-555-0199',
    '+1 415 555 0132',
    '+14155550132',
    '+44 20 7946 0958',
    '+44 (0)20 7946 0958',
    '020 7946 0958',
    '07700 900123',
    '01 23 45 67 89',
    '+33 1 23 45 67 89',
    '030 12345678',
    '0151 23456789',
    '+49 30 12345678',
    '+81 3-1234-5678',
  ])('accepts %s', (phone) => {
    expect(phoneNumberValid(phone)).toBe(true);
    expect(count(`call ${phone} today`)).toEqual({ phone: 1 });
  });

  it.each([
    '555-0132',
    '0800 123',
    '+1 415 555',
    '+1 555 0132',
    '123-456-7890',
    '415-555.0132',
    '2024-03-15',
    '03/15/2024',
    '15.03.2024 10.30',
    '$1,234,567.89',
    '1710505200',
    '4155550132',
    '94107-1234',
    '978-0-30-640615-2',
    '0783 7136 1092 6066',
    'ORD-415-555-0132',
    '2024-03-05-1234',
    '2024-03-05 1234 5678',
  ])('finds none in %s', (text) => expect(count(`ref ${text} ok`)).toEqual({}));

  it('is no phone when it starts with a date, yet finds a phone written after a date', () => {
    expect(phoneNumberValid('2024-03-05-1234')).toBe(false);
    expect(phoneNumberValid('2024-03-05 415-555-0132')).toBe(false);
    expect(count('2024-03-05 415-555-0132')).toEqual({ phone: 1 });
  });

  it('finds a number next to a short one, not inside a longer run', () => {
    expect(count('Apt 12 415-555-0132')).toEqual({ phone: 1 });
    expect(count('6759 0905 6370 1496')).toEqual({});
  });
});

describe('patterns and the deny-list', () => {
  const detectors = new PiiDetectors({
    builtins: [],
    patterns: [{ name: 'employee_id', regex: /\bEMP-\d{6}\b/ }],
    denyList: ['Project Bluebird', 'nightjar'],
  });

  it('counts every match of a pattern', () => {
    expect(detectors.count('EMP-123456, EMP-654321 and EMP-12345')).toEqual({ employee_id: 2 });
  });

  it('matches deny-list terms case-insensitively, as whole words, across any whitespace', () => {
    expect(detectors.count('PROJECT   bluebird meets Nightjar')).toEqual({ 'deny-list': 2 });
    expect(detectors.count('nightjars and bluebirds and projectbluebird')).toEqual({});
    expect(detectors.count('the nightjar-like bird')).toEqual({ 'deny-list': 1 });
  });

  it('refuses a pattern named like another detector', () => {
    expect(() => new PiiDetectors({ patterns: [{ name: 'email', regex: /x/ }] })).toThrow(/name of another detector/);
    expect(() => new PiiDetectors({ patterns: [{ name: 'deny-list', regex: /x/ }] })).toThrow(
      /name of another detector/,
    );
  });

  it('ignores zero-length matches instead of looping', () => {
    const loose = new PiiDetectors({ builtins: [], patterns: [{ name: 'maybe', regex: /x*/ }] });
    expect(loose.count('axxbx')).toEqual({ maybe: 2 });
  });
});

describe('PiiDetectors', () => {
  it('runs the built-in detectors in their fixed order, then patterns, then the deny-list', () => {
    const detectors = new PiiDetectors({
      builtins: ['phone', 'email'],
      patterns: [{ name: 'p', regex: /q/ }],
      denyList: ['x'],
    });
    expect(detectors.names).toEqual(['email', 'phone', 'p', 'deny-list']);
    expect(new PiiDetectors().names).toEqual([...BUILTIN_DETECTORS]);
  });

  it('rejects an unknown built-in', () => {
    expect(() => new PiiDetectors({ builtins: ['passport' as never] })).toThrow(/unknown detector "passport"/);
  });

  it('answers with counts only', () => {
    const text = 'jane@example.com 4111 1111 1111 1111 123-45-6789';
    const counts = new Float64Array(all.names.length);
    expect(all.countInto(text, counts)).toBe(3);
    expect(JSON.stringify(all.count(text))).not.toMatch(/jane|4111|6789/);
  });

  it('finds values side by side in one run of digits', () => {
    expect(count('4111 1111 1111 1111 123-45-6789')).toEqual({ card: 1, ssn: 1 });
    expect(count('4111-1111-1111-1111 415-555-0132')).toEqual({ card: 1, phone: 1 });
  });

  it('counts each span once: digits inside an email are not a phone number', () => {
    expect(count('reply to 4155550132.415-555-0132@example.com')).toEqual({ email: 1 });
  });
});

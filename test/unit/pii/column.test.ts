// Column-level evidence: a column's name and the share of its values that match decide whether
// unseparated (or loosely grouped, or dotted) numbers count as phones or SSNs, and set the
// confidence of each column finding. Through scanCsv (end to end) and the column module itself.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { columnFindings, confidence, kindOfName } from '../../../src/data/pii/column';
import { PiiDetectors } from '../../../src/data/pii/detectors';
import { scanCsv, scanSqlite, type PiiFinding } from '../../../src/data/pii/scan';
import { renderScan } from '../../../src/cli/data/scan';
import { describeFindings } from '../../../src/domain/data';

const detectors = new PiiDetectors();

/** The column findings of `values` in a column named `name`, as the scan tallies them. */
function findingsOf(name: string, values: readonly string[]) {
  const counts = new Array<number>(detectors.slots).fill(0);
  const valuesWith = new Array<number>(detectors.slots).fill(0);
  for (const value of values) {
    const one = new Array<number>(detectors.slots).fill(0);
    detectors.countInto(value, one);
    one.forEach((n, i) => {
      counts[i] += n;
      if (n > 0) valuesWith[i]++;
    });
  }
  return columnFindings(detectors, name, { values: values.length, counts, valuesWith });
}

const byDetector = (findings: ReadonlyArray<{ detector: string; count: number }>) =>
  Object.fromEntries(findings.map((f) => [f.detector, f.count]));

// Valid national numbers (libphonenumber): Australian mobiles, a French mobile, Spanish mobiles.
const UNSEPARATED = ['0423660791', '0412345678', '0612345678', '0498765432', '0611223344', '0433221100'];

describe('column evidence', () => {
  it('a value alone: unseparated digits, dash-grouped and dotted numbers are no phone finding', () => {
    expect(detectors.count('0423660791')).toEqual({});
    expect(detectors.count('612-345-678')).toEqual({});
    expect(detectors.count('123456789')).toEqual({});
  });

  it('unseparated digits count as phones in a column named for phones', () => {
    for (const name of ['phone', 'mobile_number', 'tel', 'Telefon', 'msisdn', 'contact_phone']) {
      expect(byDetector(findingsOf(name, UNSEPARATED.slice(0, 2))), name).toEqual({ phone: 2 });
    }
  });

  it('…and in an unnamed column that is mostly such values, but not when they are few', () => {
    expect(byDetector(findingsOf('c', UNSEPARATED))).toEqual({ phone: 6 });
    const mostlyText = [UNSEPARATED[0], 'paid', 'open', 'closed', 'paid'];
    expect(byDetector(findingsOf('c', mostlyText))).toEqual({});
    expect(byDetector(findingsOf('status_note', ['ref 0423660791 sent', 'ok', 'ok']))).toEqual({});
  });

  it('a column named for another kind takes no unseparated phones, even when all values are such', () => {
    expect(byDetector(findingsOf('ssn', ['0423660791', '0412345678']))).toEqual({});
  });

  it('13-digit barcodes and two-group numbers are not candidates, even in a column of nothing else', () => {
    expect(byDetector(findingsOf('c', ['4006381333931', '9783161484100', '5901234123457']))).toEqual({});
    expect(byDetector(findingsOf('c', ['2019 69066', '2021 12345', '2023 55555']))).toEqual({});
  });

  it('numbers grouped as a region groups them but with dashes are phones in a phone column', () => {
    const values = ['612-345-678', '912-345-678', '678-123-456'];
    expect(byDetector(findingsOf('telefono', values))).toEqual({ phone: 3 });
    expect(byDetector(findingsOf('c', values))).toEqual({ phone: 3 });
    expect(byDetector(findingsOf('note', ['paid', 'paid', 'ref 612-345-678']))).toEqual({});
  });

  it('national numbers in three dash groups after a trunk 0, laid out unlike the region, are phones in a phone column', () => {
    // Japan prints these 06-7956-3144 and 0877-28-5268; people (and faker's ja locale) write 5-1-4.
    const values = ['06795-6-3144', '08772-8-5268', '03296-1-7207'];
    expect(values.map((v) => detectors.count(v))).toEqual([{}, {}, {}]);
    expect(byDetector(findingsOf('c', values))).toEqual({ phone: 3 });
    expect(byDetector(findingsOf('note', ['paid', 'paid', 'ref 06795-6-3144']))).toEqual({});
    // Two groups stay out, as without a trunk 0 (an order or invoice number's layout).
    expect(byDetector(findingsOf('c', ['12345-6-7890', '23456-7-8901', '34567-8-9012']))).toEqual({});
  });

  it('dotted numbers that are also dotted quads are phones in a phone column, addresses elsewhere', () => {
    // Polish landlines printed with dots: 12.345.67.89 is also a valid IPv4 address.
    const values = ['22.123.45.67', '12.145.67.89', '58.123.45.67'];
    expect(byDetector(findingsOf('phone', values))).toEqual({ phone: 3 });
    expect(byDetector(findingsOf('client_ip', values))).toEqual({ ipv4: 3 });
    expect(byDetector(findingsOf('c', values))).toEqual({ ipv4: 3 });
    const mixed = [...values.slice(0, 2), '22 123 45 67', '12 345 67 89', '58 123 45 67'];
    expect(byDetector(findingsOf('c', mixed))).toEqual({ phone: 5 });
  });

  it('nine unseparated digits are SSNs in an SSN column, phones in a phone column, nothing in prose', () => {
    const values = ['123456789', '234567890', '345678901'];
    expect(byDetector(findingsOf('ssn', values))).toEqual({ ssn: 3 });
    expect(byDetector(findingsOf('social_security', values))).toEqual({ ssn: 3 });
    expect(byDetector(findingsOf('c', values))).toEqual({ ssn: 3 });
    expect(byDetector(findingsOf('note', ['case 123456789 closed', 'ok', 'ok', 'ok']))).toEqual({});
    // SSA rules: area 000, 666 and 9xx are never issued.
    expect(byDetector(findingsOf('ssn', ['000123456', '666123456', '912345678']))).toEqual({});
  });

  it('a column that is mostly separated SSNs takes its unseparated ones too', () => {
    const values = ['123-45-6789', '234-56-7890', '345678901'];
    expect(byDetector(findingsOf('c', values))).toEqual({ ssn: 3 });
  });

  it('confidence: raised by a matching name and a high share, lowered by another name and stray matches', () => {
    const named = findingsOf('phone', UNSEPARATED)[0].confidence;
    const unnamed = findingsOf('c', UNSEPARATED)[0].confidence;
    expect(named).toBeGreaterThan(0.9);
    // Resting on unseparated digits only, without a name: capped.
    expect(unnamed).toBeLessThanOrEqual(0.6);
    const separated = ['+61 423 660 791', '+61 412 345 678'];
    expect(findingsOf('phone', separated)[0].confidence).toBeGreaterThan(findingsOf('c', separated)[0].confidence);
    expect(findingsOf('c', separated)[0].confidence).toBeGreaterThan(findingsOf('email', separated)[0].confidence);
    const stray = ['call +61 423 660 791', ...Array.from({ length: 19 }, () => 'no contact')];
    expect(findingsOf('notes', stray)[0].confidence).toBeLessThan(findingsOf('c', separated)[0].confidence);
    expect(confidence('email', 1, 'email')).toBe(0.99);
    expect(confidence('phone', 0.05, undefined)).toBe(0.55);
    expect(confidence('phone', 1, undefined)).toBe(0.94);
    expect(confidence('phone', 1, 'email')).toBe(0.69);
  });

  it('names: phone, SSN and other kinds, without false friends', () => {
    expect(kindOfName('phone_number')).toBe('phone');
    expect(kindOfName('tel')).toBe('phone');
    expect(kindOfName('hotel')).toBeUndefined();
    expect(kindOfName('intel_score')).toBeUndefined();
    expect(kindOfName('customer_ssn')).toBe('ssn');
    expect(kindOfName('work_email')).toBe('email');
  });
});

describe('column evidence through a scan', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-pii-column-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('scanCsv, the CLI table and the populate summary give counts and confidence, never a value', async () => {
    const file = path.join(dir, 'people.csv');
    const rows = UNSEPARATED.map((p, i) => `${i},${p},order ${4000 + i}-${p.slice(2)},p${i}@example.com`);
    fs.writeFileSync(file, ['id,mobile,notes,contact', ...rows].join('\n') + '\n');
    const report = await scanCsv(file);
    expect(report.findings.map(({ column, detector, count }) => `${column}/${detector}/${count}`)).toEqual([
      'mobile/phone/6',
      'contact/email/6',
    ]);
    for (const f of report.findings) expect(f.confidence).toBeGreaterThan(0.9);
    const text = `${renderScan(report, 0)}\n${describeFindings(report.findings as PiiFinding[])}`;
    expect(text).toMatch(/CONFIDENCE/);
    expect(text).toMatch(/people\.mobile phone ×6 \(confidence 0\.\d\d\)/);
    for (const p of UNSEPARATED) expect(text).not.toContain(p);
    expect(text).not.toContain('example.com');
  });
});

describe('column evidence on SQLite numbers', () => {
  it('a phone or SSN stored as INTEGER counts in a column named so, not in another', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-pii-column-'));
    try {
      const file = path.join(dir, 'n.db');
      const db = new Database(file);
      db.exec('CREATE TABLE t (phone INTEGER, ssn INTEGER, amount INTEGER)');
      const insert = db.prepare('INSERT INTO t VALUES (?, ?, ?)');
      for (const [p, s] of [
        [4155550132, 123456789],
        [2125550199, 234567890],
      ])
        insert.run(p, s, p);
      db.close();
      const report = await scanSqlite(file);
      expect(report.findings.map(({ column, detector, count }) => `${column}/${detector}/${count}`)).toEqual([
        'phone/phone/2',
        'ssn/ssn/2',
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

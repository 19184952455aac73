import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datetimeFormatter, datetimeWriter, DATETIME_MAX_BYTES } from '../../../src/data/profile/datetime';
import { profileRows, profileSource } from '../../../src/data/profile/profiler';
import type { DataProfile } from '../../../src/data/profile/schema';
import {
  CsvSink,
  csvField,
  datetimeCellWriter,
  labelWriter,
  numberWriter,
  writeTextField,
} from '../../../src/data/synth/csv-sink';
import { createSynthesizer, type SynthesisOptions } from '../../../src/data/synth/generator';
import { writeCsv } from '../../../src/data/synth/output';
import { SOURCE_COLUMNS, sourceRows, writeSourceCsv } from '../../fixtures/profile/sources';

/** What `write` puts into a sink of `size` bytes, drained chunk by chunk. */
function bytesOf(write: (sink: CsvSink) => void, size = 1 << 16): string {
  const chunks: Buffer[] = [];
  const sink = new CsvSink((chunk) => chunks.push(Buffer.from(chunk)), size);
  write(sink);
  const buffered = sink.written;
  sink.flush();
  const out = Buffer.concat(chunks);
  expect(out.length).toBe(buffered);
  return out.toString('utf8');
}

/** A deterministic stream of numbers in [0, 1) (xorshift), so failures reproduce. */
function uniforms(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

describe('numberWriter', () => {
  it('writes what String writes, for values rounded to 0–8 places at every magnitude', () => {
    const next = uniforms(42);
    for (let decimals = 0; decimals <= 8; decimals++) {
      const write = numberWriter(decimals);
      const factor = 10 ** decimals;
      const values = [0, -0, 1, -1, 0.5, 10, 100, 1e-6, 1e-7, 123456789.125, 999999.999, 1e14, 1e15, 1e16, 1e21, 1e22];
      for (let k = 0; k < 4000; k++) {
        const magnitude = 10 ** Math.floor(next() * 24 - 8);
        const x = (next() - 0.3) * magnitude;
        values.push(Math.round(x * factor) / factor);
      }
      const written = bytesOf((sink) => values.forEach((v) => (write(sink, v), sink.byte(10))));
      expect(written.split('\n'), `at ${decimals} places`).toEqual([...values.map(String), '']);
    }
  });

  it('falls back to String for values not rounded to its places, and for no places', () => {
    const values = [0.1 + 0.2, Math.PI, -Math.E, 1 / 3, 2 ** 60, Infinity, -Infinity, 5e-324, 1.7976931348623157e308];
    for (const v of values) {
      expect(bytesOf((sink) => numberWriter(2)(sink, v))).toBe(String(v));
      expect(bytesOf((sink) => numberWriter(undefined)(sink, v))).toBe(String(v));
      expect(bytesOf((sink) => numberWriter(0)(sink, v))).toBe(String(v));
    }
  });
});

describe('datetimeWriter', () => {
  const formats = [
    'YYYY-MM-DD',
    'YYYY/MM/DD',
    'YYYY-MM-DD HH:mm',
    'YYYY-MM-DDTHH:mm:ss',
    'YYYY-MM-DD HH:mm:ss.S',
    'YYYY-MM-DDTHH:mm:ss.SSS',
    'YYYY-MM-DDTHH:mm:ss.SSSSSS',
    'YYYY-MM-DDTHH:mm:ss.SSSSSSSSSZ',
    'YYYY-MM-DDTHH:mm:ssZ',
    'YYYY-MM-DDTHH:mm:ss+HH:MM',
    'YYYY-MM-DDTHH:mm+HHMM',
    'YYYY-MM-DD HH:mm:ss+HH',
  ];

  it('writes the bytes of datetimeFormatter for every format, from year -9999 to 99999', () => {
    const next = uniforms(7);
    const instants = [0, -1, 1, 86_399_999, 951_782_400_000, -62_135_596_800_000, -62_198_755_200_000];
    for (let k = 0; k < 3000; k++) instants.push(Math.round((next() * 2 - 1) * 3e15));
    for (let k = 0; k < 1000; k++) instants.push(Math.round((next() * 2 - 1) * 2e12));
    const out = Buffer.alloc(DATETIME_MAX_BYTES + 8);
    for (const format of formats) {
      const text = datetimeFormatter(format);
      const write = datetimeWriter(format);
      const written = instants.map((t) => {
        out.fill(0);
        const end = write(t, out, 3);
        return end - 3 <= DATETIME_MAX_BYTES ? out.toString('latin1', 3, end) : `too long: ${end - 3} bytes`;
      });
      expect(written, format).toEqual(instants.map(text));
    }
  });

  it('writes through a sink as a cell', () => {
    const write = datetimeCellWriter('YYYY-MM-DD HH:mm:ss');
    expect(bytesOf((sink) => write(sink, Date.UTC(2024, 2, 16, 10, 53, 46)))).toBe('2024-03-16 10:53:46');
  });
});

describe('writeTextField and labelWriter', () => {
  const texts = [
    '',
    'plain',
    'a,b',
    'say "hi"',
    'line\nbreak',
    'cr\rhere',
    '"',
    'café',
    'naïve, "quoted"',
    'emoji 🚀 end',
    'lone \ud800 surrogate',
    'x'.repeat(200_000),
    `${'é'.repeat(70_000)},`,
  ];

  it('writes csvField(text) in UTF-8, across chunk boundaries and into a grown buffer', () => {
    for (const size of [16, 1 << 16]) {
      const expected = texts.map((t) => csvField(t)).join('|');
      const written = bytesOf((sink) => {
        texts.forEach((t, i) => {
          if (i > 0) sink.byte(124);
          writeTextField(sink, t);
        });
      }, size);
      expect(written).toBe(Buffer.from(expected, 'utf8').toString('utf8'));
    }
  });

  it('writes each label quoted as csvField quotes it', () => {
    const labels = ['pos', 'web, app', '"x"', 'größe'];
    const write = labelWriter(labels);
    expect(bytesOf((sink) => [3, 0, 1, 2].forEach((code) => write(sink, code)))).toBe(
      [3, 0, 1, 2].map((c) => csvField(labels[c])).join(''),
    );
  });
});

describe('writeCsv', () => {
  let dir: string;
  let wide: DataProfile;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-csv-sink-'));
    const csv = path.join(dir, 'wide.csv');
    writeSourceCsv(csv, sourceRows(5_000, 5));
    wide = await profileSource(csv, { table: 'payments' });
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The CSV as the string path wrote it before the byte writer: every cell's textAt, joined. */
  function textCsv(profile: DataProfile, options: SynthesisOptions): string {
    const synth = createSynthesizer(profile, options);
    const lines = [synth.columns.map((c) => csvField(c.name)).join(',')];
    for (let n = synth.nextBatch(); n > 0; n = synth.nextBatch())
      for (let i = 0; i < n; i++) lines.push(synth.columns.map((c) => c.textAt(i)).join(','));
    return `${lines.join('\n')}\n`;
  }

  it('writes the same file as the cells as text, with labels, missing values, noise and drift', () => {
    const cases: Array<[DataProfile, SynthesisOptions]> = [
      [wide, { rows: 3_000, seed: 1 }],
      [wide, { rows: 2_500, seed: 2, missingRate: 0.3, noise: 0.4, drift: 1.5, seasonality: 2 }],
      [wide, { rows: 1_100, seed: 3, labels: ['risky = amount * 1.5 + velocity_24h', 'is_fraud ~ 0.2'] }],
      [profileRows('plain', [...SOURCE_COLUMNS], sourceRows(2_000, 9)), { rows: 2_049, seed: 4, missingRate: 0.1 }],
    ];
    for (const [profile, options] of cases) {
      const file = path.join(dir, `out-${options.seed}.csv`);
      writeCsv(file, createSynthesizer(profile, options));
      const written = fs.readFileSync(file, 'utf8');
      expect(written.split('\n').length).toBe(options.rows + 2);
      expect(written).toBe(textCsv(profile, options));
    }
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

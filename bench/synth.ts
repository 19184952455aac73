// `npm run bench -- synth [--rows N] [--rounds N] [--memory-rows SMALL,LARGE] [--no-memory]`
//
// Baseline: what a user would otherwise write — @faker-js/faker generating the same schema row by
// row (one faker call per cell, chosen from the same profile: ranges, category weights, boolean
// rates and tokens, identifier formats, missing rates, fresh lorem for free text; no correlations)
// and writing the same CSV (same header, same formats: dates in the profile's format, the same
// boolean tokens and quoting) to a file, fsynced and renamed into place like ours.
//
// 1. Synthesis throughput, rows/s written to CSV: the Gaussian-copula synthesizer streaming to a
//    CSV file (writeCsv: the path `strata data synth` takes, without the fidelity report), and the
//    full generateDataset (with the reservoir sample and the fidelity report), against the
//    baseline; both from one profile of the realistic 15-column source the tests use, in the same
//    run, alternating order, medians of --rounds (≥ 5) with min and max. The files are checked to
//    have the same header, row count and fields per row. Target: ≥ 10×.
// 2. Memory: peak RSS (process.resourceUsage().maxRSS of a child process) generating SMALL and
//    LARGE rows streamed to a CSV file, default 1 M and 10 M; when 1 M takes so long that 10 M
//    would exceed ~60 s, 200 k and 2 M instead (the output says so).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Faker } from '@faker-js/faker';
import { datetimeFormatter } from '../src/data/profile/datetime';
import { type DataProfile, loadProfile } from '../src/data/profile/schema';
import { createSynthesizer } from '../src/data/synth/generator';
import { generateDataset, writeCsv } from '../src/data/synth/output';
import { flag, median, ratios, roundsFlag, spread, spreadCells, spreadText, table, times } from './support';

// faker, the profiler and the source fixture are imported only by the parent: the memory child
// loads no more than generation needs, so its peak RSS is the generator's, not faker's locale data.

const THROUGHPUT_TARGET = 10;
const SOURCE_ROWS = 20_000;
/** 10 M rows must fit in about this long, else the memory comparison uses 200 k and 2 M rows. */
const MEMORY_BUDGET_SECONDS = 60;

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Wall-clock and CPU seconds of fn (CPU time is steadier on a shared machine; both are reported). */
function seconds(fn: () => void): { wall: number; cpu: number } {
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  fn();
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpu: (cpu.user + cpu.system) / 1e6 };
}

type Rate = { wall: number; cpu: number };
const rate = (rows: number, s: { wall: number; cpu: number }): Rate => ({ wall: rows / s.wall, cpu: rows / s.cpu });

export async function benchProfile(): Promise<DataProfile> {
  const { profileRows } = await import('../src/data/profile/profiler');
  const { SOURCE_COLUMNS, sourceRows } = await import('../test/fixtures/profile/sources');
  return profileRows('transactions', [...SOURCE_COLUMNS], sourceRows(SOURCE_ROWS));
}

/** One faker call per cell, from the same profile the synthesizer reads. */
function fakerRowGenerator(profile: DataProfile, faker: Faker): (row: number) => unknown[] {
  const cells = profile.columns.map((column): ((row: number) => unknown) => {
    switch (column.type) {
      case 'numeric': {
        const { min, max, decimals } = column.numeric;
        return () => faker.number.float({ min, max, fractionDigits: decimals });
      }
      case 'integer': {
        const { min, max, discrete } = column.numeric;
        if (discrete) {
          const weighted = discrete.values.map((v) => ({ value: v.value, weight: v.count }));
          return () => faker.helpers.weightedArrayElement(weighted);
        }
        return () => faker.number.int({ min: Math.ceil(min), max: Math.floor(max) });
      }
      case 'datetime': {
        const from = new Date(column.datetime.min);
        const to = new Date(column.datetime.max);
        return () => faker.date.between({ from, to });
      }
      case 'categorical': {
        const weighted = column.categorical.categories.map((c) => ({ value: c.value, weight: c.count }));
        if (column.categorical.other.count > 0)
          weighted.push({ value: 'other', weight: column.categorical.other.count });
        return () => faker.helpers.weightedArrayElement(weighted);
      }
      case 'boolean': {
        const { trueCount, falseCount } = column.boolean;
        const probability = trueCount / Math.max(1, trueCount + falseCount);
        return () => faker.datatype.boolean({ probability });
      }
      case 'identifier': {
        if (column.identifier.kind === 'integer') return (row) => row + 1;
        const chunks = column.identifier.formats[0]?.chunks ?? [
          { kind: 'class' as const, charset: 'alnum' as const, min: 8, max: 8 },
        ];
        const parts = chunks.map((c): (() => string) => {
          if (c.kind === 'literal') return () => c.text;
          const length = { min: c.min, max: c.max };
          switch (c.charset) {
            case 'digit':
              return () => faker.string.numeric({ length, allowLeadingZeros: true });
            case 'lower':
            case 'upper':
            case 'alpha':
              return () =>
                faker.string.alpha({
                  length,
                  casing: c.charset === 'lower' ? 'lower' : c.charset === 'upper' ? 'upper' : 'mixed',
                });
            case 'hex':
            case 'HEX':
              return () =>
                faker.string.hexadecimal({ length, casing: c.charset === 'hex' ? 'lower' : 'upper', prefix: '' });
            default:
              return () => faker.string.alphanumeric({ length });
          }
        });
        return () => parts.map((p) => p()).join('');
      }
      case 'free-text':
        return () => faker.lorem.sentence();
    }
  });
  const rates = profile.columns.map((c) => c.missingRate);
  return (row) =>
    cells.map((cell, i) => (rates[i] > 0 && faker.datatype.boolean({ probability: rates[i] }) ? null : cell(row)));
}

const NEEDS_QUOTES = /[",\r\n]/;
const csvField = (text: string): string => (NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text);

/** Each column's value as CSV text, the way the synthesizer formats it. */
function fakerCsvFormatters(profile: DataProfile): Array<(v: unknown) => string> {
  return profile.columns.map((column) => {
    switch (column.type) {
      case 'datetime': {
        const format = datetimeFormatter(column.datetime.format);
        return (v) => format((v as Date).getTime());
      }
      case 'boolean': {
        const tokens = [csvField(column.boolean.falseToken), csvField(column.boolean.trueToken)];
        return (v) => tokens[v ? 1 : 0];
      }
      case 'numeric':
      case 'integer':
        return (v) => String(v);
      default:
        return (v) => csvField(String(v));
    }
  });
}

/** The baseline: faker row by row, formatted and written as CSV like writeCsv does (64 k-char flushes, fsync, rename). */
function fakerCsv(profile: DataProfile, faker: Faker, rows: number, seed: number, file: string): void {
  faker.seed(seed);
  const next = fakerRowGenerator(profile, faker);
  const format = fakerCsvFormatters(profile);
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  let buffer = `${profile.columns.map((c) => csvField(c.name)).join(',')}\n`;
  for (let r = 0; r < rows; r++) {
    const row = next(r);
    let line = row[0] === null ? '' : format[0](row[0]);
    for (let c = 1; c < row.length; c++) line += row[c] === null ? ',' : `,${format[c](row[c])}`;
    buffer += `${line}\n`;
    if (buffer.length >= 1 << 16) {
      fs.writeSync(fd, buffer);
      buffer = '';
    }
  }
  fs.writeSync(fd, buffer);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}

/** Wall-clock and CPU seconds of writing `rows` rows to `file`, as rows/s. */
function measure(rows: number, write: () => void): Rate {
  return rate(rows, seconds(write));
}

/** The CSV's header, data line count, and the field counts of its first 10,000 lines (quotes respected). */
function csvShape(file: string): { header: string; lines: number; fields: string } {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const counts = new Set<number>();
  for (const line of lines.slice(0, 10_001)) {
    let fields = 1;
    let quoted = false;
    for (let k = 0; k < line.length; k++) {
      if (line[k] === '"') quoted = !quoted;
      else if (line[k] === ',' && !quoted) fields++;
    }
    counts.add(fields);
  }
  return { header: lines[0], lines: lines.length - 1, fields: [...counts].sort().join(',') };
}

interface ChildResult {
  rows: number;
  seconds: number;
  maxRssMb: number;
  bytes: number;
  fidelity: number;
}

/** Generates `rows` rows to a CSV in a fresh process and reports its peak RSS. */
function measureInChild(profileFile: string, rows: number, dir: string): ChildResult {
  const out = path.join(dir, `synth-${rows}.csv`);
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', __filename, '--child', profileFile, String(rows), out],
    {
      encoding: 'utf8',
      cwd: path.resolve(__dirname, '..'),
      maxBuffer: 1 << 20,
    },
  );
  if (child.status !== 0)
    throw new Error(`child generating ${rows} rows failed (exit ${child.status}): ${child.stderr}`);
  const result = JSON.parse(child.stdout.trim().split('\n').pop()!) as ChildResult;
  fs.rmSync(out, { force: true });
  return result;
}

function child(args: string[]): void {
  const [profileFile, rowsText, out] = args;
  const profile = loadProfile(profileFile);
  const result = generateDataset(profile, { rows: Number(rowsText), seed: 1 }, { kind: 'csv', file: out });
  const usage = process.resourceUsage();
  const report: ChildResult = {
    rows: result.rows,
    seconds: result.seconds,
    maxRssMb: usage.maxRSS / 1024,
    bytes: fs.statSync(out).size,
    fidelity: result.fidelity.overall,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

export async function run(args: string[]): Promise<void> {
  if (args[0] === '--child') return child(args.slice(1));
  const oursRows = flag(args, 'rows', 200_000);
  const fakerRows = Math.max(5_000, Math.round(oursRows / 10));
  const rounds = roundsFlag(args, 15);

  const profile = await benchProfile();
  const { faker } = await import('@faker-js/faker');
  const types = profile.columns.map((c) => c.type).join(', ');
  console.log(
    `profile: ${profile.columns.length} columns (${types}) from ${fmt(SOURCE_ROWS)} source rows; node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)}`,
  );

  const dir0 = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-synth-csv-'));
  const oursFile = path.join(dir0, 'ours.csv');
  const datasetFile = path.join(dir0, 'dataset.csv');
  const fakerFile = path.join(dir0, 'faker.csv');
  const arms = {
    ours: {
      label: 'gaussian copula → CSV file',
      rows: oursRows,
      write: (seed: number) => writeCsv(oursFile, createSynthesizer(profile, { rows: oursRows, seed })),
    },
    dataset: {
      label: 'generateDataset → CSV (+ fidelity report)',
      rows: oursRows,
      write: (seed: number) =>
        void generateDataset(profile, { rows: oursRows, seed }, { kind: 'csv', file: datasetFile }),
    },
    faker: {
      label: 'faker row by row → CSV file (baseline)',
      rows: fakerRows,
      write: (seed: number) => fakerCsv(profile, faker, fakerRows, seed, fakerFile),
    },
  };
  type Arm = keyof typeof arms;
  const names = Object.keys(arms) as Arm[];
  const results = Object.fromEntries(names.map((k) => [k, [] as Rate[]])) as Record<Arm, Rate[]>;
  try {
    // Warm all up so the JIT has seen each path before anything is timed.
    for (const k of names) arms[k].write(0);
    // Rounds alternate the order, so that every side sees the same machine (others may be busy).
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 ? names : [...names].reverse();
      for (const k of order) results[k].push(measure(arms[k].rows, () => arms[k].write(round)));
    }
    const shapes = [oursFile, fakerFile].map(csvShape);
    if (shapes[0].header !== shapes[1].header || shapes[0].fields !== shapes[1].fields)
      throw new Error(
        `the two CSVs differ in shape: header ${JSON.stringify(shapes[0].header)} vs ${JSON.stringify(shapes[1].header)}, fields per row ${shapes[0].fields} vs ${shapes[1].fields}`,
      );
    if (shapes[0].lines !== oursRows || shapes[1].lines !== fakerRows)
      throw new Error(
        `row counts: ours ${shapes[0].lines} (expected ${oursRows}), faker ${shapes[1].lines} (expected ${fakerRows})`,
      );
    console.log(
      `same CSV shape: header of ${shapes[0].header.split(',').length} columns, ${shapes[0].fields} fields per row in both files`,
    );
  } finally {
    fs.rmSync(dir0, { recursive: true, force: true });
  }
  const wall = (k: Arm) => results[k].map((x) => x.wall);
  const cpu = (k: Arm) => results[k].map((x) => x.cpu);
  console.log(
    `\nsynthesis throughput, rows/s written to CSV (wall clock, ${rounds} alternating rounds; ours ${fmt(oursRows)} rows per round, faker ${fmt(fakerRows)}; vs faker = per-round ratio, median)`,
  );
  console.log(
    table([
      ['generator', 'median rows/s', 'min', 'max', 'vs faker', 'vs faker (CPU time)'],
      ...names.map((k) => [
        arms[k].label,
        ...spreadCells(wall(k), fmt),
        times(spread(ratios(wall(k), wall('faker'))).median),
        times(spread(ratios(cpu(k), cpu('faker'))).median),
      ]),
    ]),
  );
  const perRound = ratios(wall('ours'), wall('faker'));
  const ratio = spread(perRound).median;
  const cpuRatio = median(ratios(cpu('ours'), cpu('faker')));
  console.log(`ours → CSV vs faker → CSV, per round: ${spreadText(perRound, times)}`);
  console.log(
    `ratio ${ratio.toFixed(1)}× wall clock, ${cpuRatio.toFixed(1)}× CPU time (target ≥ ${THROUGHPUT_TARGET}×): ${ratio >= THROUGHPUT_TARGET ? 'PASS' : 'FAIL'}`,
  );

  if (args.includes('--no-memory')) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-synth-'));
  try {
    const profileFile = path.join(dir, 'profile.json');
    fs.writeFileSync(profileFile, JSON.stringify(profile));
    const forced = args.indexOf('--memory-rows');
    let sizes: [number, number];
    let note = '';
    if (forced >= 0) {
      const [a, b] = args[forced + 1].split(',').map(Number);
      sizes = [a, b];
    } else {
      const probe = measureInChild(profileFile, 1_000_000, dir);
      if (probe.seconds * 10 > MEMORY_BUDGET_SECONDS) {
        sizes = [200_000, 2_000_000];
        note = ` — 1 M rows took ${probe.seconds.toFixed(1)} s here, so 10 M would exceed ~${MEMORY_BUDGET_SECONDS} s: measured 200 k vs 2 M instead`;
      } else {
        sizes = [1_000_000, 10_000_000];
      }
    }
    const results = sizes.map((rows) => measureInChild(profileFile, rows, dir));
    console.log(`\npeak RSS generating rows streamed to a CSV file (one child process each)${note}`);
    console.log(
      table([
        ['rows', 'seconds', 'rows/s', 'file MB', 'peak RSS MB', 'fidelity'],
        ...results.map((r) => [
          fmt(r.rows),
          r.seconds.toFixed(1),
          fmt(r.rows / r.seconds),
          (r.bytes / 1e6).toFixed(0),
          r.maxRssMb.toFixed(0),
          r.fidelity.toFixed(3),
        ]),
      ]),
    );
    const growth = results[1].maxRssMb / results[0].maxRssMb;
    console.log(
      `peak RSS ×${growth.toFixed(2)} for ×${(sizes[1] / sizes[0]).toFixed(0)} the rows: ${growth < 1.5 ? 'flat (PASS)' : 'grows (FAIL)'}`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  run(process.argv.slice(2)).catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}

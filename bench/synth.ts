// `npm run bench -- synth [--rows N] [--rounds N] [--memory-rows SMALL,LARGE] [--no-memory]`
//
// 1. Synthesis throughput: rows/s of the Gaussian-copula synthesizer (createSynthesizer, values in
//    memory, correlations included) against generating the same schema row by row with
//    @faker-js/faker (one faker call per cell, chosen from the same profile: ranges, category
//    weights, boolean rates, identifier formats, missing rates; no correlations — the baseline does
//    strictly less). Both from one profile of the realistic 15-column source the tests use, in the
//    same run, alternating order, medians. Target: ≥ 10×. Also shown: synthesis with CSV formatting.
// 2. Memory: peak RSS (process.resourceUsage().maxRSS of a child process) generating SMALL and
//    LARGE rows streamed to a CSV file, default 1 M and 10 M; when 1 M takes so long that 10 M
//    would exceed ~60 s, 200 k and 2 M instead (the output says so).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Faker } from '@faker-js/faker';
import { type DataProfile, loadProfile } from '../src/data/profile/schema';
import { createSynthesizer } from '../src/data/synth/generator';
import { generateDataset } from '../src/data/synth/output';
import { flag, median, table } from './support';

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

function oursRowsPerSecond(profile: DataProfile, rows: number, seed: number): Rate {
  const synth = createSynthesizer(profile, { rows, seed });
  let produced = 0;
  const s = seconds(() => {
    for (let n = synth.nextBatch(); n > 0; n = synth.nextBatch()) produced += n;
  });
  if (produced !== rows) throw new Error(`synthesizer produced ${produced} rows, expected ${rows}`);
  return rate(rows, s);
}

function oursCsvRowsPerSecond(profile: DataProfile, rows: number, seed: number): Rate {
  const synth = createSynthesizer(profile, { rows, seed });
  const text = synth.columns.map((c) => c.textAt);
  let chars = 0;
  const s = seconds(() => {
    for (let n = synth.nextBatch(); n > 0; n = synth.nextBatch()) {
      for (let i = 0; i < n; i++) {
        let line = text[0](i);
        for (let c = 1; c < text.length; c++) line += `,${text[c](i)}`;
        chars += line.length + 1;
      }
    }
  });
  if (chars === 0) throw new Error('no CSV produced');
  return rate(rows, s);
}

function fakerRowsPerSecond(profile: DataProfile, faker: Faker, rows: number, seed: number): Rate {
  faker.seed(seed);
  const next = fakerRowGenerator(profile, faker);
  let cells = 0;
  const s = seconds(() => {
    for (let r = 0; r < rows; r++) cells += next(r).length;
  });
  if (cells !== rows * profile.columns.length) throw new Error('faker baseline produced the wrong number of cells');
  return rate(rows, s);
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
  const rounds = flag(args, 'rounds', 15);

  const profile = await benchProfile();
  const { faker } = await import('@faker-js/faker');
  const types = profile.columns.map((c) => c.type).join(', ');
  console.log(
    `profile: ${profile.columns.length} columns (${types}) from ${fmt(SOURCE_ROWS)} source rows; node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)}`,
  );

  // Warm both up so the JIT has seen each path before anything is timed.
  oursRowsPerSecond(profile, 50_000, 0);
  oursCsvRowsPerSecond(profile, 50_000, 0);
  fakerRowsPerSecond(profile, faker, 5_000, 0);

  // Many short rounds, alternating, so that both sides see the same machine (others may be busy).
  const ours: Rate[] = [];
  const oursCsv: Rate[] = [];
  const fakers: Rate[] = [];
  for (let round = 1; round <= rounds; round++) {
    const measure = [
      () => ours.push(oursRowsPerSecond(profile, oursRows, round)),
      () => oursCsv.push(oursCsvRowsPerSecond(profile, oursRows, round)),
      () => fakers.push(fakerRowsPerSecond(profile, faker, fakerRows, round)),
    ];
    if (round % 2 === 0) measure.reverse();
    for (const m of measure) m();
  }
  const wall = (xs: Rate[]) => xs.map((x) => x.wall);
  const cpu = (xs: Rate[]) => xs.map((x) => x.cpu);
  const ratio = median(wall(ours)) / median(wall(fakers));
  const cpuRatio = median(cpu(ours)) / median(cpu(fakers));
  console.log(
    `\nsynthesis throughput (rows/s wall clock, ${rounds} alternating rounds, medians; ours ${fmt(oursRows)} rows per round, faker ${fmt(fakerRows)})`,
  );
  const line = (name: string, xs: Rate[]) => [
    name,
    fmt(median(wall(xs))),
    fmt(Math.min(...wall(xs))),
    fmt(Math.max(...wall(xs))),
    `${(median(wall(xs)) / median(wall(fakers))).toFixed(1)}×`,
    `${(median(cpu(xs)) / median(cpu(fakers))).toFixed(1)}×`,
  ];
  console.log(
    table([
      ['generator', 'median rows/s', 'min', 'max', 'vs faker', 'vs faker (CPU time)'],
      line('gaussian copula (values)', ours),
      line('gaussian copula + CSV text', oursCsv),
      line('faker, row by row (baseline)', fakers),
    ]),
  );
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

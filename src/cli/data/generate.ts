// `strata data generate`: synthetic data from a profile, with a measured fidelity report; into a
// file, a SQLite database, or a provisioned layer's environment.

import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Command } from 'commander';
import { ApprovalRegistry, fileDigest } from '../../data/approvals';
import { scanSqlite } from '../../data/pii/scan';
import type { DataProfile } from '../../data/profile/schema';
import { loadProfile } from '../../data/profile/schema';
import { populationReportPath } from '../../data/populate';
import { checkFidelity, DEFAULT_FIDELITY_THRESHOLD, type FidelityReport } from '../../data/synth/fidelity';
import type { SynthesisOptions } from '../../data/synth/generator';
import { generateDataset, type SynthesisTarget } from '../../data/synth/output';
import { describeFindings } from '../../domain/data';
import { loadSettings } from '../../temporal/settings';
import { writeFileAtomically } from '../../tools/files';
import { ConfigError } from '../../validation/errors';
import { apiBase } from '../api-client';
import { command } from '../command';
import { print, printJson } from '../context';
import { EXIT_FAILED, EXIT_OK, type ExitCode, UsageError } from '../errors';
import { table } from '../render';
import { integerOption, numberOption } from '../values';
import type { DataOptions } from './options';

export function renderFidelity(report: FidelityReport, threshold: number): string {
  const check = checkFidelity(report, threshold);
  const lines = [
    table(
      ['COLUMN', 'METRIC', 'SCORE'],
      report.columnShapes.columns.map((c) => [c.column, c.metric, c.score.toFixed(3)]),
    ),
  ];
  const weakest = [...report.pairTrends.pairs].sort((a, b) => a.score - b.score).slice(0, 5);
  if (weakest.length > 0) {
    lines.push('', `pair trends: ${report.pairTrends.pairs.length} pairs, lowest:`);
    lines.push(
      table(
        ['PAIR', 'METRIC', 'REAL', 'SYNTHETIC', 'SCORE'],
        weakest.map((p) => [
          p.columns.join(' ~ '),
          p.metric,
          p.real?.toFixed(3) ?? '–',
          p.synthetic?.toFixed(3) ?? '–',
          p.score.toFixed(3),
        ]),
      ),
    );
  }
  for (const note of report.notes) lines.push(`note: ${note}`);
  lines.push('', check.message);
  return lines.join('\n');
}

function defaultReportFile(target: SynthesisTarget): string {
  return target.kind === 'csv' ? `${target.file}.fidelity.json` : `${target.file}.${target.table}.fidelity.json`;
}

/**
 * `data generate --env LAYER`: generates into a copy of the environment's database and swaps it
 * in only when the fidelity threshold is met, so a failed run leaves the environment as it was.
 * The fidelity report is stored with the environment (data.db.fidelity.json).
 */
async function generateIntoEnvironment(
  layer: string,
  profile: DataProfile,
  options: SynthesisOptions,
  threshold: number,
  opts: DataOptions['generate'],
): Promise<ExitCode> {
  if (!/^[a-z][a-z0-9-]*$/.test(layer))
    throw new UsageError(
      `--env: expected a layer name (lowercase letters, digits and -), got ${JSON.stringify(layer)}`,
    );
  const piiAllowance = integerOption('pii-allow', opts.piiAllow ?? '0', 0);
  const home = loadSettings().home;
  const dir = path.join(home, 'envs', layer);
  if (!fs.existsSync(dir)) {
    throw new ConfigError(dir, [
      {
        path: '',
        message: `layer ${layer} has no environment; provision it first (promote a candidate into it), then generate into it`,
      },
    ]);
  }
  // Into an environment, population's rules hold: an approved profile, and a PII scan before the swap.
  const { digest } = await fileDigest(opts.profile);
  const approval = new ApprovalRegistry(home).lookup(digest);
  if (!approval || approval.revoked) {
    process.stderr.write(
      `strata: data generate: dataset not approved: ${opts.profile} (sha256 ${digest.slice(0, 12)}) ${approval?.revoked ? 'had its approval revoked' : 'has not been approved'}; ` +
        `approve it with \`strata data approve ${opts.profile} --as <you> --reason <why>\`; environment ${layer} left unchanged\n`,
    );
    return EXIT_FAILED;
  }
  const dbPath = path.join(dir, 'data.db');
  const staging = `${dbPath}.${process.pid}.generating.db`;
  fs.rmSync(staging, { force: true });
  try {
    if (fs.existsSync(dbPath)) {
      // The environment's other tables stay: start from a consistent copy of the database.
      const db = new Database(dbPath, { readonly: true });
      try {
        db.prepare('VACUUM INTO ?').run(staging);
      } finally {
        db.close();
      }
    }
    const table = opts.table ?? profile.table;
    const result = generateDataset(profile, options, { kind: 'sqlite', file: staging, table, replace: true });
    const check = checkFidelity(result.fidelity, threshold);
    if (!check.passed) {
      process.stderr.write(`strata: data generate: ${check.message}; environment ${layer} left unchanged\n`);
      if (!opts.json) print(renderFidelity(result.fidelity, threshold));
      return EXIT_FAILED;
    }
    const scan = await scanSqlite(staging, { tables: [table] });
    if (scan.total > piiAllowance) {
      process.stderr.write(
        `strata: data generate: PII found in the generated rows: ${scan.total} findings (allowance ${piiAllowance}): ${describeFindings(scan.findings)}; environment ${layer} left unchanged\n`,
      );
      return EXIT_FAILED;
    }
    fs.renameSync(staging, dbPath);
    // A hand-generated table is not what population recorded: forget that record.
    fs.rmSync(populationReportPath(dbPath), { force: true });
    writeFileAtomically(`${dbPath}.fidelity.json`, `${JSON.stringify(result.fidelity, null, 2)}\n`, { mkdir: true });
    if (opts.json) printJson({ ...result, environment: layer, check });
    else {
      print(
        `generated ${result.rows} rows (seed ${options.seed}) from ${opts.profile} → environment ${layer} (${dbPath}, table ${table}) in ${result.seconds.toFixed(2)} s`,
      );
      print(`fidelity report → ${dbPath}.fidelity.json\n`);
      print(renderFidelity(result.fidelity, threshold));
    }
    return EXIT_OK;
  } finally {
    fs.rmSync(staging, { force: true });
  }
}

export function registerGenerateCommand(data: Command): void {
  command(
    data,
    'generate',
    'generate synthetic rows from a profile (Gaussian copula, deterministic per seed) and report their fidelity to it',
  )
    .options<DataOptions['generate']>({
      profile: { argument: '<file>', description: 'a profile written by `strata data profile`', required: true },
      rows: { argument: '<n>', description: 'how many rows', required: true },
      seed: {
        argument: '<n>',
        description: 'the seed: the same profile, options and seed give the same rows',
        default: '1',
      },
      out: { argument: '<file>', description: 'write a CSV file' },
      db: { argument: '<file>', description: 'write a table into a SQLite database (created if missing)' },
      env: {
        argument: '<layer>',
        description:
          "write the table into a provisioned layer's environment ($STRATA_HOME/envs/<layer>/data.db), only if the fidelity threshold is met",
      },
      table: { argument: '<name>', description: 'the table for --db (default: the profiled table’s name)' },
      replace: { description: 'with --db: replace the table if it exists' },
      label: {
        argument: '<rule>',
        description:
          "a label column from a rule, e.g. 'is_fraud ~ logistic(-4 + 2 * is_foreign)' (repeatable; see docs/data-synthesis.md)",
        repeatable: true,
      },
      seasonality: {
        argument: '<x>',
        description: 'strength of datetime hour-of-day and day-of-week patterns: 0 flat, 1 as profiled, >1 exaggerated',
        default: '1',
      },
      missing: {
        argument: '<rate>',
        description: 'extra missing values in every non-identifier column, on top of the profiled rates',
        default: '0',
      },
      noise: {
        argument: '<x>',
        description: 'numeric noise in standard deviations; share of categorical values replaced at random',
        default: '0',
      },
      drift: {
        argument: '<x>',
        description: 'numeric mean shift (in standard deviations) reached by the last row; categorical drift likewise',
        default: '0',
      },
      minFidelity: {
        argument: '<x>',
        description: 'fail (exit 1) when the overall fidelity score is below this',
        default: String(DEFAULT_FIDELITY_THRESHOLD),
      },
      report: {
        argument: '<file>',
        description: 'where to write the fidelity report (default: next to the output, *.fidelity.json)',
      },
      piiAllow: {
        argument: '<n>',
        description: 'with --env: PII findings tolerated in the generated table (default 0)',
      },
      json: { description: 'print the result and fidelity report as JSON' },
    })
    .action(async (opts) => {
      if ([opts.out, opts.db, opts.env].filter(Boolean).length !== 1) {
        throw new UsageError('data generate: give exactly one of --out FILE.csv, --db FILE.db and --env LAYER');
      }
      if (opts.env && apiBase())
        throw new UsageError(
          "--env: with STRATA_API the environments are the server's; write --out or --db here (the server's seed step populates its environments)",
        );
      if (opts.table && !opts.db && !opts.env)
        throw new UsageError('data generate: --table goes with --db or --env (a CSV file has no table)');
      if (opts.replace && !opts.db) throw new UsageError('data generate: --replace goes with --db');
      if (opts.out && /\.(db|sqlite3?)$/i.test(opts.out)) {
        throw new UsageError(
          `data generate: --out writes CSV; for a SQLite database use --db ${opts.out} --table NAME`,
        );
      }
      const rows = integerOption('rows', opts.rows, 1);
      const seed = integerOption('seed', opts.seed, Number.MIN_SAFE_INTEGER);
      const options = {
        rows,
        seed,
        seasonality: numberOption('seasonality', opts.seasonality, 0, 10),
        missingRate: numberOption('missing', opts.missing, 0, 0.99),
        noise: numberOption('noise', opts.noise, 0, 10),
        drift: numberOption('drift', opts.drift, -10, 10),
        labels: opts.label,
      };
      const threshold = numberOption('min-fidelity', opts.minFidelity, 0, 1);
      const profile = loadProfile(opts.profile);
      if (opts.env) return generateIntoEnvironment(opts.env, profile, options, threshold, opts);
      const target: SynthesisTarget = opts.out
        ? { kind: 'csv', file: opts.out }
        : { kind: 'sqlite', file: opts.db!, table: opts.table ?? profile.table, replace: Boolean(opts.replace) };
      const result = generateDataset(profile, options, target);
      const reportFile = opts.report ?? defaultReportFile(target);
      writeFileAtomically(reportFile, `${JSON.stringify(result.fidelity, null, 2)}\n`, { mkdir: true });
      const check = checkFidelity(result.fidelity, threshold);
      if (opts.json) printJson({ ...result, reportFile, check });
      else {
        const where = target.kind === 'csv' ? target.file : `${target.file} (table ${target.table})`;
        print(
          `generated ${result.rows} rows (seed ${seed}) from ${opts.profile} → ${where} in ${result.seconds.toFixed(2)} s`,
        );
        const labels = result.columns.filter((c) => c.rule);
        for (const c of labels) print(`label ${c.name}: ${c.rule}`);
        print(`fidelity report (against the profile, on ${result.fidelity.evaluatedRows} rows) → ${reportFile}\n`);
        print(renderFidelity(result.fidelity, threshold));
      }
      if (!check.passed) {
        process.stderr.write(
          `strata: data generate: ${check.message}; the data is kept for inspection at ${target.file}\n`,
        );
        return EXIT_FAILED;
      }
      return EXIT_OK;
    });
}

// `strata data sanitize SOURCE`: mask a source column by column into a file or a layer's environment.

import type { Command } from 'commander';
import { loadPolicy, usesKeys } from '../../data/masking/policy';
import { sanitize, type SanitizeReport, type SanitizeTarget } from '../../data/masking/sanitize';
import { loadSettings } from '../../temporal/settings';
import { resolveUserPath } from '../../tools/files';
import { apiBase } from '../api-client';
import { command } from '../command';
import { print, printJson } from '../context';
import { EXIT_OK, UsageError } from '../errors';
import { table } from '../render';
import type { DataOptions } from './options';

function renderReport(report: SanitizeReport): string {
  const where =
    report.target.layer !== undefined
      ? `environment ${report.target.layer} (${report.target.path}, table ${report.target.table})`
      : `${report.target.path}${report.target.table ? ` (table ${report.target.table})` : ''}`;
  const source = `${report.source.file}${report.source.table ? ` (table ${report.source.table})` : ''}`;
  const lines = [
    `sanitized ${source} → ${where}`,
    `rows read: ${report.rowsRead}, written: ${report.rowsWritten} (${(report.elapsedMs / 1000).toFixed(2)} s)`,
  ];
  if (report.key) lines.push(`key: ${report.key.name} (id ${report.key.id}) for environment ${report.key.environment}`);
  lines.push(
    '',
    table(
      ['COLUMN', 'OP', 'DETAIL'],
      report.columns.map((c) => [c.name, c.op, c.detail]),
    ),
  );
  return lines.join('\n');
}

export function registerSanitizeCommand(data: Command): void {
  command(
    data,
    'sanitize <source>',
    'mask a CSV or SQLite source column by column (masking.yaml) into a file or a layer’s environment; every column must be covered',
  )
    .options<DataOptions['sanitize']>({
      policy: { argument: '<file>', description: 'masking.yaml: keyring, table, and an op per column', required: true },
      out: { argument: '<file>', description: 'write a .csv file or an SQLite database (.db, .sqlite, .sqlite3)' },
      env: {
        argument: '<layer>',
        description: 'write the table into $STRATA_HOME/envs/<layer>/data.db (the layer must be provisioned)',
      },
      environmentKeyName: {
        argument: '<name>',
        description:
          'the environment whose key pseudonymizes hmac and fake columns (default: the --env layer; required with --out)',
      },
      key: { argument: '<name>', description: 'the keyring key to derive from (default: the keyring’s active key)' },
      json: { description: 'print the report as JSON' },
    })
    .action(async (sourceFile, opts) => {
      if (Boolean(opts.out) === Boolean(opts.env))
        throw new UsageError('data sanitize: give exactly one of --out FILE and --env LAYER');
      if (opts.env && apiBase())
        throw new UsageError(
          "--env: with STRATA_API the environments are the server's; write --out FILE here (the server's seed step populates its environments)",
        );
      const target: SanitizeTarget = opts.out
        ? { kind: 'file', path: opts.out }
        : { kind: 'env', home: loadSettings().home, layer: opts.env! };
      // STRATA_KEYRING names the keyring wherever Strata runs (the seed step honours it too).
      const loaded = loadPolicy(opts.policy);
      const policy =
        process.env.STRATA_KEYRING && usesKeys(loaded)
          ? { ...loaded, keyring: resolveUserPath(process.env.STRATA_KEYRING, process.cwd()) }
          : loaded;
      const report = await sanitize({
        source: sourceFile,
        policy,
        target,
        environment: opts.environmentKeyName,
        keyName: opts.key,
      });
      if (opts.json) printJson(report);
      else print(renderReport(report));
      return EXIT_OK;
    });
}

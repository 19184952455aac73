// `strata data profile`: statistics-only profiles of a table.

import type { Command } from 'commander';
import { DEFAULT_K, profileSource } from '../../data/profile/profiler';
import type { ColumnProfile, DataProfile } from '../../data/profile/schema';
import { pct } from '../../domain/percent';
import { writeFileAtomically } from '../../tools/files';
import { command } from '../command';
import { print, printJson } from '../context';
import { EXIT_OK } from '../errors';
import { table } from '../render';
import { integerOption } from '../values';
import type { DataOptions } from './options';

function columnDetail(c: ColumnProfile): string {
  switch (c.type) {
    case 'numeric':
    case 'integer': {
      const q = c.numeric.quantiles;
      const discrete = c.numeric.discrete ? `; ${c.numeric.discrete.values.length} frequent values` : '';
      return `p1 ${q.p1}  p50 ${q.p50}  p99 ${q.p99}${discrete}`;
    }
    case 'datetime': {
      const iso = (t: number) => new Date(t).toISOString().slice(0, 7);
      return `${iso(c.datetime.min)} … ${iso(c.datetime.max)} (months), format ${c.datetime.format}`;
    }
    case 'categorical': {
      const { categories, other } = c.categorical;
      return `${categories.length} categories${other.count > 0 ? `; ${other.distinct} rarer than k folded into other (${other.count} rows)` : ''}`;
    }
    case 'boolean':
      return `${pct(c.boolean.trueCount / Math.max(1, c.boolean.trueCount + c.boolean.falseCount), 1)} ${c.boolean.trueToken}`;
    case 'identifier': {
      const f = c.identifier.formats;
      const shown =
        f.length === 0
          ? 'no shape shared by k values'
          : f
              .slice(0, 2)
              .map((x) => x.pattern)
              .join(' | ') + (f.length > 2 ? ` (+${f.length - 2})` : '');
      return `format ${shown}; ${pct(c.identifier.distinctRatio, 1)} distinct`;
    }
    case 'free-text':
      return `length ${c.text.length.min}–${c.text.length.max} (mean ${c.text.length.mean}), ${c.text.words.mean} words on average`;
  }
}

export function renderProfile(profile: DataProfile, file: string): string {
  const lines = [
    `profile of table ${profile.table} (${profile.source.kind}): ${profile.rows} rows, ${profile.columns.length} columns, k = ${profile.k} → ${file}`,
    '',
    table(
      ['COLUMN', 'TYPE', 'MISSING', 'DETAIL'],
      profile.columns.map((c) => [c.name, c.type, pct(c.missingRate, 1), columnDetail(c)]),
    ),
  ];
  const strong = profile.associations.filter((a) => Math.abs(a.value) >= 0.3);
  if (strong.length > 0) {
    lines.push(
      '',
      `associations with |value| ≥ 0.3: ${strong.map((a) => `${a.columns.join('~')} ${a.method === 'spearman' ? 'ρ' : 'V'} ${a.value}`).join(', ')}`,
    );
  }
  return lines.join('\n');
}

export function registerProfileCommand(data: Command): void {
  command(
    data,
    'profile <source>',
    'profile a table — a CSV file, a SQLite file or a postgres:// URL — into statistics only, never rows (streamed)',
  )
    .options<DataOptions['profile']>({
      table: {
        argument: '<name>',
        description:
          'the table (required for PostgreSQL and for SQLite files holding several; names the table of a CSV)',
      },
      out: { argument: '<file>', description: 'where to write the profile (JSON)', required: true },
      k: {
        argument: '<n>',
        description: 'k-anonymity: categories and identifier shapes seen fewer than k times are not published',
        default: String(DEFAULT_K),
      },
      sampleRows: {
        argument: '<n>',
        description: 'rows in the uniform sample behind quantiles and associations',
        default: '50000',
      },
      formatOnly: {
        argument: '<columns>',
        description:
          'comma-separated columns to record by format only, whatever they hold (e.g. PII found by the scanner)',
      },
      json: { description: 'print the profile as JSON' },
    })
    .action(async (source, opts) => {
      const k = integerOption('k', opts.k, 1);
      const sampleRows = integerOption('sample-rows', opts.sampleRows, 100);
      const formatOnly = opts.formatOnly
        ? opts.formatOnly
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : undefined;
      const profile = await profileSource(source, { table: opts.table, k, sampleRows, formatOnly });
      writeFileAtomically(opts.out, `${JSON.stringify(profile, null, 2)}\n`, { mkdir: true });
      if (opts.json) printJson(profile);
      else print(renderProfile(profile, opts.out));
      return EXIT_OK;
    });
}

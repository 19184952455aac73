import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { rawPublicKey, verifyExports, type VerifyReport } from '../audit/chain';
import { AuditExportError, exportAuditTrail, type ExportSummary } from '../audit/export';
import { auditKeyringPath, auditPublicKey, loadAuditKeyring, trustedAuditKeys } from '../audit/signing';
import { type AuditEntry, auditTrail } from '../audit/trail';
import { parseDuration } from '../domain/duration';
import { ensureAuditSchedule, triggerAuditSchedule } from '../temporal/audit-schedule';
import { apiBase, callApi } from './api-client';
import { getStatus } from '../temporal/promotions';
import { command, type JsonOption } from './command';
import { print, printJson, withClient } from './context';
import { EXIT_FAILED, EXIT_OK, UsageError } from './errors';
import { renderAudit } from './render';

/** The options of `strata audit` and its subcommands. */
export interface AuditOptions {
  audit: JsonOption;
  export: JsonOption & {
    /** Only entries at or after this time: ISO 8601, or a duration ago (`7d`). */
    since?: string;
    /** Only entries before this time: ISO 8601, or a duration ago. */
    until?: string;
    /** The file to write (never overwritten). @default $STRATA_HOME/audit/audit-<time>-<first>-<last>.jsonl */
    out?: string;
  };
  verify: JsonOption & {
    /** The public key to trust: a PEM file, PEM text, or base64 of the raw 32 bytes. @default the keyring's keys */
    pubkey?: string;
  };
  pubkey: {
    /** Print the raw 32-byte key in base64 instead of PEM. @default false */
    raw?: boolean;
  };
  schedule: JsonOption & {
    /** Cron expression (UTC) for the export; updates an existing schedule. @default 17 2 * * * */
    cron?: string;
    /** Also run one export now, through the schedule. @default false */
    now?: boolean;
  };
}

/** `--since`/`--until`: an ISO time, or a duration before now. */
export function parseTimeOption(flag: string, raw: string | undefined, now = new Date()): string | undefined {
  if (raw === undefined) return undefined;
  const ago = parseDuration(raw);
  if (ago !== undefined) return new Date(now.getTime() - ago).toISOString();
  const ms = Date.parse(raw);
  if (Number.isNaN(ms))
    throw new UsageError(`${flag}: expected an ISO time (2026-01-31T00:00:00Z) or a duration ago (7d), got "${raw}"`);
  return new Date(ms).toISOString();
}

function trustedKeys(pubkey: string | undefined): Buffer[] {
  if (pubkey !== undefined) {
    const text = fs.existsSync(pubkey) ? fs.readFileSync(pubkey, 'utf8') : pubkey;
    try {
      return [rawPublicKey(text)];
    } catch (err) {
      throw new UsageError(`--pubkey: ${(err as Error).message}`);
    }
  }
  try {
    return trustedAuditKeys(loadAuditKeyring());
  } catch (err) {
    throw new UsageError(
      `${(err as Error).message}\nverify needs the keyring (${auditKeyringPath()}, or STRATA_KEYRING) or --pubkey`,
    );
  }
}

export function renderVerify(report: VerifyReport): string {
  const lines = report.files.map(
    (f) =>
      `${f.file}: ${f.entries} entries, seq ${f.firstSeq ?? '-'}–${f.lastSeq ?? '-'}, head ${f.head?.slice(0, 16) ?? '-'}…, key ${f.keyId ?? '-'}`,
  );
  if (report.ok) return [...lines, 'ok: chain and signatures verify'].join('\n');
  const first = report.problems[0];
  return [
    ...lines,
    ...report.problems.map((p) => `${p.file}:${p.line}: ${p.kind}: ${p.message}`),
    `FAILED: first bad line ${first.file}:${first.line} (${first.kind})`,
  ].join('\n');
}

export function registerAuditCommands(program: Command): void {
  const audit = command(
    program,
    'audit <id>',
    'who did what, when and why, from the histories of the promotion and its layers (refused API requests: GET /audit/refusals); ' +
      'audit export|verify|pubkey|schedule: the signed, hash-chained export',
  )
    .options<AuditOptions['audit']>({
      json: { description: 'print JSON: a list of {at, actor, authentication, action, layer, detail}' },
    })
    .action(async (id, opts) => {
      if (apiBase()) {
        const entries = await callApi<AuditEntry[]>('GET', `/promotions/${encodeURIComponent(id)}/audit`);
        if (opts.json) printJson(entries);
        else print(renderAudit(entries));
        return EXIT_OK;
      }
      return withClient(async (client) => {
        await getStatus(client, id); // a clear error for an unknown id
        const entries = await auditTrail(client, id);
        if (opts.json) printJson(entries);
        else print(renderAudit(entries));
        return EXIT_OK;
      });
    });

  // `audit <id> --json` and `audit export --json`: each command's options are its own.
  audit.enablePositionalOptions();

  command(
    audit,
    'export',
    'write the entries not exported yet (promotions, layers, drills, rollbacks, teardowns, ladder changes, environment operations, data approvals, API refusals) ' +
      'as JSONL, each line carrying the sha256 of the line before, continuing the last export’s chain, signed with the keyring’s ed25519 key',
  )
    .options<AuditOptions['export']>({
      since: { argument: '<time>', description: 'only entries at or after: ISO time or a duration ago (7d)' },
      until: { argument: '<time>', description: 'only entries before: ISO time or a duration ago' },
      out: { argument: '<file>', description: 'the file to write, never overwritten (default $STRATA_HOME/audit/…)' },
      json: { description: 'print JSON: {file, entries, firstSeq, lastSeq, head, keyId}' },
    })
    .action(async (opts) => {
      const since = parseTimeOption('--since', opts.since);
      const until = parseTimeOption('--until', opts.until);
      const out = opts.out ? path.resolve(opts.out) : undefined;
      if (out && fs.existsSync(out)) throw new UsageError(`--out: ${out} exists; an export never overwrites a file`);
      let summary: ExportSummary;
      if (apiBase()) {
        const query = new URLSearchParams({ ...(since ? { since } : {}), ...(until ? { until } : {}) }).toString();
        const reply = await callApi<{ summary: ExportSummary; text: string }>(
          'GET',
          `/audit/export${query ? `?${query}` : ''}`,
        );
        if (!out) throw new UsageError('--out: required in API mode (the server keeps its own copy)');
        fs.writeFileSync(out, reply.text, { flag: 'wx', mode: 0o600 });
        summary = { ...reply.summary, file: out };
      } else {
        const keyring = loadAuditKeyring();
        summary = await withClient(async (client, settings) => {
          try {
            return await exportAuditTrail({
              client,
              taskQueue: settings.taskQueue,
              home: settings.home,
              keyring,
              since,
              until,
              out,
            });
          } catch (err) {
            if (err instanceof AuditExportError) throw new UsageError(err.message);
            throw err;
          }
        });
      }
      if (opts.json) printJson(summary);
      else
        print(
          `${summary.entries} entries (seq ${summary.firstSeq}–${summary.lastSeq}) written to ${summary.file}; chain head ${summary.head}, signed by ${summary.keyId}`,
        );
      return EXIT_OK;
    });

  command(
    audit,
    'verify <files...>',
    'check exports (in chain order): each line’s sha256 link, the seq numbers and the ed25519 signature; exit 1 names the first bad line and what happened (edited, deleted, inserted, reordered, truncated, re-signed)',
  )
    .options<AuditOptions['verify']>({
      pubkey: {
        argument: '<key>',
        description: 'trust this key (PEM file, PEM, or base64 raw 32 bytes) instead of the keyring',
      },
      json: { description: 'print JSON: {ok, files, problems: [{file, line, kind, message}]}' },
    })
    .action((files, opts) => {
      const trusted = trustedKeys(opts.pubkey);
      const inputs = files.map((file) => {
        try {
          return { file, text: fs.readFileSync(file, 'utf8') };
        } catch {
          throw new UsageError(`${file}: cannot read the file`);
        }
      });
      const report = verifyExports(inputs, trusted);
      if (opts.json) printJson(report);
      else print(renderVerify(report));
      return report.ok ? EXIT_OK : EXIT_FAILED;
    });

  command(
    audit,
    'pubkey',
    'print the public key exports are signed with: PEM (SPKI), or with --raw the raw 32 bytes in base64',
  )
    .options<AuditOptions['pubkey']>({
      raw: { description: 'the raw 32-byte ed25519 key in base64 instead of PEM' },
    })
    .action((opts) => {
      const key = auditPublicKey(loadAuditKeyring());
      print(opts.raw ? key.base64 : key.pem.trimEnd());
      return EXIT_OK;
    });

  command(
    audit,
    'schedule',
    'make sure the daily export Schedule exists on this task queue (workers also do it at start); it writes to $STRATA_HOME/audit/ of the worker that runs it',
  )
    .options<AuditOptions['schedule']>({
      cron: { argument: '<expr>', description: 'cron (UTC); updates an existing schedule (default 17 2 * * *)' },
      now: { description: 'also run one export now' },
      json: { description: 'print JSON: {id, created, cron, paused, nextActionTimes, recentActions}' },
    })
    .action((opts) =>
      withClient(async (client, settings) => {
        const state = await ensureAuditSchedule(client, settings.taskQueue, opts.cron ? { cron: opts.cron } : {});
        if (opts.now) await triggerAuditSchedule(client, settings.taskQueue);
        if (opts.json) printJson(state);
        else
          print(
            `${state.created ? 'created' : 'exists:'} schedule ${state.id} (cron ${state.cron}${state.paused ? ', paused' : ''}); next ${state.nextActionTimes[0] ?? '-'}${opts.now ? '; one export started now' : ''}`,
          );
        return EXIT_OK;
      }),
    );
}

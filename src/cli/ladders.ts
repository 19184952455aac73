import fs from 'node:fs';
import os from 'node:os';
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { loadLadder } from '../config/ladder';
import type { LadderSpec } from '../domain/ladder';
import {
  describeActor,
  diffLadders,
  type LadderApplyReply,
  type LadderVersion,
  renderLadderDiff,
} from '../domain/ladder-version';
import { applyLadder, getLadderVersion, ladderVersions, listLadders } from '../temporal/ladders';
import { command, type JsonOption, type LocalAttribution, localActor } from './command';
import { apiBase, callApi, ignoreAs } from './api-client';
import { print, printJson, printRows, withClient } from './context';
import { EXIT_OK, UsageError } from './errors';
import { integerOption } from './values';

/** The options of the ladder commands: ladder apply | ls | show | history. */
export interface LadderOptions {
  apply: JsonOption & LocalAttribution;
  ls: JsonOption;
  show: JsonOption & {
    /** The version to show. @default the current one */
    version?: string;
  };
  history: JsonOption;
}

/** Who acts in local mode: $STRATA_USER, else the login name (free text until the API door exists). */
export function localUser(): string {
  return process.env.STRATA_USER ?? os.userInfo().username;
}

/** `--ladder` names a file (local mode) rather than a stored ladder when it exists or ends in .yaml/.yml. */
export function isLadderFile(arg: string): boolean {
  return /\.ya?ml$/i.test(arg) || fs.existsSync(arg);
}

/** What `ladder apply` prints: stored (with the diff against the previous version) or unchanged. */
export function describeApply(reply: LadderApplyReply): string {
  const v = reply.current;
  const head = `ladder ${v.ladder.name} version ${v.version} (sha256 ${v.digest.slice(0, 12)})`;
  if (!reply.changed) return `${head} is current already: nothing stored`;
  const against = reply.previous ? `changes since version ${reply.previous.version}` : 'new ladder';
  return [
    `stored ${head}, applied by ${describeActor(v)}: ${v.reason}`,
    `${against}:`,
    renderLadderDiff(diffLadders(reply.previous?.ladder ?? null, v.ladder)),
  ].join('\n');
}

/**
 * Local mode's `--ladder FILE`: validate the file and apply it as a ladder change by the local
 * user, saying so on stderr. Returns the version the promotion (rollback, drill) then names.
 */
export async function applyLadderFile(
  client: Client,
  taskQueue: string,
  ladder: LadderSpec,
  file: string,
  actor: string,
  command: string,
): Promise<LadderVersion> {
  const reply = await applyLadder(client, taskQueue, ladder, {
    actor,
    reason: `applied from ${file} by strata ${command} (local mode)`,
  });
  process.stderr.write(`strata: local mode: ${describeApply(reply).split('\n').join('\nstrata: ')}\n`);
  return reply.current;
}

export function registerLadderCommands(program: Command): void {
  const ladder = program.command('ladder').description('ladders stored on the server: apply, list, show, history');

  command(ladder, 'apply <file>', 'validate a ladder file and store it as a new version; prints the diff')
    .options<LadderOptions['apply']>({
      as: { argument: '<user>', description: 'who applies it (local mode only; required there)' },
      reason: { argument: '<text>', description: 'why', required: true },
      json: { description: 'print JSON' },
    })
    .action(async (file, opts) => {
      // Validate before touching Temporal: exit 2 with the file and field of each mistake.
      const spec = loadLadder(file);
      if (!opts.reason.trim()) throw new UsageError('--reason: expected a non-empty reason');
      if (apiBase()) {
        ignoreAs(opts.as);
        const body = { ladder: fs.readFileSync(file, 'utf8'), reason: opts.reason };
        const reply = await callApi<LadderApplyReply>('POST', '/ladders', body);
        if (opts.json) printJson({ ...reply, diff: diffLadders(reply.previous?.ladder ?? null, reply.current.ladder) });
        else print(describeApply(reply));
        return EXIT_OK;
      }
      const actor = localActor(opts.as);
      return withClient(async (client, settings) => {
        const reply = await applyLadder(client, settings.taskQueue, spec, { actor, reason: opts.reason });
        if (opts.json) printJson({ ...reply, diff: diffLadders(reply.previous?.ladder ?? null, reply.current.ladder) });
        else print(describeApply(reply));
        return EXIT_OK;
      });
    });

  command(ladder, 'ls', 'stored ladders and their current version')
    .options<LadderOptions['ls']>({ json: { description: 'print JSON' } })
    .action(async (opts) => {
      const rows = apiBase()
        ? await callApi<LadderVersion[]>('GET', '/ladders')
        : await withClient(async (client, settings) => {
            const names = await listLadders(client, settings.taskQueue);
            return Promise.all(names.map((n) => getLadderVersion(client, settings.taskQueue, n)));
          });
      printRows(rows, {
        json: opts.json,
        toJson: (rs) => rs.map(summary),
        empty: 'no ladders stored yet (strata ladder apply FILE --as NAME --reason TEXT)',
        header: ['LADDER', 'VERSION', 'DIGEST', 'LAYERS', 'APPLIED BY', 'AT'],
        row: (v) => [
          v.ladder.name,
          String(v.version),
          v.digest.slice(0, 12),
          v.ladder.layers.map((l) => l.name).join(' → '),
          describeActor(v),
          v.at,
        ],
      });
      return EXIT_OK;
    });

  command(ladder, 'show <name>', 'one version of a stored ladder (the current one by default)')
    .options<LadderOptions['show']>({
      version: { argument: '<n>', description: 'the version (default: the current one)' },
      json: { description: 'print JSON' },
    })
    .action(async (name, opts) => {
      const version = opts.version === undefined ? undefined : integerOption('version', opts.version, 1);
      const v = apiBase()
        ? await callApi<LadderVersion>(
            'GET',
            `/ladders/${encodeURIComponent(name)}${version === undefined ? '' : `?version=${version}`}`,
          )
        : await withClient((client, settings) => getLadderVersion(client, settings.taskQueue, name, version));
      if (opts.json) printJson(v);
      else {
        print(`ladder ${name} version ${v.version} (sha256 ${v.digest})`);
        print(`applied by ${describeActor(v)} at ${v.at}: ${v.reason}`);
        print('');
        for (const l of v.ladder.layers) {
          const approval =
            l.approval.mode === 'auto'
              ? 'auto'
              : `${l.approval.required} of ${l.approval.approvers.join(', ')} within ${l.approval.expiry}` +
                (l.approval.remind ? `, reminders after ${l.approval.remind.join(', ')}` : '') +
                (l.approval.escalate
                  ? `, escalating to ${l.approval.escalate.to.join(', ')} after ${l.approval.escalate.after}`
                  : '');
          print(
            `${l.name}: gates ${l.gates.map((g) => g.name).join(', ') || '-'}; approval ${approval}; rollback ${l.rollback}`,
          );
        }
      }
      return EXIT_OK;
    });

  command(ladder, 'history <name>', 'the versions of a stored ladder: who applied each, when and why')
    .options<LadderOptions['history']>({ json: { description: 'print JSON' } })
    .action(async (name, opts) => {
      const versions = apiBase()
        ? await callApi<LadderVersion[]>('GET', `/ladders/${encodeURIComponent(name)}/history`)
        : await withClient((client, settings) => ladderVersions(client, settings.taskQueue, name));
      printRows(versions, {
        json: opts.json,
        toJson: (rs) => rs.map(summary),
        empty: `ladder ${name} has no version yet`,
        header: ['VERSION', 'DIGEST', 'APPLIED BY', 'AT', 'REASON'],
        row: (v) => [String(v.version), v.digest.slice(0, 12), describeActor(v), v.at, v.reason],
      });
      return EXIT_OK;
    });
}

/** A version without its layers, for lists. */
function summary(v: LadderVersion) {
  return {
    name: v.ladder.name,
    version: v.version,
    digest: v.digest,
    layers: v.ladder.layers.map((l) => l.name),
    actor: v.actor,
    authenticated: v.authenticated,
    reason: v.reason,
    at: v.at,
  };
}

/**
 * The ladder `--ladder` names for rollback and drills: a file (validated, local mode) or a stored
 * ladder's current version.
 */
export async function readLadderArgument(arg: string): Promise<LadderSpec> {
  if (isLadderFile(arg)) return loadLadder(arg);
  return withClient(async (client, settings) => (await getLadderVersion(client, settings.taskQueue, arg)).ladder);
}

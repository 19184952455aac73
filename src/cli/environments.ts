import fs from 'node:fs';
import type { Command } from 'commander';
import type { LocalProvider } from '../providers/local';
import { localProvider } from './lazy';
import { loadSettings } from '../temporal/settings';
import { print, printJson, printRows, withClient } from './context';
import { currentVersion, type EnvironmentState, versionAt } from '../domain/environment';
import {
  breakLease,
  getEnvironment,
  hold,
  listEnvironments,
  releaseHold,
  teardownLayer,
} from '../temporal/environments';
import { table } from './render';
import { command, type JsonOption, type LocalAttribution, localActor } from './command';
import { apiBase, callApi, ignoreAs } from './api-client';
import { EXIT_OK, UsageError } from './errors';

/** Environment names present under $STRATA_HOME/envs. */
function environments(provider: LocalProvider): string[] {
  if (!fs.existsSync(provider.envsDir)) return [];
  return fs
    .readdirSync(provider.envsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && /^[a-z][a-z0-9-]*$/.test(d.name))
    .map((d) => d.name)
    .sort();
}

/** The options of the environment commands: teardown, env ls | show | at | unlock, hold and release. */
export interface EnvironmentOptions {
  teardown: JsonOption &
    LocalAttribution & {
      /** Every environment under $STRATA_HOME/envs, in place of named layers. @default false */
      all?: boolean;
    };
  ls: JsonOption;
  repair: JsonOption;
  show: JsonOption;
  at: JsonOption & {
    /** An ISO time, or an age such as 2h. */
    time: string;
  };
  unlock: JsonOption & LocalAttribution;
  hold: JsonOption &
    LocalAttribution & {
      /** The layer to hold or release. */
      layer: string;
    };
}

export function registerEnvironmentCommands(program: Command): void {
  command(
    program,
    'teardown [layers...]',
    "under each layer's lease, stop the processes of each named environment (candidate, feature service, Toxiproxy), or --all, and remove its directory; recorded with who and why",
  )
    .options<EnvironmentOptions['teardown']>({
      all: { description: 'every environment under $STRATA_HOME/envs' },
      as: {
        argument: '<user>',
        description: 'your identity (local mode: free text, recorded as unauthenticated; required there)',
      },
      reason: { argument: '<text>', description: 'why', required: true },
      json: { description: 'print JSON' },
    })
    .action(async (layers, opts) => {
      if (apiBase()) {
        ignoreAs(opts.as);
        if (opts.all && layers.length > 0) throw new UsageError('teardown: name layers or use --all, not both');
        if (!opts.all && layers.length === 0) throw new UsageError('teardown: name at least one layer, or use --all');
        const out = await callApi<{ removed: string[] }>('POST', '/teardowns', {
          ...(opts.all ? { all: true } : { layers }),
          reason: opts.reason,
        });
        if (opts.json) printJson({ removed: out.removed });
        else print(out.removed.length ? `removed ${out.removed.join(', ')}` : 'no environments');
        return EXIT_OK;
      }
      const actor = localActor(opts.as);
      const settings = loadSettings();
      const provider = await localProvider(settings.home);
      const present = environments(provider);
      if (opts.all && layers.length > 0) throw new UsageError('teardown: name layers or use --all, not both');
      if (!opts.all && layers.length === 0) throw new UsageError('teardown: name at least one layer, or use --all');
      const targets = opts.all ? present : layers;
      const unknown = targets.filter((l) => !present.includes(l));
      if (unknown.length > 0) {
        throw new UsageError(
          `teardown: no environment ${unknown.map((u) => `"${u}"`).join(', ')} in ${provider.envsDir}` +
            ` (present: ${present.join(', ') || 'none'})`,
        );
      }
      if (targets.length === 0) {
        if (opts.json) printJson({ removed: [] });
        else print('no environments');
        return EXIT_OK;
      }
      return withClient(async (client) => {
        for (const layer of targets) {
          await teardownLayer(client, settings.taskQueue, layer, { actor, reason: opts.reason });
        }
        if (opts.json) printJson({ removed: targets });
        else print(`removed ${targets.join(', ')}`);
        return EXIT_OK;
      });
    });
}

function renderEnvironment(env: EnvironmentState): string {
  const now = currentVersion(env.history);
  const lines = [
    `environment ${env.layer}: running ${now?.version ?? 'nothing'}${env.tornDownAt ? ` (torn down ${env.tornDownAt})` : ''}`,
    `lease: ${env.lease ? `${env.lease.kind} ${env.lease.holder} since ${env.lease.since}` : 'free'}` +
      (env.waiting.length ? `; waiting: ${env.waiting.map((w) => `${w.kind} ${w.holder}`).join(', ')}` : ''),
    `hold: ${env.hold ? `by ${env.hold.by} since ${env.hold.at}: ${env.hold.reason}` : 'none'}`,
    `credentials rotated: ${env.credentialsRotatedAt ?? 'never'}`,
  ];
  if (env.history.length) {
    lines.push('');
    lines.push(
      table(
        ['AT', 'EVENT', 'VERSION', 'BY', 'REASON'],
        env.history.map((e) => [e.at, e.event, e.version ?? '-', e.by, e.reason ?? '']),
      ),
    );
  }
  if (env.operations?.length) {
    lines.push('', 'operator actions (local identities are unauthenticated):');
    lines.push(
      table(
        ['AT', 'ACTION', 'ACTOR', 'REASON'],
        env.operations.map((o) => [
          o.at,
          o.holder ? `${o.action} (from ${o.holder})` : o.action,
          o.action === 'release-holder-closed' ? `${o.actor} (system)` : `${o.actor} (local (unauthenticated))`,
          o.reason,
        ]),
      ),
    );
  }
  return lines.join('\n');
}

/** An ISO time, or a duration ago such as "2h" (two hours ago). */
export function parseTime(raw: string, now = Date.now()): string {
  const ago = /^(\d+)(s|m|h|d)$/.exec(raw.trim());
  if (ago) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[ago[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now - Number(ago[1]) * unit).toISOString();
  }
  const t = Date.parse(raw);
  if (Number.isNaN(t)) {
    throw new UsageError(
      `--time: expected an ISO time such as 2026-11-25T14:00:00Z, or an age such as 2h, got "${raw}"`,
    );
  }
  return new Date(t).toISOString();
}

export function registerEnvironmentWorkflowCommands(program: Command): void {
  const env = program.command('env').description('environments: what runs where, since when, and who holds them');

  command(
    env,
    'repair <layer>',
    'bring an environment with damaged or missing state back to a known condition: stop its own processes, rebuild state.json, reseed on next use',
  )
    .options<EnvironmentOptions['repair']>({ json: { description: 'print JSON' } })
    .action(async (layer, opts) => {
      if (apiBase()) {
        const r = await callApi<{ layer: string; stopped: number[]; knownGood: string | null }>(
          'POST',
          `/environments/${encodeURIComponent(layer)}/repair`,
          {},
        );
        if (opts.json) printJson(r);
        else
          print(
            `repaired ${layer} on the server: stopped ${r.stopped.length ? r.stopped.join(', ') : 'nothing'}; known good ${r.knownGood ?? 'none'}; the database is reseeded on next use`,
          );
        return EXIT_OK;
      }
      const provider = await localProvider(loadSettings().home);
      if (!environments(provider).includes(layer) && provider.events(layer).length === 0)
        throw new UsageError(`env repair: no environment "${layer}" in ${provider.envsDir}`);
      const r = await provider.repair(layer);
      if (opts.json) printJson({ layer, ...r });
      else
        print(
          `repaired ${layer}: stopped ${r.stopped.length ? r.stopped.join(', ') : 'nothing'}; ` +
            `known good ${r.knownGood ?? 'none'}; the database is reseeded on next use`,
        );
      return EXIT_OK;
    });

  command(env, 'ls', 'environments with their running version, lease and hold')
    .options<EnvironmentOptions['ls']>({ json: { description: 'print JSON' } })
    .action(async (opts) => {
      const envs = apiBase()
        ? await callApi<EnvironmentState[]>('GET', '/environments')
        : await withClient(async (client, settings) => {
            const layers = await listEnvironments(client, settings.taskQueue);
            return Promise.all(layers.map((l) => getEnvironment(client, settings.taskQueue, l)));
          });
      printRows(envs, {
        json: opts.json,
        empty: 'no environments yet',
        header: ['LAYER', 'RUNNING', 'LEASE', 'WAITING', 'HOLD'],
        row: (e) => [
          e.layer,
          currentVersion(e.history)?.version ?? '-',
          e.lease ? `${e.lease.kind} ${e.lease.holder}` : 'free',
          String(e.waiting.length),
          e.hold ? `${e.hold.by}: ${e.hold.reason}` : '-',
        ],
      });
      return EXIT_OK;
    });

  command(env, 'show <layer>', "an environment's lease, hold and version history")
    .options<EnvironmentOptions['show']>({ json: { description: 'print JSON' } })
    .action(async (layer, opts) => {
      const e = apiBase()
        ? await callApi<EnvironmentState>('GET', `/environments/${encodeURIComponent(layer)}`)
        : await withClient((client, settings) => getEnvironment(client, settings.taskQueue, layer));
      if (opts.json) printJson(e);
      else print(renderEnvironment(e));
      return EXIT_OK;
    });

  command(env, 'at <layer>', 'which version ran in the layer at a time')
    .options<EnvironmentOptions['at']>({
      time: { argument: '<time>', description: 'an ISO time, or an age such as 2h', required: true },
      json: { description: 'print JSON' },
    })
    .action(async (layer, opts) => {
      const time = parseTime(opts.time);
      const environment = apiBase()
        ? () => callApi<EnvironmentState>('GET', `/environments/${encodeURIComponent(layer)}`)
        : () => withClient((client, settings) => getEnvironment(client, settings.taskQueue, layer));
      {
        const e = await environment();
        const found = versionAt(e.history, time);
        if (opts.json)
          printJson({ layer, time, version: found?.version ?? null, since: found?.at ?? null, by: found?.by ?? null });
        else
          print(
            found
              ? `${layer} at ${time}: ${found.version} (since ${found.at}, ${found.event} by ${found.by})`
              : `${layer} at ${time}: nothing ran`,
          );
        return EXIT_OK;
      }
    });

  command(
    env,
    'unlock <layer>',
    'take the lease from a holder that will never release it (a terminated or lost workflow); the next waiter gets it',
  )
    .options<EnvironmentOptions['unlock']>({
      as: { argument: '<user>', description: 'your identity (local mode only; required there)' },
      reason: { argument: '<text>', description: 'why', required: true },
      json: { description: 'print JSON' },
    })
    .action(async (layer, opts) => {
      if (apiBase()) ignoreAs(opts.as);
      const unlock = apiBase()
        ? () =>
            callApi<{ broken: string }>('POST', `/environments/${encodeURIComponent(layer)}/unlock`, {
              reason: opts.reason,
            })
        : () =>
            withClient((client, settings) =>
              breakLease(client, settings.taskQueue, layer, { actor: localActor(opts.as), reason: opts.reason }),
            );
      const out = await unlock();
      if (opts.json) printJson(out);
      else print(`took the lease of ${layer} from ${out.broken}`);
      return EXIT_OK;
    });

  for (const [name, verb] of [
    ['hold', 'stop automatic (re-)promotion into a layer until released'],
    ['release', 'release a hold'],
  ] as const) {
    command(program, name, verb)
      .options<EnvironmentOptions['hold']>({
        layer: { argument: '<layer>', description: 'the layer', required: true },
        as: { argument: '<user>', description: 'your identity (local mode only; required there)' },
        reason: { argument: '<text>', description: 'why', required: true },
        json: { description: 'print JSON' },
      })
      .action(async (opts) => {
        if (apiBase()) ignoreAs(opts.as);
        const out = apiBase()
          ? await callApi<unknown>('POST', `/environments/${encodeURIComponent(opts.layer)}/${name}`, {
              reason: opts.reason,
            })
          : await withClient<unknown>((client, settings) => {
              const req = { actor: localActor(opts.as), reason: opts.reason };
              return name === 'hold'
                ? hold(client, settings.taskQueue, opts.layer, req)
                : releaseHold(client, settings.taskQueue, opts.layer, req);
            });
        if (opts.json) printJson(out);
        else
          print(
            name === 'hold'
              ? `${opts.layer} is on hold: promotions into it fail until released`
              : `${opts.layer} released`,
          );
        return EXIT_OK;
      });
  }
}

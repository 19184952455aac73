import fs from 'node:fs';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import type { Command } from 'commander';
import { isLadderFile, readLadderArgument } from './ladders';
import { DRILL_SCENARIOS, type DrillScenario, SERVER_FIELD, scenarioConfigProblem } from '../domain/drill';
import { DURATION_HINT, parseDuration } from '../domain/duration';
import type { LadderSpec, LayerSpec } from '../domain/ladder';
import { verdictLine } from '../drills/report';
import { localProvider } from './lazy';
import {
  createDrillSchedule,
  drillHistory,
  type DrillHistoryRow,
  listDrillSchedules,
  runDrill,
  type ScheduleRow,
  withSchedule,
} from '../temporal/drills';
import { loadSettings } from '../temporal/settings';
import { command, type JsonOption } from './command';
import { print, printJson, printRows, withClient } from './context';
import { EXIT_FAILED, EXIT_OK, type ExitCode, UsageError } from './errors';
import { apiBase, callApi } from './api-client';
import type { DrillResult } from '../../workflows/drill';

function scenarioOf(raw: string): DrillScenario {
  if (!(DRILL_SCENARIOS as readonly string[]).includes(raw)) {
    throw new UsageError(`--scenario: unknown scenario "${raw}"; expected one of ${DRILL_SCENARIOS.join(', ')}`);
  }
  return raw as DrillScenario;
}

/** The layer, checked for an objective for the scenario and an environment with data to drill. */
async function drillableLayer(
  ladderFile: string,
  layerName: string,
  scenario: DrillScenario,
  needEnvironment: boolean,
): Promise<LayerSpec> {
  const ladder = await readLadderArgument(ladderFile);
  const layer = ladder.layers.find((l) => l.name === layerName);
  if (!layer)
    throw new UsageError(
      `--layer: unknown layer "${layerName}"; ladder "${ladder.name}" has ${ladder.layers.map((l) => l.name).join(', ')}`,
    );
  const where = `${ladderFile}: layers[${ladder.layers.indexOf(layer)}]`;
  // Before anything else: a server Strata cannot start again is never killed.
  const problem = scenarioConfigProblem(scenario, layer.provider);
  if (problem) throw new UsageError(`${where}.${SERVER_FIELD}: layer ${layer.name}: ${problem}`);
  if (!layer.drills?.[scenario]) {
    throw new UsageError(
      `${where}.drills.${scenario}: layer ${layer.name} declares no RTO/RPO objective for ${scenario} ` +
        `(add e.g. \`drills: { ${scenario}: { rto: 60s, rpo: 5s } }\`)`,
    );
  }
  if (needEnvironment) {
    const env = await (await localProvider(loadSettings().home)).describe(layer.name);
    // A postgres environment's database is on its server (env.database names it), not in the file.
    if (!env || (!env.database && !fs.existsSync(env.dbPath))) {
      throw new UsageError(
        `--layer: ${layer.name} has no environment with a database to back up and drill; promote a candidate into it first`,
      );
    }
  }
  return layer;
}

function checkDuration(flag: string, raw: string | undefined): void {
  if (raw !== undefined && !((parseDuration(raw) ?? 0) > 0))
    throw new UsageError(`${flag}: expected ${DURATION_HINT}, got "${raw}"`);
}

/** Five-field cron (minute hour day-of-month month day-of-week), or a @-shorthand Temporal accepts. */
function checkCron(raw: string): void {
  const shorthand = /^@(yearly|annually|monthly|weekly|daily|hourly)$/.test(raw.trim());
  const fields = raw.trim().split(/\s+/);
  const field = /^(\*|\d+(-\d+)?)(\/\d+)?(,(\*|\d+(-\d+)?)(\/\d+)?)*$|^[A-Za-z]{3}(-[A-Za-z]{3})?$/;
  if (!shorthand && (fields.length !== 5 || !fields.every((f) => field.test(f)))) {
    throw new UsageError(
      `--cron: expected five fields "minute hour day-of-month month day-of-week" (e.g. "0 3 * * 1") or @daily/@weekly, got "${raw}"`,
    );
  }
}

/** The options of the drill commands: run, history and schedule. */
export interface DrillOptions {
  run: JsonOption & {
    /** The ladder file: the layer's objectives and gates. */
    ladder: string;
    /** The layer to drill. */
    layer: string;
    /** One of DRILL_SCENARIOS. */
    scenario: string;
    /** rows-corrupted: the percent of rows to corrupt, in (0, 100]. @default "10" */
    percent: string;
    /** Who runs it. @default $STRATA_USER, else "operator" */
    as: string;
  };
  history: JsonOption & {
    /** The layer whose drills to list. */
    layer: string;
  };
  schedule: JsonOption & {
    /** The ladder file (when creating). */
    ladder?: string;
    /** The layer (when creating). */
    layer?: string;
    /** The scenario (when creating). */
    scenario?: string;
    /** A five-field cron expression or an @-shorthand; exactly one of cron and every when creating. */
    cron?: string;
    /** An interval such as 7d. */
    every?: string;
    /** A random delay added to each run, such as 30m. */
    jitter?: string;
    /** Backfill: the start (ISO time). */
    from?: string;
    /** Backfill: the end (ISO time). */
    to?: string;
    /** Who schedules it. @default $STRATA_USER, else "operator" */
    as: string;
  };
}

/** Prints a drill's report; exit 0 when its objectives were met, 1 when breached. */
function drillReport(result: DrillResult, json: boolean | undefined): ExitCode {
  if (json) printJson(result);
  else {
    print(`drill ${result.id}: ${result.verdict.met ? 'MET' : 'BREACHED'} — ${verdictLine(result.verdict)}`);
    print(`writes lost: ${result.measurement.writesLost}; report: ${result.files.markdownFile}`);
  }
  return result.verdict.met ? EXIT_OK : EXIT_FAILED;
}

export function registerDrillCommands(program: Command): void {
  const drill = program.command('drill').description('disaster-recovery drills: run, schedule, history');

  command(
    drill,
    'run',
    'run a DR drill on a layer and report RTO and RPO against its objectives (exit 0 met, 1 breached)',
  )
    .options<DrillOptions['run']>({
      ladder: {
        argument: '<name|file>',
        description: "a stored ladder's name or a ladder.yaml (objectives and gates)",
        required: true,
      },
      layer: { argument: '<layer>', description: 'the layer', required: true },
      scenario: {
        argument: '<scenario>',
        description: `${DRILL_SCENARIOS.join(' | ')} (server-killed: a postgres layer with ${SERVER_FIELD})`,
        required: true,
      },
      percent: { argument: '<n>', description: 'rows-corrupted: percent of rows to corrupt', default: '10' },
      as: { argument: '<user>', description: 'who runs it', default: process.env.STRATA_USER ?? 'operator' },
      json: { description: 'print the report as JSON' },
    })
    .action(async (opts) => {
      const scenario = scenarioOf(opts.scenario);
      const percent = Number(opts.percent);
      if (!(percent > 0 && percent <= 100))
        throw new UsageError(`--percent: expected a number in (0, 100], got "${opts.percent}"`);
      if (apiBase()) {
        if (isLadderFile(opts.ladder))
          throw new UsageError(
            `--ladder: with STRATA_API name a stored ladder, not a file (store ${opts.ladder} with strata ladder apply)`,
          );
        process.stderr.write(`strata: drilling ${scenario} on ${opts.layer} through the API…\n`);
        const result = await callApi<DrillResult>('POST', '/drills', {
          ladder: opts.ladder,
          layer: opts.layer,
          scenario,
          percent,
        });
        return drillReport(result, opts.json);
      }
      const layer = await drillableLayer(opts.ladder, opts.layer, scenario, true);
      return withClient(async (client, settings) => {
        process.stderr.write(`strata: drilling ${scenario} on ${layer.name}…\n`);
        const result = await runDrill(client, settings.taskQueue, {
          layer,
          ladder: await ladderNamed(opts.ladder),
          scenario,
          percent,
          requestedBy: opts.as,
        });
        return drillReport(result, opts.json);
      });
    });

  command(drill, 'history', "a layer's drills, newest first, with RTO, RPO and verdict")
    .options<DrillOptions['history']>({
      layer: { argument: '<layer>', description: 'the layer', required: true },
      json: { description: 'print JSON' },
    })
    .action(async (opts) => {
      const history = apiBase()
        ? () => callApi<DrillHistoryRow[]>('GET', `/drills?layer=${encodeURIComponent(opts.layer)}`)
        : () => withClient((client, settings) => drillHistory(client, settings.taskQueue, opts.layer));
      {
        const rows = await history();
        printRows(rows, {
          json: opts.json,
          empty: `no drills of ${opts.layer} yet`,
          header: ['ID', 'SCENARIO', 'STARTED', 'VERDICT', 'RTO', 'RPO', 'REPORT'],
          row: (r) => [
            r.id,
            r.scenario,
            r.startTime,
            r.phase,
            r.rtoMs === null ? '-' : `${r.rtoMs} ms`,
            r.rpoMs === null ? '-' : `${r.rpoMs} ms`,
            r.report ?? '-',
          ],
        });
        return EXIT_OK;
      }
    });

  command(
    drill,
    'schedule [action] [id]',
    'create a drill schedule (--layer --scenario --cron|--every), or: ls | pause | resume | trigger | delete | backfill ID',
  )
    .options<DrillOptions['schedule']>({
      ladder: { argument: '<name|file>', description: "a stored ladder's name or a ladder.yaml (when creating)" },
      layer: { argument: '<layer>', description: 'the layer (when creating)' },
      scenario: { argument: '<scenario>', description: 'the scenario (when creating)' },
      cron: { argument: '<expr>', description: 'cron expression, e.g. "0 3 * * 1"' },
      every: { argument: '<duration>', description: 'interval, e.g. 7d' },
      jitter: { argument: '<duration>', description: 'random delay added to each run, e.g. 30m' },
      from: { argument: '<time>', description: 'backfill: start (ISO time)' },
      to: { argument: '<time>', description: 'backfill: end (ISO time)' },
      as: { argument: '<user>', description: 'who schedules it', default: process.env.STRATA_USER ?? 'operator' },
      json: { description: 'print JSON' },
    })
    .action(async (action, id, opts) => {
      const actions = ['ls', 'pause', 'resume', 'trigger', 'delete', 'backfill'];
      if (action !== undefined && !actions.includes(action))
        throw new UsageError(
          `drill schedule: unknown action "${action}"; expected ${actions.join(', ')} or none (create)`,
        );
      if (action === undefined) {
        if (!opts.ladder || !opts.layer || !opts.scenario)
          throw new UsageError('drill schedule: --ladder, --layer and --scenario are required to create a schedule');
        if (Boolean(opts.cron) === Boolean(opts.every))
          throw new UsageError('drill schedule: give exactly one of --cron and --every');
        if (opts.cron) checkCron(opts.cron);
        checkDuration('--every', opts.every);
        checkDuration('--jitter', opts.jitter);
        const scenario = scenarioOf(opts.scenario);
        if (apiBase()) {
          if (isLadderFile(opts.ladder))
            throw new UsageError(
              `--ladder: with STRATA_API name a stored ladder, not a file (store ${opts.ladder} with strata ladder apply)`,
            );
          const { id: scheduleId } = await callApi<{ id: string }>('POST', '/drills/schedules', {
            ladder: opts.ladder,
            layer: opts.layer,
            scenario,
            ...(opts.cron ? { cron: opts.cron } : {}),
            ...(opts.every ? { every: opts.every } : {}),
            ...(opts.jitter ? { jitter: opts.jitter } : {}),
          });
          if (opts.json) printJson({ id: scheduleId });
          else print(`scheduled ${scenario} drills of ${opts.layer}: ${scheduleId}`);
          return EXIT_OK;
        }
        const layer = await drillableLayer(opts.ladder, opts.layer, scenario, false);
        return withClient(async (client, settings) => {
          const scheduleId = await createDrillSchedule(client, settings.taskQueue, {
            layer,
            ladder: await ladderNamed(opts.ladder!),
            scenario,
            cron: opts.cron,
            every: opts.every,
            jitter: opts.jitter,
            requestedBy: opts.as,
          });
          if (opts.json) printJson({ id: scheduleId });
          else print(`scheduled ${scenario} drills of ${layer.name}: ${scheduleId}`);
          return EXIT_OK;
        });
      }
      if (action === 'ls') {
        const list = apiBase()
          ? () => callApi<ScheduleRow[]>('GET', '/drills/schedules')
          : () => withClient((client, settings) => listDrillSchedules(client, settings.taskQueue));
        {
          const rows = await list();
          printRows(rows, {
            json: opts.json,
            empty: 'no drill schedules',
            header: ['ID', 'LAYER', 'SCENARIO', 'SPEC', 'PAUSED', 'RUNS', 'NEXT'],
            row: (r) => [
              r.id,
              r.layer,
              r.scenario,
              r.spec,
              r.paused ? 'yes' : 'no',
              String(r.recentActions),
              r.nextActionTimes[0] ?? '-',
            ],
          });
          return EXIT_OK;
        }
      }
      if (!id)
        throw new UsageError(`drill schedule ${action}: name the schedule id (see \`strata drill schedule ls\`)`);
      let range: { start: Date; end: Date } | undefined;
      if (action === 'backfill') {
        const start = Date.parse(opts.from ?? '');
        const end = Date.parse(opts.to ?? '');
        if (Number.isNaN(start) || Number.isNaN(end) || start >= end) {
          throw new UsageError('drill schedule backfill: --from and --to must be ISO times with --from before --to');
        }
        range = { start: new Date(start), end: new Date(end) };
      }
      if (apiBase()) {
        const route = `/drills/schedules/${encodeURIComponent(id)}`;
        if (action === 'delete') await callApi('DELETE', route);
        else await callApi('POST', `${route}/${action}`, range ? { from: opts.from, to: opts.to } : {});
        if (opts.json) printJson({ id, action });
        else print(`${action}: ${id}`);
        return EXIT_OK;
      }
      return withClient(async (client) => {
        await withSchedule(client, id, async (h) => {
          if (action === 'pause') await h.pause(`paused by ${opts.as}`);
          else if (action === 'resume') await h.unpause(`resumed by ${opts.as}`);
          else if (action === 'trigger') await h.trigger();
          else if (action === 'delete') await h.delete();
          // Backfill every missed firing, one after another (skip would start only one).
          else if (action === 'backfill') await h.backfill({ ...range!, overlap: ScheduleOverlapPolicy.BUFFER_ALL });
        });
        if (opts.json) printJson({ id, action });
        else print(`${action}: ${id}`);
        return EXIT_OK;
      });
    });
}

/** A stored ladder by name, or (local mode) a ladder file, which the drill applies first. */
async function ladderNamed(arg: string): Promise<LadderSpec | { name: string }> {
  return isLadderFile(arg) ? readLadderArgument(arg) : { name: arg };
}

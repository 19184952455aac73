import fs from 'node:fs';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import type { Command } from 'commander';
import { loadLadder } from '../config/ladder';
import { DRILL_SCENARIOS, type DrillScenario } from '../domain/drill';
import { DURATION_HINT, parseDuration } from '../domain/duration';
import type { LayerSpec } from '../domain/ladder';
import { verdictLine } from '../drills/report';
import { LocalProvider } from '../providers/local';
import { createDrillSchedule, drillHistory, listDrillSchedules, runDrill, withSchedule } from '../temporal/drills';
import { loadSettings } from '../temporal/settings';
import { print, printJson, withClient } from './context';
import { EXIT_FAILED, EXIT_OK, UsageError } from './errors';
import { table } from './render';

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
  const ladder = loadLadder(ladderFile);
  const layer = ladder.layers.find((l) => l.name === layerName);
  if (!layer)
    throw new UsageError(
      `--layer: unknown layer "${layerName}"; ladder "${ladder.name}" has ${ladder.layers.map((l) => l.name).join(', ')}`,
    );
  if (!layer.drills?.[scenario]) {
    throw new UsageError(
      `${ladderFile}: layers[${ladder.layers.indexOf(layer)}].drills.${scenario}: layer ${layer.name} declares no RTO/RPO objective for ${scenario} ` +
        `(add e.g. \`drills: { ${scenario}: { rto: 60s, rpo: 5s } }\`)`,
    );
  }
  if (needEnvironment) {
    const env = await new LocalProvider(loadSettings().home).describe(layer.name);
    if (!env || !fs.existsSync(env.dbPath)) {
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

export function registerDrillCommands(program: Command, setExit: (code: number) => void): void {
  const drill = program.command('drill').description('disaster-recovery drills: run, schedule, history');

  drill
    .command('run')
    .description('run a DR drill on a layer and report RTO and RPO against its objectives (exit 0 met, 1 breached)')
    .requiredOption('--ladder <file>', 'ladder.yaml (objectives and gates)')
    .requiredOption('--layer <layer>', 'the layer')
    .requiredOption('--scenario <scenario>', DRILL_SCENARIOS.join(' | '))
    .option('--percent <n>', 'rows-corrupted: percent of rows to corrupt', '10')
    .option('--as <user>', 'who runs it', process.env.STRATA_USER ?? 'operator')
    .option('--json', 'print the report as JSON')
    .action(async (opts) => {
      const scenario = scenarioOf(opts.scenario);
      const percent = Number(opts.percent);
      if (!(percent > 0 && percent <= 100))
        throw new UsageError(`--percent: expected a number in (0, 100], got "${opts.percent}"`);
      const layer = await drillableLayer(opts.ladder, opts.layer, scenario, true);
      await withClient(async (client, settings) => {
        process.stderr.write(`strata: drilling ${scenario} on ${layer.name}…\n`);
        const result = await runDrill(client, settings.taskQueue, { layer, scenario, percent, requestedBy: opts.as });
        if (opts.json) printJson(result);
        else {
          print(`drill ${result.id}: ${result.verdict.met ? 'MET' : 'BREACHED'} — ${verdictLine(result.verdict)}`);
          print(`writes lost: ${result.measurement.writesLost}; report: ${result.files.markdownFile}`);
        }
        setExit(result.verdict.met ? EXIT_OK : EXIT_FAILED);
      });
    });

  drill
    .command('history')
    .description("a layer's drills, newest first, with RTO, RPO and verdict")
    .requiredOption('--layer <layer>', 'the layer')
    .option('--json', 'print JSON')
    .action(async (opts) => {
      await withClient(async (client, settings) => {
        const rows = await drillHistory(client, settings.taskQueue, opts.layer);
        if (opts.json) return printJson(rows);
        if (rows.length === 0) return print(`no drills of ${opts.layer} yet`);
        print(
          table(
            ['ID', 'SCENARIO', 'STARTED', 'VERDICT', 'RTO', 'RPO', 'REPORT'],
            rows.map((r) => [
              r.id,
              r.scenario,
              r.startTime,
              r.phase,
              r.rtoMs === null ? '-' : `${r.rtoMs} ms`,
              r.rpoMs === null ? '-' : `${r.rpoMs} ms`,
              r.report ?? '-',
            ]),
          ),
        );
      });
    });

  drill
    .command('schedule [action] [id]')
    .description(
      'create a drill schedule (--layer --scenario --cron|--every), or: ls | pause | resume | trigger | delete | backfill ID',
    )
    .option('--ladder <file>', 'ladder.yaml (when creating)')
    .option('--layer <layer>', 'the layer (when creating)')
    .option('--scenario <scenario>', 'the scenario (when creating)')
    .option('--cron <expr>', 'cron expression, e.g. "0 3 * * 1"')
    .option('--every <duration>', 'interval, e.g. 7d')
    .option('--jitter <duration>', 'random delay added to each run, e.g. 30m')
    .option('--from <time>', 'backfill: start (ISO time)')
    .option('--to <time>', 'backfill: end (ISO time)')
    .option('--as <user>', 'who schedules it', process.env.STRATA_USER ?? 'operator')
    .option('--json', 'print JSON')
    .action(async (action: string | undefined, id: string | undefined, opts) => {
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
        const layer = await drillableLayer(opts.ladder, opts.layer, scenario, false);
        await withClient(async (client, settings) => {
          const scheduleId = await createDrillSchedule(client, settings.taskQueue, {
            layer,
            scenario,
            cron: opts.cron,
            every: opts.every,
            jitter: opts.jitter,
            requestedBy: opts.as,
          });
          if (opts.json) printJson({ id: scheduleId });
          else print(`scheduled ${scenario} drills of ${layer.name}: ${scheduleId}`);
        });
        return;
      }
      if (action === 'ls') {
        await withClient(async (client, settings) => {
          const rows = await listDrillSchedules(client, settings.taskQueue);
          if (opts.json) return printJson(rows);
          if (rows.length === 0) return print('no drill schedules');
          print(
            table(
              ['ID', 'LAYER', 'SCENARIO', 'SPEC', 'PAUSED', 'RUNS', 'NEXT'],
              rows.map((r) => [
                r.id,
                r.layer,
                r.scenario,
                r.spec,
                r.paused ? 'yes' : 'no',
                String(r.recentActions),
                r.nextActionTimes[0] ?? '-',
              ]),
            ),
          );
        });
        return;
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
      await withClient(async (client) => {
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
      });
    });
}

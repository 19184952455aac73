import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { loadCandidate } from '../config/candidate';
import { layerRange, loadLadder } from '../config/ladder';
import { PROMOTION_STATES, type PromotionState, type PromotionStatus, isTerminal } from '../domain/status';
import { abort, approve, getStatus, listPromotions, reject, startPromotion } from '../temporal/promotions';
import { print, printJson, withClient } from './context';
import { EXIT_FAILED, EXIT_OK, UsageError } from './errors';
import { renderList, renderStatus } from './render';

function defaultUser(): string {
  return process.env.STRATA_USER ?? os.userInfo().username;
}

/** Polls status until the promotion ends; reports phase changes on stderr. */
export async function waitUntilEnded(
  client: Client,
  id: string,
  onChange: (s: PromotionStatus) => void = () => {},
): Promise<PromotionStatus> {
  let last = '';
  for (;;) {
    const s = await getStatus(client, id);
    const key = JSON.stringify([s.state, s.layers.map((l) => [l.phase, l.gates.length, l.approvals.length])]);
    if (key !== last) {
      last = key;
      onChange(s);
    }
    if (isTerminal(s.state)) return s;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export function describeProgress(s: PromotionStatus): string {
  const active = s.layers.find((l) => !['pending', 'promoted'].includes(l.phase)) ?? s.layers[s.layers.length - 1];
  return `strata: ${s.id}: ${s.state}; ${active.name}: ${active.phase}`;
}

export function registerPromotionCommands(program: Command, setExit: (code: number) => void): void {
  program
    .command('promote')
    .description('start promoting a candidate through the ladder')
    .requiredOption('--ladder <file>', 'ladder.yaml')
    .requiredOption('--candidate <dir>', 'candidate directory holding candidate.yaml')
    .option('--from <layer>', 'first layer (default: the first)')
    .option('--to <layer>', 'last layer (default: the last)')
    .option('--id <id>', 'promotion id (default: candidate-version-<random>)')
    .option('--as <user>', 'who starts it (default: $STRATA_USER or the login name)')
    .option('--wait', 'wait for the end; exit 0 promoted, 1 failed or aborted')
    .option('--json', 'print JSON')
    .action(async (opts) => {
      // Validate everything before touching Temporal: a config error starts nothing.
      const ladder = loadLadder(opts.ladder);
      const layers = layerRange(ladder, opts.from, opts.to);
      const candidate = await loadCandidate(path.resolve(opts.candidate));
      const initiator = (opts.as ?? defaultUser()).trim();
      if (!initiator) throw new UsageError('--as: expected a non-empty identity');
      if (opts.id !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(opts.id)) {
        throw new UsageError(`--id: expected letters, digits, ".", "_" or "-" (got "${opts.id}")`);
      }
      await withClient(async (client, settings) => {
        const id = await startPromotion(client, {
          id: opts.id,
          ladder,
          layers,
          candidate,
          initiator,
          taskQueue: settings.taskQueue,
        });
        if (!opts.wait) {
          if (opts.json) printJson({ id });
          else print(id);
          return;
        }
        process.stderr.write(`strata: started ${id}\n`);
        const final = await waitUntilEnded(client, id, (s) => process.stderr.write(`${describeProgress(s)}\n`));
        if (opts.json) printJson(final);
        else print(renderStatus(final));
        setExit(final.state === 'promoted' ? EXIT_OK : EXIT_FAILED);
      });
    });

  program
    .command('status <id>')
    .description('state, per-layer phase, gate results and approvals of a promotion')
    .option('--json', 'print JSON')
    .option('--watch', 'refresh until the promotion ends')
    .action(async (id: string, opts) => {
      await withClient(async (client) => {
        if (!opts.watch) {
          const s = await getStatus(client, id);
          if (opts.json) printJson(s);
          else print(renderStatus(s));
          return;
        }
        const tty = process.stdout.isTTY;
        await waitUntilEnded(client, id, (s) => {
          if (opts.json) process.stdout.write(`${JSON.stringify(s)}\n`);
          else print(`${tty ? '\x1b[2J\x1b[H' : '\n'}${renderStatus(s)}`);
        });
      });
    });

  program
    .command('list')
    .description('promotions, from Temporal visibility')
    .option('--phase <phase>', `one of ${PROMOTION_STATES.join(', ')}`)
    .option('--limit <n>', 'at most this many', '100')
    .option('--json', 'print JSON')
    .action(async (opts) => {
      if (opts.phase !== undefined && !PROMOTION_STATES.includes(opts.phase)) {
        throw new UsageError(`--phase: expected one of ${PROMOTION_STATES.join(', ')} (got "${opts.phase}")`);
      }
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new UsageError(`--limit: expected a whole number >= 1 (got "${opts.limit}")`);
      await withClient(async (client) => {
        const rows = await listPromotions(client, { phase: opts.phase as PromotionState | undefined, limit });
        if (opts.json) printJson(rows);
        else print(renderList(rows));
      });
    });

  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(`${decision} <id>`)
      .description(`${decision} a layer awaiting approval (exit 1 with the reason when refused)`)
      .requiredOption('--layer <layer>', 'the layer')
      .requiredOption('--as <user>', 'your identity')
      .requiredOption('--reason <text>', 'why')
      .option('--json', 'print JSON')
      .action(async (id: string, opts) => {
        await withClient(async (client) => {
          const req = { layer: opts.layer, actor: opts.as, reason: opts.reason };
          const reply = decision === 'approve' ? await approve(client, id, req) : await reject(client, id, req);
          if (opts.json) printJson(reply);
          else if (decision === 'reject')
            print(`${reply.actor} rejected ${reply.layer} of ${id}: the layer rolls back`);
          else
            print(
              `${reply.actor} approved ${reply.layer} of ${id} (${reply.count}/${reply.required})` +
                (reply.quorumReached ? ': quorum reached, promoting' : ': waiting for more approvals'),
            );
        });
      });
  }

  program
    .command('abort <id>')
    .description('abort a promotion: the current layer rolls back, no further layer starts')
    .requiredOption('--as <user>', 'your identity')
    .requiredOption('--reason <text>', 'why')
    .option('--json', 'print JSON')
    .action(async (id: string, opts) => {
      await withClient(async (client) => {
        const reply = await abort(client, id, { actor: opts.as, reason: opts.reason });
        if (opts.json) printJson({ id, ...reply });
        else print(`aborting ${id}: the current layer rolls back`);
      });
    });
}

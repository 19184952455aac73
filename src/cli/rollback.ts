import { randomBytes } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import type { Command } from 'commander';
import { isLadderFile, readLadderArgument } from './ladders';
import { localProvider } from './lazy';
import { RefusedError } from '../temporal/promotions';
import { deepestMessage, storedLadder } from '../temporal/drills';
import { loadSettings } from '../temporal/settings';
import type { rollback, RollbackResult } from '../../workflows/rollback';
import { apiBase, callApi, ignoreAs } from './api-client';
import { command, type JsonOption, type LocalAttribution, localActor } from './command';
import { print, printJson, withClient } from './context';
import { EXIT_FAILED, EXIT_OK, type ExitCode, UsageError } from './errors';
import { table } from './render';

/** The options of `strata rollback`. */
export interface RollbackOptions {
  rollback: JsonOption &
    LocalAttribution & {
      /** The ladder file, for the layer's gates. */
      ladder: string;
      /** The layer to roll back. */
      layer: string;
      /** A version deployed in the layer before. @default the layer's known-good version */
      to?: string;
    };
}

export function registerRollbackCommand(program: Command): void {
  command(
    program,
    'rollback',
    "redeploy a layer's last known-good (or the named) version, check it with the layer's gates, and record it",
  )
    .options<RollbackOptions['rollback']>({
      ladder: {
        argument: '<name|file>',
        description: "a stored ladder's name or a ladder.yaml (for the layer's gates)",
        required: true,
      },
      layer: { argument: '<layer>', description: 'the layer', required: true },
      to: { argument: '<version>', description: 'a version deployed there before (default: the last known-good one)' },
      as: { argument: '<user>', description: 'your identity (local mode only; required there)' },
      reason: { argument: '<text>', description: 'why', required: true },
      json: { description: 'print JSON' },
    })
    .action(async (opts) => {
      if (apiBase()) {
        ignoreAs(opts.as);
        if (isLadderFile(opts.ladder))
          throw new UsageError(
            `--ladder: with STRATA_API name a stored ladder, not a file (store ${opts.ladder} with strata ladder apply)`,
          );
        process.stderr.write(`strata: rolling ${opts.layer} back through the API\n`);
        const result = await callApi<RollbackResult>('POST', '/rollbacks', {
          ladder: opts.ladder,
          layer: opts.layer,
          ...(opts.to !== undefined ? { to: opts.to } : {}),
          reason: opts.reason,
        });
        return report(result, opts.json);
      }
      const actor = localActor(opts.as);
      const ladder = await readLadderArgument(opts.ladder);
      const layer = ladder.layers.find((l) => l.name === opts.layer);
      if (!layer)
        throw new UsageError(
          `--layer: unknown layer "${opts.layer}"; ladder "${ladder.name}" has ${ladder.layers.map((l) => l.name).join(', ')}`,
        );
      // Refuse an impossible target before anything starts (the local provider shares STRATA_HOME).
      const settings = loadSettings();
      const provider = await localProvider(settings.home);
      const releases = await provider.releases(layer.name);
      if (opts.to !== undefined && !releases.some((r) => r.version === opts.to)) {
        throw new UsageError(
          `--to: version ${opts.to} was never deployed in ${layer.name} (deployed there: ${releases.map((r) => r.version).join(', ') || 'none'})`,
        );
      }
      if (opts.to === undefined && !(await provider.knownGood(layer.name))) {
        throw new UsageError(
          `--layer: ${layer.name} has no earlier known-good version to roll back to; name one with --to`,
        );
      }
      return withClient(async (client) => {
        // The workflow reads the layer's gates from the stored ladder (a ladder file is applied first).
        const stored = await storedLadder(
          client,
          settings.taskQueue,
          isLadderFile(opts.ladder) ? ladder : { name: opts.ladder },
          { actor, reason: 'applied by strata rollback (local mode)' },
        );
        const id = `rollback.${layer.name}.${randomBytes(3).toString('hex')}`;
        process.stderr.write(`strata: rolling ${layer.name} back (${id})\n`);
        let result: RollbackResult;
        try {
          result = await client.workflow.execute<typeof rollback>('rollback', {
            workflowId: id,
            taskQueue: settings.taskQueue,
            args: [
              { layer, ladder: stored, toVersion: opts.to, actor: actor.trim().toLowerCase(), reason: opts.reason },
            ],
          });
        } catch (err) {
          if (err instanceof WorkflowFailedError)
            throw new RefusedError(`rollback ${id} failed: ${deepestMessage(err)}`);
          throw err;
        }
        return report(result, opts.json);
      });
    });
}

/** Prints a rollback's outcome; exit 0 when rolled back, 1 when its gates failed. */
function report(result: RollbackResult, json: boolean | undefined): ExitCode {
  if (json) printJson(result);
  else {
    print(
      `${result.layer}: ${result.state} from ${result.from ?? 'nothing'} to ${result.to}${result.reason ? ` — ${result.reason}` : ''}`,
    );
    if (result.gates.length) {
      print(
        table(
          ['GATE', 'RESULT', 'VALUE', 'THRESHOLD'],
          result.gates.map((g) => [
            g.name,
            g.passed ? 'pass' : 'FAIL',
            String(g.value ?? '-'),
            String(g.threshold ?? '-'),
          ]),
        ),
      );
    }
  }
  return result.state === 'rolled-back' ? EXIT_OK : EXIT_FAILED;
}

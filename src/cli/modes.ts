// What each command does in API mode (STRATA_API set). Every command that reads or changes state
// the server holds (Temporal, $STRATA_HOME) goes through the API; the rest work on this machine
// only and say so in their help. A unit test checks that every command is in exactly one list.

import type { Command } from 'commander';
import { apiBase } from './api-client';
import { UsageError } from './errors';

/** Commands that go through `strata serve` in API mode (and talk to Temporal directly otherwise). */
export const API_COMMANDS = [
  'token create',
  'token ls',
  'token revoke',
  'ladder apply',
  'ladder ls',
  'ladder show',
  'ladder history',
  'promote',
  'status',
  'list',
  'approve',
  'reject',
  'abort',
  'audit',
  'audit export',
  'teardown',
  'env repair',
  'env ls',
  'env show',
  'env at',
  'env unlock',
  'hold',
  'release',
  'rollback',
  'drill run',
  'drill history',
  'drill schedule',
  'runs ls',
  'runs show',
  'replay',
  'compare',
  'data approve',
  'data approvals',
  'data revoke',
  'data keyring init',
] as const;

/**
 * Commands that work on this machine in both modes: they run the server, a worker or the API
 * themselves, manage this machine's Temporal cluster, store credentials, or read and write local
 * files only (profiles, synthetic data, masked files, PII counts).
 */
export const LOCAL_COMMANDS = {
  up: 'runs a Temporal dev server and worker here',
  worker: 'runs a worker here',
  serve: 'runs the API here',
  login: 'stores a token here',
  'cluster up': "manages this machine's Temporal server",
  'cluster down': "manages this machine's Temporal server",
  'cluster status': "manages this machine's Temporal server",
  'cluster prepare': "manages this machine's Temporal server",
  'cluster jwks': "manages this machine's Temporal server",
  'cluster token': "signs with this machine's cluster keys",
  'data profile': 'local files only',
  'data generate': 'local files only; --env LAYER is refused in API mode',
  'data scan': 'local files only',
  'data sanitize': 'local files only; --env LAYER is refused in API mode',
  'audit verify': "checks export files here, with this machine's keyring or --pubkey",
  'audit pubkey': "reads this machine's keyring",
} as const satisfies Record<string, string>;

/** Commands API mode refuses: they need what only local mode has. */
export const REFUSED_IN_API_MODE = {
  demo: 'the demo approves as named approvers with --as, which only local mode accepts; unset STRATA_API to run it',
  'audit schedule':
    'workers create the daily export Schedule when they start; run it without STRATA_API where Temporal is reachable',
} as const satisfies Record<string, string>;

/** The path of a command below the program, e.g. "drill schedule". */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Marks the local commands in their help, and refuses what API mode cannot do. */
export function applyModes(program: Command): void {
  const visit = (command: Command) => {
    const name = commandPath(command);
    const local = (LOCAL_COMMANDS as Record<string, string>)[name];
    if (local) command.description(`${command.description()} [on this machine, also with STRATA_API: ${local}]`);
    const refused = (REFUSED_IN_API_MODE as Record<string, string>)[name];
    if (refused) command.description(`${command.description()} [local mode only]`);
    command.commands.forEach(visit);
  };
  program.commands.forEach(visit);
  program.hook('preAction', (_program, action) => {
    if (!apiBase()) return;
    const refused = (REFUSED_IN_API_MODE as Record<string, string>)[commandPath(action)];
    if (refused) throw new UsageError(`${commandPath(action)}: not available with STRATA_API set: ${refused}`);
  });
}

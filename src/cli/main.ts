import { Command, CommanderError } from 'commander';
import { exitCodeOf } from './command';
import { EXIT_USAGE, type ExitCode, reportError, UsageError } from './errors';
import { applyModes } from './modes';

type Register = (program: Command) => void;

/**
 * The command groups and the top-level commands each registers, each loaded only when needed: a
 * command loads its own group's module (and what that imports), not every other command's, so
 * `strata status` does not load the data plane, the worker or the API server. `--help`, and
 * anything not listed here, loads them all. test/unit/cli/lazy-groups.test.ts checks this table
 * against what the groups register.
 */
export const COMMAND_GROUPS: ReadonlyArray<{ commands: readonly string[]; load: () => Promise<Register[]> }> = [
  { commands: ['up', 'worker'], load: async () => [(await import('./server')).registerServerCommands] },
  { commands: ['serve', 'token', 'login'], load: async () => [(await import('./api')).registerApiCommands] },
  { commands: ['cluster'], load: async () => [(await import('./cluster')).registerClusterCommands] },
  { commands: ['ladder'], load: async () => [(await import('./ladders')).registerLadderCommands] },
  {
    commands: ['promote', 'status', 'list', 'approve', 'reject', 'abort'],
    load: async () => [(await import('./promotions')).registerPromotionCommands],
  },
  { commands: ['audit'], load: async () => [(await import('./audit')).registerAuditCommands] },
  {
    commands: ['teardown', 'env', 'hold', 'release'],
    load: async () => {
      const m = await import('./environments');
      return [m.registerEnvironmentCommands, m.registerEnvironmentWorkflowCommands];
    },
  },
  { commands: ['rollback'], load: async () => [(await import('./rollback')).registerRollbackCommand] },
  { commands: ['drill'], load: async () => [(await import('./drills')).registerDrillCommands] },
  { commands: ['demo'], load: async () => [(await import('./demo')).registerDemoCommand] },
  { commands: ['runs', 'replay', 'compare'], load: async () => [(await import('./runs')).registerRunCommands] },
  { commands: ['data'], load: async () => [(await import('./data')).registerDataCommands] },
];

/**
 * The program: every command, or, given the arguments, only the group of the command they name
 * (its help, options and checks are the same either way).
 */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
  const name = argv?.[2];
  const group = name ? COMMAND_GROUPS.find((g) => g.commands.includes(name)) : undefined;
  const registers = (await Promise.all((group ? [group] : COMMAND_GROUPS).map((g) => g.load()))).flat();
  const program = new Command()
    .name('strata')
    .description(
      'Promote a candidate through a ladder of ever more realistic test environments, as durable Temporal workflows.',
    )
    .showHelpAfterError()
    // A command's options are its own: `audit <id> --json` and `audit export --json` do not mix.
    .enablePositionalOptions()
    .exitOverride();
  for (const register of registers) register(program);
  applyModes(program);
  const override = (cmd: Command) => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  program.commands.forEach(override);
  // Ids (promotion, drill, run) must be non-empty and printable: one line and exit 2, not a gRPC
  // error from the server. Other arguments must at least not be empty.
  program.hook('preAction', (_program, action) => {
    action.registeredArguments.forEach((arg, i) => {
      const value = action.args[i];
      if (typeof value !== 'string') return;
      const name = arg.name();
      if (value.trim() === '') throw new UsageError(`${action.name()}: <${name}> is empty`);
      if (/id$/i.test(name) && !ID_PATTERN.test(value))
        throw new UsageError(
          `${action.name()}: <${name}> ${JSON.stringify(value)} is not an id (letters, digits and . _ : + - only, at most 200 characters)`,
        );
    });
  });
  return program;
}

/** What a promotion, drill or run id may look like. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:+-]{0,199}$/;

export async function main(argv: string[]): Promise<ExitCode> {
  const program = await buildProgram(argv);
  try {
    await program.parseAsync(argv);
    return exitCodeOf(program);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; anything else is a usage error.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    return reportError(err);
  }
}

/** Runs the command `argv` names and exits with its code: what `bin/strata` calls in the build. */
export function run(argv: string[]): void {
  main(argv).then(
    (code) => process.exit(code),
    (err) => process.exit(reportError(err)),
  );
}

if (require.main === module) run(process.argv);

import { Command, CommanderError } from 'commander';
import { registerApiCommands } from './api';
import { registerAuditCommands } from './audit';
import { registerClusterCommands } from './cluster';
import { exitCodeOf } from './command';
import { registerDataCommands } from './data';
import { registerDemoCommand } from './demo';
import { registerDrillCommands } from './drills';
import { registerEnvironmentCommands, registerEnvironmentWorkflowCommands } from './environments';
import { EXIT_USAGE, type ExitCode, reportError, UsageError } from './errors';
import { registerLadderCommands } from './ladders';
import { applyModes } from './modes';
import { registerPromotionCommands } from './promotions';
import { registerRollbackCommand } from './rollback';
import { registerRunCommands } from './runs';
import { registerServerCommands } from './server';

export function buildProgram(): Command {
  const program = new Command()
    .name('strata')
    .description(
      'Promote a candidate through a ladder of ever more realistic test environments, as durable Temporal workflows.',
    )
    .showHelpAfterError()
    // A command's options are its own: `audit <id> --json` and `audit export --json` do not mix.
    .enablePositionalOptions()
    .exitOverride();
  registerServerCommands(program);
  registerApiCommands(program);
  registerClusterCommands(program);
  registerLadderCommands(program);
  registerPromotionCommands(program);
  registerAuditCommands(program);
  registerEnvironmentCommands(program);
  registerEnvironmentWorkflowCommands(program);
  registerRollbackCommand(program);
  registerDrillCommands(program);
  registerDemoCommand(program);
  registerRunCommands(program);
  registerDataCommands(program);
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
  const program = buildProgram();
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

if (require.main === module) {
  main(process.argv).then(
    (code) => process.exit(code),
    (err) => process.exit(reportError(err)),
  );
}

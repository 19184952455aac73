// `strata data …`: the data plane's commands, in one group.

import type { Command } from 'commander';
import { registerApprovalCommands } from './approvals';
import { registerGenerateCommand } from './generate';
import { registerKeyringCommands } from './keyring';
import { registerProfileCommand } from './profile';
import { registerSanitizeCommand } from './sanitize';
import { registerScanCommand } from './scan';

export type { DataOptions } from './options';

export function registerDataCommands(program: Command): void {
  const data = program.command('data').description('the data plane: profiles, synthesis, masking, PII scanning');
  registerProfileCommand(data);
  registerGenerateCommand(data);
  registerSanitizeCommand(data);
  registerScanCommand(data);
  registerApprovalCommands(data);
  registerKeyringCommands(data);
}

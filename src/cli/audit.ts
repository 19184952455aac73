import type { Command } from 'commander';
import { auditTrail } from '../audit/trail';
import { getStatus } from '../temporal/promotions';
import { print, printJson, withClient } from './context';
import { renderAudit } from './render';

export function registerAuditCommands(program: Command): void {
  program
    .command('audit <id>')
    .description('who did what, when and why, from the histories of the promotion and its layers')
    .option('--json', 'print JSON: a list of {at, actor, action, layer, detail}')
    .action(async (id: string, opts) => {
      await withClient(async (client) => {
        await getStatus(client, id); // a clear error for an unknown id
        const entries = await auditTrail(client, id);
        if (opts.json) printJson(entries);
        else print(renderAudit(entries));
      });
    });
}

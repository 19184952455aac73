import type { Command } from 'commander';
import { type AuditEntry, auditTrail } from '../audit/trail';
import { apiBase, callApi } from './api-client';
import { getStatus } from '../temporal/promotions';
import { command, type JsonOption } from './command';
import { print, printJson, withClient } from './context';
import { EXIT_OK } from './errors';
import { renderAudit } from './render';

/** The options of `strata audit`. */
export interface AuditOptions {
  audit: JsonOption;
}

export function registerAuditCommands(program: Command): void {
  command(
    program,
    'audit <id>',
    'who did what, when and why, from the histories of the promotion and its layers (refused API requests: GET /audit/refusals)',
  )
    .options<AuditOptions['audit']>({
      json: { description: 'print JSON: a list of {at, actor, authentication, action, layer, detail}' },
    })
    .action(async (id, opts) => {
      if (apiBase()) {
        const entries = await callApi<AuditEntry[]>('GET', `/promotions/${encodeURIComponent(id)}/audit`);
        if (opts.json) printJson(entries);
        else print(renderAudit(entries));
        return EXIT_OK;
      }
      return withClient(async (client) => {
        await getStatus(client, id); // a clear error for an unknown id
        const entries = await auditTrail(client, id);
        if (opts.json) printJson(entries);
        else print(renderAudit(entries));
        return EXIT_OK;
      });
    });
}

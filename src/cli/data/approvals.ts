// `strata data approve | approvals | revoke`: the dataset approval registry.

import type { Command } from 'commander';
import path from 'node:path';
import { ApprovalRegistry, type DatasetApproval, fileDigest } from '../../data/approvals';
import { apiBase, callApi, ignoreAs } from '../api-client';
import { normalizeIdentity } from '../../domain/identity';
import { loadSettings } from '../../temporal/settings';
import { command } from '../command';
import { print, printJson } from '../context';
import { EXIT_OK, UsageError } from '../errors';
import { table } from '../render';
import type { DataOptions } from './options';

function identity(raw: string | undefined, flag = '--as'): string {
  const actor = normalizeIdentity(String(raw ?? ''));
  if (!actor) throw new UsageError(`${flag}: expected a non-empty identity`);
  return actor;
}

function reason(raw: string | undefined): string {
  const text = String(raw ?? '').trim();
  if (!text) throw new UsageError('--reason: expected why (it is kept in the registry for auditors)');
  return text;
}

export function registerApprovalCommands(data: Command): void {
  command(
    data,
    'approve <file>',
    'approve a dataset (a profile, CSV or SQLite file) for populating environments: records its sha256 digest, who and why',
  )
    .options<DataOptions['approve']>({
      as: { argument: '<user>', description: 'your identity (local mode only; required there)' },
      reason: { argument: '<text>', description: 'why it may be used', required: true },
      json: { description: 'print the approval as JSON' },
    })
    .action(async (file, opts) => {
      if (apiBase()) ignoreAs(opts.as);
      // API mode: the file is read on the server, which shares the path (the digest is what counts).
      const { approval, added } = apiBase()
        ? await callApi<DatasetApproval & { added: boolean }>('POST', '/data/approvals', {
            file: path.resolve(file),
            reason: reason(opts.reason),
          }).then((a) => ({ approval: a, added: a.added }))
        : await new ApprovalRegistry(loadSettings().home).approve(file, identity(opts.as), reason(opts.reason));
      if (opts.json) printJson({ ...approval, added });
      else
        print(
          added
            ? `approved ${approval.file} (sha256 ${approval.digest}, ${approval.bytes} bytes) by ${approval.actor}: ${approval.reason}`
            : `already approved: sha256 ${approval.digest} by ${approval.actor} at ${approval.at} (${approval.reason})`,
        );
      return EXIT_OK;
    });

  command(data, 'approvals', 'list approved dataset digests (revoked ones marked)')
    .options<DataOptions['approvals']>({ json: { description: 'print as JSON' } })
    .action(async (opts) => {
      const approvals = apiBase()
        ? await callApi<DatasetApproval[]>('GET', '/data/approvals')
        : new ApprovalRegistry(loadSettings().home).list();
      if (opts.json) printJson(approvals);
      else if (approvals.length === 0)
        print('no dataset approved yet; `strata data approve FILE --as you --reason why`');
      else
        print(
          table(
            ['DIGEST', 'FILE', 'APPROVED BY', 'AT', 'REASON', 'REVOKED'],
            approvals.map((a) => [
              a.digest.slice(0, 12),
              a.file,
              a.actor,
              a.at,
              a.reason,
              a.revoked ? `${a.revoked.actor} ${a.revoked.at}: ${a.revoked.reason}` : '',
            ]),
          ),
        );
      return EXIT_OK;
    });

  command(data, 'revoke <fileOrDigest>', 'revoke the approval of a dataset (its current content, or a sha256 digest)')
    .options<DataOptions['revoke']>({
      as: { argument: '<user>', description: 'your identity (local mode only; required there)' },
      reason: { argument: '<text>', description: 'why', required: true },
    })
    .action(async (target, opts) => {
      if (apiBase()) ignoreAs(opts.as);
      const approval = apiBase()
        ? await callApi<DatasetApproval>(
            'DELETE',
            `/data/approvals/${/^[0-9a-f]{64}$/.test(target) ? target : (await fileDigest(target)).digest}`,
            { reason: reason(opts.reason) },
          )
        : await new ApprovalRegistry(loadSettings().home).revoke(target, identity(opts.as), reason(opts.reason));
      print(
        `revoked sha256 ${approval.digest} (${approval.file}) by ${approval.revoked!.actor}: ${approval.revoked!.reason}`,
      );
      return EXIT_OK;
    });
}

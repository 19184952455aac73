// `strata data approve | approvals | revoke` — the dataset approval registry — and
// `strata data keyring init`, which creates the keyring the masking policies need.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { ApprovalRegistry } from '../data/approvals';
import { enclosingRepository, loadKeyring } from '../data/masking/keyring';
import { resolveUserPath } from '../tools/files';
import { normalizeIdentity } from '../domain/identity';
import { loadSettings } from '../temporal/settings';
import { print, printJson } from './context';
import { UsageError } from './errors';
import { dataGroup } from './data-profile';
import { table } from './render';

/** Where `keyring init` writes and what the example ladder reads unless STRATA_KEYRING says otherwise. */
export const DEFAULT_KEYRING = '~/.config/strata/keyring.yaml';

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

/** Writes a new keyring with one random 32-byte secret; refuses a path inside a git repository. */
export function createKeyring(file: string, keyName = 'k1'): void {
  const repository = enclosingRepository(path.dirname(file));
  if (repository !== undefined) {
    throw new UsageError(
      `--file: ${file} is inside the git repository ${repository}; a keyring lives outside any repository (e.g. ${DEFAULT_KEYRING})`,
    );
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const text = `# Strata masking keyring — never commit, never share. Created ${new Date().toISOString()} on ${os.hostname()}.\n${stringify({ keys: { [keyName]: `hex:${randomBytes(32).toString('hex')}` }, active: keyName })}`;
  // 'wx' (O_EXCL): of two concurrent inits, one writes and the other fails instead of overwriting.
  fs.writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
  loadKeyring(file);
}

export function registerDataApproveCommands(program: Command): void {
  const data = dataGroup(program);

  data
    .command('approve <file>')
    .description(
      'approve a dataset (a profile, CSV or SQLite file) for populating environments: records its sha256 digest, who and why',
    )
    .requiredOption('--as <user>', 'your identity')
    .requiredOption('--reason <text>', 'why it may be used')
    .option('--json', 'print the approval as JSON')
    .action(async (file: string, opts) => {
      const registry = new ApprovalRegistry(loadSettings().home);
      const { approval, added } = await registry.approve(file, identity(opts.as), reason(opts.reason));
      if (opts.json) return printJson({ ...approval, added });
      print(
        added
          ? `approved ${approval.file} (sha256 ${approval.digest}, ${approval.bytes} bytes) by ${approval.actor}: ${approval.reason}`
          : `already approved: sha256 ${approval.digest} by ${approval.actor} at ${approval.at} (${approval.reason})`,
      );
    });

  data
    .command('approvals')
    .description('list approved dataset digests (revoked ones marked)')
    .option('--json', 'print as JSON')
    .action((opts) => {
      const approvals = new ApprovalRegistry(loadSettings().home).list();
      if (opts.json) return printJson(approvals);
      if (approvals.length === 0)
        return print('no dataset approved yet; `strata data approve FILE --as you --reason why`');
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
    });

  data
    .command('revoke <fileOrDigest>')
    .description('revoke the approval of a dataset (its current content, or a sha256 digest)')
    .requiredOption('--as <user>', 'your identity')
    .requiredOption('--reason <text>', 'why')
    .action(async (target: string, opts) => {
      const approval = await new ApprovalRegistry(loadSettings().home).revoke(
        target,
        identity(opts.as),
        reason(opts.reason),
      );
      print(
        `revoked sha256 ${approval.digest} (${approval.file}) by ${approval.revoked!.actor}: ${approval.revoked!.reason}`,
      );
    });

  data
    .command('keyring')
    .description('the keyring that keys hmac and fake masking per environment')
    .command('init')
    .description(
      `create a keyring with one random 32-byte secret (default ${DEFAULT_KEYRING}, or $STRATA_KEYRING), mode 600, outside any git repository`,
    )
    .option('--file <path>', 'where to write it')
    .option('--name <key>', 'the key name', 'k1')
    .action((opts) => {
      const file = resolveUserPath(opts.file ?? process.env.STRATA_KEYRING ?? DEFAULT_KEYRING, process.cwd());
      if (fs.existsSync(file)) {
        loadKeyring(file); // refuses a keyring in a repository or readable by others
        return print(`keyring ${file} exists; nothing written`);
      }
      createKeyring(file, opts.name);
      print(`created keyring ${file} (key ${opts.name}, mode 600)`);
    });
}

// `strata data keyring init`: the keyring the masking policies need.

import fs from 'node:fs';
import type { Command } from 'commander';
import { createKeyring, DEFAULT_KEYRING, loadKeyring } from '../../data/masking/keyring';
import { resolveUserPath } from '../../tools/files';
import { apiBase, callApi } from '../api-client';
import { command } from '../command';
import { print } from '../context';
import { EXIT_OK, UsageError } from '../errors';
import type { DataOptions } from './options';

export { createKeyring, DEFAULT_KEYRING };

export function registerKeyringCommands(data: Command): void {
  const keyring = data.command('keyring').description('the keyring that keys hmac and fake masking per environment');
  command(
    keyring,
    'init',
    `create a keyring with one random 32-byte secret (default ${DEFAULT_KEYRING}, or $STRATA_KEYRING), mode 600, outside any git repository; with STRATA_API, the server's keyring (steward)`,
  )
    .options<DataOptions['keyringInit']>({
      file: { argument: '<path>', description: 'where to write it' },
      name: { argument: '<key>', description: 'the key name', default: 'k1' },
    })
    .action(async (opts) => {
      if (apiBase()) {
        if (opts.file !== undefined)
          throw new UsageError(
            "--file: with STRATA_API the keyring is the server's ($STRATA_KEYRING there); drop --file",
          );
        const r = await callApi<{ file: string; created: boolean; active: string }>('POST', '/data/keyring', {
          name: opts.name,
        });
        print(
          r.created
            ? `created the server's keyring ${r.file} (key ${r.active}, mode 600)`
            : `the server's keyring ${r.file} exists (active key ${r.active}); nothing written`,
        );
        return EXIT_OK;
      }
      const file = resolveUserPath(opts.file ?? process.env.STRATA_KEYRING ?? DEFAULT_KEYRING, process.cwd());
      if (fs.existsSync(file)) {
        loadKeyring(file); // refuses a keyring in a repository or readable by others
        print(`keyring ${file} exists; nothing written`);
        return EXIT_OK;
      }
      createKeyring(file, opts.name);
      print(`created keyring ${file} (key ${opts.name}, mode 600)`);
      return EXIT_OK;
    });
}

import fs from 'node:fs';
import type { Command } from 'commander';
import { LocalProvider } from '../providers/local';
import { loadSettings } from '../temporal/settings';
import { print, printJson } from './context';
import { UsageError } from './errors';

/** Environment names present under $STRATA_HOME/envs. */
function environments(provider: LocalProvider): string[] {
  if (!fs.existsSync(provider.envsDir)) return [];
  return fs
    .readdirSync(provider.envsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && /^[a-z][a-z0-9-]*$/.test(d.name))
    .map((d) => d.name)
    .sort();
}

export function registerEnvironmentCommands(program: Command): void {
  program
    .command('teardown [layers...]')
    .description("stop the candidate process of each named environment (or --all) and remove its directory")
    .option('--all', 'every environment under $STRATA_HOME/envs')
    .option('--json', 'print JSON')
    .action(async (layers: string[], opts) => {
      const settings = loadSettings();
      const provider = new LocalProvider(settings.home);
      const present = environments(provider);
      if (opts.all && layers.length > 0) throw new UsageError('teardown: name layers or use --all, not both');
      if (!opts.all && layers.length === 0) throw new UsageError('teardown: name at least one layer, or use --all');
      const targets = opts.all ? present : layers;
      const unknown = targets.filter((l) => !present.includes(l));
      if (unknown.length > 0) {
        throw new UsageError(
          `teardown: no environment ${unknown.map((u) => `"${u}"`).join(', ')} in ${provider.envsDir}` +
            ` (present: ${present.join(', ') || 'none'})`,
        );
      }
      for (const layer of targets) await provider.teardown(layer);
      if (opts.json) printJson({ removed: targets });
      else print(targets.length ? `removed ${targets.join(', ')}` : 'no environments');
    });
}

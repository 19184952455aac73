import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, main } from '../../src/cli/main';
import { API_COMMANDS, commandPath, LOCAL_COMMANDS, REFUSED_IN_API_MODE } from '../../src/cli/modes';

const leaves = (c: Command): Command[] => (c.commands.length ? c.commands.flatMap(leaves) : [c]);

describe('API mode covers every command', () => {
  it('puts every command in exactly one list: through the API, local only, or refused', () => {
    const all = leaves(buildProgram()).map(commandPath).sort();
    const listed = [...API_COMMANDS, ...Object.keys(LOCAL_COMMANDS), ...Object.keys(REFUSED_IN_API_MODE)].sort();
    expect(listed).toEqual(all);
    expect(new Set(listed).size).toBe(listed.length);
  });

  it('says in the help of a local command that it runs on this machine', () => {
    const profile = leaves(buildProgram()).find((c) => commandPath(c) === 'data profile')!;
    expect(profile.description()).toContain('[on this machine, also with STRATA_API: local files only]');
    const promote = leaves(buildProgram()).find((c) => commandPath(c) === 'promote')!;
    expect(promote.description()).not.toContain('on this machine');
  });

  it('refuses the demo with STRATA_API set, exit 2, naming why', async () => {
    const before = process.env.STRATA_API;
    const write = process.stderr.write.bind(process.stderr);
    let err = '';
    process.stderr.write = ((chunk: string) => ((err += chunk), true)) as typeof process.stderr.write;
    process.env.STRATA_API = 'http://127.0.0.1:9';
    try {
      expect(await main(['node', 'strata', 'demo'])).toBe(2);
    } finally {
      process.stderr.write = write;
      if (before === undefined) delete process.env.STRATA_API;
      else process.env.STRATA_API = before;
    }
    expect(err).toContain('demo: not available with STRATA_API set');
  });
});

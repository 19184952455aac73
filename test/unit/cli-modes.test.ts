import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, main } from '../../src/cli/main';
import { API_COMMANDS, commandPath, LOCAL_COMMANDS, REFUSED_IN_API_MODE } from '../../src/cli/modes';

/** Every command that runs something: leaves, and groups with an action of their own (`audit ID`). */
const hasAction = (c: Command) => (c as unknown as { _actionHandler?: unknown })._actionHandler != null;
const leaves = (c: Command): Command[] =>
  c.commands.length ? [...(c.parent && hasAction(c) ? [c] : []), ...c.commands.flatMap(leaves)] : [c];

describe('API mode covers every command', () => {
  it('puts every command in exactly one list: through the API, local only, or refused', async () => {
    const all = leaves(await buildProgram())
      .map(commandPath)
      .sort();
    const listed = [...API_COMMANDS, ...Object.keys(LOCAL_COMMANDS), ...Object.keys(REFUSED_IN_API_MODE)].sort();
    expect(listed).toEqual(all);
    expect(new Set(listed).size).toBe(listed.length);
  });

  it('says in the help of a local command that it runs on this machine', async () => {
    const profile = leaves(await buildProgram()).find((c) => commandPath(c) === 'data profile')!;
    expect(profile.description()).toContain('[on this machine, also with STRATA_API: local files only]');
    const promote = leaves(await buildProgram()).find((c) => commandPath(c) === 'promote')!;
    expect(promote.description()).not.toContain('on this machine');
  });

  /** Runs the CLI in-process with STRATA_API set: its exit code and stderr. */
  async function inApiMode(args: string[]): Promise<{ code: number; stderr: string }> {
    const before = process.env.STRATA_API;
    const write = process.stderr.write.bind(process.stderr);
    let stderr = '';
    process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
    process.env.STRATA_API = 'http://127.0.0.1:9';
    try {
      return { code: await main(['node', 'strata', ...args]), stderr };
    } finally {
      process.stderr.write = write;
      if (before === undefined) delete process.env.STRATA_API;
      else process.env.STRATA_API = before;
    }
  }

  it('refuses the demo with STRATA_API set, exit 2, naming why', async () => {
    const r = await inApiMode(['demo']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('demo: not available with STRATA_API set');
  });

  it("refuses to write into an environment from this machine in API mode (they are the server's)", async () => {
    const sanitize = await inApiMode(['data', 'sanitize', 'in.csv', '--policy', 'masking.yaml', '--env', 'traffic']);
    expect(sanitize.code).toBe(2);
    expect(sanitize.stderr).toContain("--env: with STRATA_API the environments are the server's");
    const generate = await inApiMode(['data', 'generate', '--profile', 'p.json', '--rows', '10', '--env', 'traffic']);
    expect(generate.code).toBe(2);
    expect(generate.stderr).toContain("--env: with STRATA_API the environments are the server's");
  });
});

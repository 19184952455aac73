import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, COMMAND_GROUPS } from '../../../src/cli/main';

// The CLI loads only the group of the command it runs. The table of groups must name exactly the
// top-level commands each group registers, or a command would be missing when run on its own.
const ROOT = path.resolve(__dirname, '../../..');

describe('command groups loaded on demand', () => {
  it('lists exactly the top-level commands each group registers, each in one group', async () => {
    for (const group of COMMAND_GROUPS) {
      const program = new Command();
      for (const register of await group.load()) register(program);
      expect(program.commands.map((c) => c.name()).sort()).toEqual([...group.commands].sort());
    }
    const listed = COMMAND_GROUPS.flatMap((g) => g.commands);
    expect(new Set(listed).size).toBe(listed.length);
    const all = (await buildProgram()).commands.map((c) => c.name()).sort();
    expect(listed.sort()).toEqual(all);
  });

  it('builds only the named command group for a command, and all of them for --help or an unknown command', async () => {
    const status = await buildProgram(['node', 'strata', 'status', 'p1']);
    expect(status.commands.map((c) => c.name()).sort()).toEqual([
      'abort',
      'approve',
      'list',
      'promote',
      'reject',
      'status',
    ]);
    const all = (await buildProgram()).commands.length;
    expect((await buildProgram(['node', 'strata', '--help'])).commands).toHaveLength(all);
    expect((await buildProgram(['node', 'strata', 'stauts'])).commands).toHaveLength(all);
  });

  it('does not load the data plane, the worker or the API server for `strata status`', () => {
    // In a process of its own (this test process has loaded everything): which heavy modules
    // are in the require cache once the status command's group is built.
    const probe = `
      const { buildProgram } = require(${JSON.stringify(path.join(ROOT, 'src/cli/main.ts'))});
      buildProgram(['node', 'strata', 'status', 'p1']).then(() => {
        const loaded = Object.keys(require.cache);
        const has = (m) => loaded.some((f) => f.includes('/node_modules/' + m + '/'));
        console.log(JSON.stringify({ faker: has('@faker-js/faker'), worker: has('@temporalio/worker'), fastify: has('fastify') }));
      });`;
    const out = spawnSync(process.execPath, ['--import', 'tsx', '-e', probe], { cwd: ROOT, encoding: 'utf8' });
    expect(out.stderr).toBe('');
    expect(JSON.parse(out.stdout.trim())).toEqual({ faker: false, worker: false, fastify: false });
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { beforeAll, describe, expect, it } from 'vitest';
import { command, exitCodeOf } from '../../../src/cli/command';
import { buildProgram } from '../../../src/cli/main';

/**
 * Every command that runs an action, as its path of names (`['data', 'keyring', 'init']`): the
 * leaves, and a group that runs one of its own too (`audit <id>` beside `audit export`).
 */
function leaves(c: Command, prefix: string[] = []): Array<{ path: string[]; command: Command }> {
  return c.commands.flatMap((sub) => {
    const p = [...prefix, sub.name()];
    const own = (sub as unknown as { _actionHandler?: unknown })._actionHandler ? [{ path: p, command: sub }] : [];
    return sub.commands.length ? [...own, ...leaves(sub, p)] : [{ path: p, command: sub }];
  });
}

describe('typed commands', () => {
  it('derives each flag from its field, honours required, default, repeatable and --no-, and returns the exit code', async () => {
    interface Options {
      ladder: string;
      uiPort: string;
      label: string[];
      worker: boolean;
      json?: boolean;
    }
    const program = new Command().exitOverride();
    let seen: unknown[] = [];
    command(program, 'check <id> [more...]', 'a test command')
      .options<Options>({
        ladder: { argument: '<file>', description: 'the ladder', required: true },
        uiPort: { argument: '<port>', description: 'a port', default: '8233' },
        label: { argument: '<rule>', description: 'repeatable', repeatable: true },
        worker: { description: 'run alone', negatable: true },
        json: { description: 'print JSON' },
      })
      .action((id, more, opts) => {
        seen = [id, more, opts];
        return opts.json ? 1 : 2;
      });
    expect(program.commands[0].options.map((o) => o.flags)).toEqual([
      '--ladder <file>',
      '--ui-port <port>',
      '--label <rule>',
      '--no-worker',
      '--json',
    ]);
    await program.parseAsync(
      ['check', 'p1', 'a', 'b', '--ladder', 'l.yaml', '--label', 'x', '--label', 'y', '--json'],
      {
        from: 'user',
      },
    );
    expect(seen).toEqual([
      'p1',
      ['a', 'b'],
      { ladder: 'l.yaml', uiPort: '8233', label: ['x', 'y'], worker: true, json: true },
    ]);
    expect(exitCodeOf(program)).toBe(1);
    await program.parseAsync(['check', 'p2', '--ladder', 'l.yaml', '--no-worker'], { from: 'user' });
    expect(seen).toEqual(['p2', [], { ladder: 'l.yaml', uiPort: '8233', label: [], worker: false }]);
    expect(exitCodeOf(program)).toBe(2);
  });

  it('builds the data group once, with one description', async () => {
    const data = (await buildProgram()).commands.filter((c) => c.name() === 'data');
    expect(data).toHaveLength(1);
    expect(data[0].description()).toBe('the data plane: profiles, synthesis, masking, PII scanning');
    expect(data[0].commands.map((c) => c.name())).toEqual([
      'profile',
      'generate',
      'sanitize',
      'scan',
      'approve',
      'approvals',
      'revoke',
      'keyring',
    ]);
  });
});

describe('the README CLI table', () => {
  const readme = fs.readFileSync(path.join(__dirname, '../../../README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## The CLI'), readme.indexOf('\n## ', readme.indexOf('## The CLI') + 1));
  /** Each row of the table: the command with its flags, and what it does. */
  const rows = section
    .split('\n')
    .filter((l) => l.startsWith('| `strata'))
    .map((l) => l.replace(/\\\|/g, '|'));
  let all: ReturnType<typeof leaves> = [];
  beforeAll(async () => {
    all = leaves(await buildProgram());
  });
  /** The commands a row names: `strata env ls | show LAYER` names env ls and env show. */
  const named = (row: string) =>
    all.filter(({ path: p }) => {
      const group = p.slice(0, -1).join(' ');
      const at = row.indexOf(`strata ${p.join(' ')}`);
      if (at >= 0) return true;
      if (!group) return false;
      const start = row.indexOf(`strata ${group} `);
      return start >= 0 && new RegExp(`(^|[\\s|(])${p.at(-1)}([\\s|)\`]|$)`).test(row.slice(start));
    });

  it('names every command', () => {
    const missing = all.filter((leaf) => !rows.some((row) => named(row).includes(leaf))).map((l) => l.path.join(' '));
    expect(missing).toEqual([]);
  });

  it('gives only flags that the commands it names take', () => {
    const wrong = rows.flatMap((row) => {
      const flags = new Set(named(row).flatMap(({ command: c }) => c.options.map((o) => o.long)));
      return [...row.matchAll(/--[a-z][a-z-]*/g)]
        .map((m) => m[0])
        .filter((f) => !flags.has(f))
        .map((f) => `${f} in ${row}`);
    });
    expect(wrong).toEqual([]);
  });
});

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

  // What a command has loaded by the time it first talks to its server (`strata serve` in API
  // mode, Temporal in local mode): a probe process runs it against a TCP listener of its own that
  // reports the loaded packages when the command connects, and exits.
  function loadedWhenConnecting(args: string[], mode: 'api' | 'local', env: Record<string, string> = {}) {
    const probe = `
      const net = require('node:net');
      const { main } = require(${JSON.stringify(path.join(ROOT, 'src/cli/main.ts'))});
      const report = (how) => {
        const packages = new Set(Object.keys(require.cache).flatMap((f) => {
          const m = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(f);
          return m ? [m[1]] : [];
        }));
        console.log(JSON.stringify({ how, packages: [...packages].sort() }));
        process.exit(0);
      };
      const server = net.createServer(() => report('connected'));
      server.listen(0, '127.0.0.1', () => {
        const address = '127.0.0.1:' + server.address().port;
        if (${JSON.stringify(mode)} === 'api') process.env.STRATA_API = 'http://' + address;
        else process.env.TEMPORAL_ADDRESS = address;
        main(['node', 'strata', ...${JSON.stringify(args)}]).then((code) => report('exit ' + code));
      });`;
    const out = spawnSync(process.execPath, ['--import', 'tsx', '-e', probe], {
      cwd: ROOT,
      encoding: 'utf8',
      env: {
        ...process.env,
        STRATA_API: '',
        STRATA_TRACING: '',
        OTEL_EXPORTER_OTLP_ENDPOINT: '',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
        STRATA_PAYLOAD_KEYRING: '',
        ...env,
      },
    });
    expect(out.stderr).toBe('');
    const { how, packages } = JSON.parse(out.stdout.trim()) as { how: string; packages: string[] };
    expect(how).toBe('connected');
    return packages;
  }

  for (const args of [['status', 'p1'], ['list']]) {
    it(`\`strata ${args[0]}\` in API mode loads neither Temporal, gRPC, OpenTelemetry, SQLite, yaml nor the undici package`, () => {
      // It speaks HTTP with node:http: the undici package alone is a hundred modules, and node's own
      // fetch compiles undici's WebAssembly HTTP parser at its first response.
      const packages = loadedWhenConnecting(args, 'api');
      expect(
        packages.filter((p) =>
          /^(@temporalio\/|@grpc\/|protobufjs$|@opentelemetry\/|better-sqlite3$|yaml$|zod$|undici$)/.test(p),
        ),
      ).toEqual([]);
      expect(packages).toContain('commander');
    });

    it(`\`strata ${args[0]}\` in local mode loads the Temporal client, and no OpenTelemetry SDK without tracing, no SQLite, yaml or workflow package`, () => {
      const packages = loadedWhenConnecting(args, 'local');
      expect(packages).toContain('@temporalio/client');
      expect(
        packages.filter((p) =>
          /^(@opentelemetry\/(sdk-|exporter-|resources$)|@temporalio\/(workflow|worker|interceptors-opentelemetry)$|better-sqlite3$|yaml$|undici$)/.test(
            p,
          ),
        ),
      ).toEqual([]);
    });
  }
});

// bin/strata runs the built CLI (dist/strata.cjs, plain node) only while it is newer than every
// source file, and the TypeScript through tsx otherwise; the build itself is the real CLI.
//
// The choice is tested on a small copy of the repository's layout (bin/strata itself, a source
// tree whose main prints where it runs from, a "built" file that says it is the build), with real
// node and the file times set by hand. The real build is made by scripts/build-cli.ts
// into a folder of its own under dist/ and run as a process.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from '../../../scripts/build-cli';

const ROOT = path.resolve(__dirname, '../../..');

describe('bin/strata: the build while it is fresh, the sources otherwise', () => {
  let repo: string;
  const run = (env: Record<string, string> = {}) =>
    execFileSync(path.join(repo, 'bin/strata'), ['status', 'p1'], {
      encoding: 'utf8',
      env: { ...process.env, STRATA_CLI_FROM_SOURCE: '', ...env },
    }).trim();
  const age = (file: string, secondsAgo: number) => {
    const t = new Date(Date.now() - secondsAgo * 1000);
    fs.utimesSync(path.join(repo, file), t, t);
  };

  beforeAll(() => {
    repo = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bin-'));
    fs.mkdirSync(path.join(repo, 'bin'));
    fs.copyFileSync(path.join(ROOT, 'bin/strata'), path.join(repo, 'bin/strata'));
    fs.chmodSync(path.join(repo, 'bin/strata'), 0o755);
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(repo, 'node_modules'));
    for (const dir of ['src/cli', 'workflows', 'activities', 'workers', 'dist'])
      fs.mkdirSync(path.join(repo, dir), { recursive: true });
    const argv = 'JSON.stringify(process.argv.slice(2))';
    fs.writeFileSync(
      path.join(repo, 'src/cli/main.ts'),
      `const from: string = 'sources'; console.log(from, ${argv});\n` +
        // With STRATA_TEST_WAIT: stay up until SIGTERM, then say so and exit 3 ("ready" once the
        // handler is in place: a SIGTERM before it would end the process without a word).
        `if (process.env.STRATA_TEST_WAIT) { process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(3); }); setInterval(() => undefined, 1000); console.log('ready'); }\n`,
    );
    fs.writeFileSync(path.join(repo, 'workflows/index.ts'), 'export {};\n');
    fs.writeFileSync(path.join(repo, 'activities/index.ts'), 'export {};\n');
    fs.writeFileSync(path.join(repo, 'workers/main.ts'), 'export {};\n');
    fs.writeFileSync(path.join(repo, 'package-lock.json'), '{}\n');
    // The build runs in bin/strata's own process: it exports run(argv), as src/cli/main.ts does.
    fs.writeFileSync(
      path.join(repo, 'dist/strata.cjs'),
      `exports.run = (argv) => console.log('build', JSON.stringify(argv.slice(2)));\n`,
    );
    for (const f of [
      'src/cli/main.ts',
      'workflows/index.ts',
      'activities/index.ts',
      'workers/main.ts',
      'package-lock.json',
    ])
      age(f, 120);
    age('dist/strata.cjs', 60);
  });
  afterAll(() => fs.rmSync(repo, { recursive: true, force: true }));

  it('runs the build, with the arguments, when it is newer than every source', () => {
    expect(run()).toBe('build ["status","p1"]');
  });

  it('runs the sources when any source, in any of the folders, or the lockfile is newer than the build', () => {
    for (const file of [
      'src/cli/main.ts',
      'workflows/index.ts',
      'activities/index.ts',
      'workers/main.ts',
      'package-lock.json',
    ]) {
      age(file, 10);
      expect(run(), file).toBe('sources ["status","p1"]');
      age(file, 120);
      expect(run(), file).toBe('build ["status","p1"]');
    }
  });

  it('passes SIGTERM on to the sources it runs in a child, and ends with its exit code', async () => {
    const child = spawn(path.join(repo, 'bin/strata'), ['worker'], {
      env: { ...process.env, STRATA_CLI_FROM_SOURCE: '1', STRATA_TEST_WAIT: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready')) resolve();
      }),
    );
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(out).toContain('got SIGTERM');
    expect(code).toBe(3);
  });

  it('compiles the build with the V8 code cache of its last run, made for that very build', () => {
    const bundle = path.join(repo, 'dist/strata.cjs');
    const cache = `${bundle}.v8cache`;
    const header = () =>
      `strata-v8cache ${process.versions.v8} ${process.arch} ${createHash('sha1').update(fs.readFileSync(bundle)).digest('hex')}\n`;
    const cached = () => fs.readFileSync(cache);
    fs.rmSync(cache, { force: true });
    expect(run()).toBe('build ["status","p1"]');
    const made = cached();
    expect(made.subarray(0, header().length).toString()).toBe(header());
    expect(made.length).toBeGreaterThan(header().length + 100);
    // V8 took it: the next run does not write it again.
    const old = new Date(Date.now() - 30_000);
    fs.utimesSync(cache, old, old);
    expect(run()).toBe('build ["status","p1"]');
    expect(Math.round(fs.statSync(cache).mtimeMs)).toBe(old.getTime());
    // One V8 refuses (the right key, bytes that are no code cache) is replaced at the end of the run.
    fs.writeFileSync(cache, Buffer.concat([Buffer.from(header()), Buffer.from('not a code cache at all')]));
    expect(run()).toBe('build ["status","p1"]');
    expect(cached().length).toBeGreaterThan(header().length + 100);
    // A new build of the same length: V8 checks only the length, and would run the old build's
    // functions from the cache. The key is the build's digest, so the new one runs, and its cache replaces the old.
    const before = fs.readFileSync(bundle, 'utf8');
    try {
      fs.writeFileSync(bundle, before.replace("'build'", "'BUILD'"));
      expect(fs.statSync(bundle).size).toBe(Buffer.byteLength(before));
      expect(run()).toBe('BUILD ["status","p1"]');
      expect(cached().subarray(0, header().length).toString()).toBe(header());
      expect(run()).toBe('BUILD ["status","p1"]');
    } finally {
      fs.writeFileSync(bundle, before);
      age('dist/strata.cjs', 60);
    }
    // STRATA_NO_CODE_CACHE: plain require, no cache read or written.
    fs.rmSync(cache);
    expect(run({ STRATA_NO_CODE_CACHE: '1' })).toBe('build ["status","p1"]');
    expect(fs.existsSync(cache)).toBe(false);
  });

  it('runs the sources when there is no build, or when STRATA_CLI_FROM_SOURCE is set', () => {
    expect(run({ STRATA_CLI_FROM_SOURCE: '1' })).toBe('sources ["status","p1"]');
    fs.renameSync(path.join(repo, 'dist/strata.cjs'), path.join(repo, 'dist/moved.cjs'));
    try {
      expect(run()).toBe('sources ["status","p1"]');
    } finally {
      fs.renameSync(path.join(repo, 'dist/moved.cjs'), path.join(repo, 'dist/strata.cjs'));
    }
  });
});

describe('the built CLI', () => {
  const out = path.join(ROOT, 'dist', `test-${process.pid}`, 'strata.cjs');
  afterAll(() => fs.rmSync(path.dirname(out), { recursive: true, force: true }));

  it('is one file that runs the commands, finds the files beside its sources and starts no script it imports', async () => {
    expect(await buildCli(out)).toBeGreaterThan(100);
    const help = spawnSync(process.execPath, [out, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    for (const command of ['promote', 'status', 'approve', 'worker', 'serve', 'demo'])
      expect(help.stdout).toContain(command);
    // A usage error is exit 2 with one line, as from the sources.
    const bad = spawnSync(process.execPath, [out, 'status', ''], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    // __dirname is the source's folder (the demo's examples, the web assets and the helper
    // scripts are found beside the sources), never the bundle's.
    const text = fs.readFileSync(out, 'utf8');
    expect(text).not.toContain('__dirname');
    // Every import() is a require(): node's import() of a CommonJS package gives only the names its
    // lexer finds (none of @temporalio/proto's), and bin/strata compiles the bundle as a vm.Script.
    expect(text).not.toMatch(/[^\w$.]import\(/);
    expect(text).toContain('require("@temporalio/proto")');
    expect(text).toContain(JSON.stringify(path.join(ROOT, 'src/cli')));
    // workers/main.ts and the JWKS server run themselves as scripts; bundled, only the entry does.
    expect(text.match(/require\.main === module/g)).toHaveLength(1);
    expect(text.match(/if \(false\)/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
  });
});

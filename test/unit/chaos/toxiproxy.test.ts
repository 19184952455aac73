// Finding and building Toxiproxy (and, through the same shared go-install code, the Temporal CLI)
// with a fake `go` that writes a script where `go install` would write the binary.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cachedToxiproxyPath, ensureToxiproxy, findToxiproxy, ToxiproxyError } from '../../../src/chaos/toxiproxy';
import { cachedCliPath, ensureTemporalCli, TemporalCliError } from '../../../src/temporal/cli';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-toxiproxy-unit-'));
  dirs.push(dir);
  return dir;
}

function executable(file: string, text = '#!/bin/sh\necho fake\n'): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text, { mode: 0o755 });
  return file;
}

/** A `go` that logs its arguments and writes $GOBIN/<binary> (or fails with `exit`). */
function fakeGo(dir: string, binary: string, exit = 0): { go: string; log: string } {
  const log = path.join(dir, 'go.log');
  const go = executable(
    path.join(dir, 'gobin-tool', 'go'),
    `#!/bin/sh\necho "$@" >> ${log}\necho "go: downloading example.com/dep v1.0.0" >&2\n` +
      (exit === 0
        ? `printf '#!/bin/sh\\necho built\\n' > "$GOBIN/${binary}"\n/bin/chmod +x "$GOBIN/${binary}"\n`
        : `echo "compile error" >&2\nexit ${exit}\n`),
  );
  return { go, log };
}

describe('findToxiproxy', () => {
  it('prefers TOXIPROXY_SERVER, then toxiproxy-server on PATH, then the cache under XDG_CACHE_HOME', () => {
    const dir = tempDir();
    const cache = path.join(dir, 'cache');
    const bin = path.join(dir, 'bin');
    const env: NodeJS.ProcessEnv = { XDG_CACHE_HOME: cache, PATH: bin };
    expect(cachedToxiproxyPath(env)).toBe(path.join(cache, 'strata', 'toxiproxy', '2.5.0', 'server'));
    expect(findToxiproxy(env)).toBeUndefined();

    const cached = executable(cachedToxiproxyPath(env));
    expect(findToxiproxy(env)).toBe(cached);
    const onPath = executable(path.join(bin, 'toxiproxy-server'));
    expect(findToxiproxy(env)).toBe(onPath);
    const explicit = executable(path.join(dir, 'elsewhere', 'toxiproxy'));
    expect(findToxiproxy({ ...env, TOXIPROXY_SERVER: explicit })).toBe(explicit);
  });

  it('refuses a TOXIPROXY_SERVER that is not an executable file', () => {
    const dir = tempDir();
    expect(() => findToxiproxy({ PATH: '', TOXIPROXY_SERVER: path.join(dir, 'missing') })).toThrow(
      /TOXIPROXY_SERVER=.*missing is not an executable file/,
    );
  });
});

describe('ensureToxiproxy', () => {
  it('builds v2.5.0 once with go install into a temporary GOBIN renamed into the cache', async () => {
    const dir = tempDir();
    const env: NodeJS.ProcessEnv = { XDG_CACHE_HOME: path.join(dir, 'cache'), PATH: '' };
    const { go, log } = fakeGo(dir, 'server');
    const lines: string[] = [];
    const built = await ensureToxiproxy({ env, go, progress: (l) => lines.push(l) });
    expect(built).toBe(cachedToxiproxyPath(env));
    expect(fs.readFileSync(built, 'utf8')).toContain('echo built');
    expect(fs.readFileSync(log, 'utf8').trim()).toBe('install -v github.com/Shopify/toxiproxy/v2/cmd/server@v2.5.0');
    expect(lines[0]).toBe(
      'strata: building Toxiproxy v2.5.0 once with `go install github.com/Shopify/toxiproxy/v2/cmd/server@v2.5.0`',
    );
    expect(lines).toContain('strata:   go: downloading example.com/dep v1.0.0');
    expect(lines.at(-1)).toMatch(/^strata: Toxiproxy built in \d+s: /);
    // Nothing left beside it: no build directory, no lock.
    expect(fs.readdirSync(path.dirname(built))).toEqual(['server']);

    // Found in the cache the second time: go is not run again.
    expect(await ensureToxiproxy({ env, go, progress: () => {} })).toBe(built);
    expect(fs.readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('says how to install Toxiproxy when Go is missing, and when the build fails', async () => {
    const dir = tempDir();
    const env: NodeJS.ProcessEnv = { XDG_CACHE_HOME: path.join(dir, 'cache'), PATH: '' };
    const missing = ensureToxiproxy({ env, go: null, progress: () => {} });
    await expect(missing).rejects.toThrow(ToxiproxyError);
    await expect(ensureToxiproxy({ env, go: null, progress: () => {} })).rejects.toThrow(
      /^Cannot find Toxiproxy, and Go is not installed to build it\. Install Toxiproxy v2\.5\.0 \(https:\/\/github\.com\/Shopify\/toxiproxy\/releases\).*toxiproxy-server.*TOXIPROXY_SERVER.*go install github\.com\/Shopify\/toxiproxy\/v2\/cmd\/server@v2\.5\.0/,
    );

    const { go } = fakeGo(dir, 'server', 3);
    const lines: string[] = [];
    await expect(ensureToxiproxy({ env, go, progress: (l) => lines.push(l) })).rejects.toThrow(
      /go install github\.com\/Shopify\/toxiproxy\/v2\/cmd\/server@v2\.5\.0 failed \(exit 3\)\. Install Toxiproxy/,
    );
    expect(lines.join('\n')).toContain('compile error');
    expect(fs.readdirSync(path.dirname(cachedToxiproxyPath(env)))).toEqual([]); // no half-built leftovers
  });

  it('waits for another process building the same tool (lock), then uses its build', async () => {
    const dir = tempDir();
    const env: NodeJS.ProcessEnv = { XDG_CACHE_HOME: path.join(dir, 'cache'), PATH: '' };
    const target = cachedToxiproxyPath(env);
    const lock = path.join(path.dirname(target), '.lock');
    fs.mkdirSync(lock, { recursive: true });
    fs.writeFileSync(path.join(lock, 'pid'), String(process.pid)); // alive: a real holder
    const lines: string[] = [];
    const waiting = ensureToxiproxy({ env, go: fakeGo(dir, 'server').go, progress: (l) => lines.push(l) });
    // The other process finishes only once this one is waiting for it (not after a fixed pause).
    const deadline = Date.now() + 10_000;
    while (lines.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    executable(target, '#!/bin/sh\necho other\n'); // the other process finishes its build
    fs.rmSync(lock, { recursive: true });
    expect(await waiting).toBe(target);
    expect(fs.readFileSync(target, 'utf8')).toContain('other');
    expect(lines).toEqual([`strata: waiting for another process (pid ${process.pid}) building Toxiproxy…`]);
  });
});

describe('ensureTemporalCli (same go-install code)', () => {
  it('builds the pinned Temporal CLI into the cache and keeps its error type', async () => {
    const dir = tempDir();
    const env: NodeJS.ProcessEnv = { XDG_CACHE_HOME: path.join(dir, 'cache'), PATH: '' };
    const { go, log } = fakeGo(dir, 'temporal');
    const built = await ensureTemporalCli({ env, go, progress: () => {} });
    expect(built).toBe(cachedCliPath(env));
    expect(built).toBe(path.join(dir, 'cache', 'strata', 'temporal', '1.5.1', 'temporal'));
    expect(fs.readFileSync(log, 'utf8').trim()).toBe('install -v github.com/temporalio/cli/cmd/temporal@v1.5.1');

    const other: NodeJS.ProcessEnv = { XDG_CACHE_HOME: path.join(dir, 'cache2'), PATH: '' };
    await expect(ensureTemporalCli({ env: other, go: null, progress: () => {} })).rejects.toThrow(TemporalCliError);
    await expect(ensureTemporalCli({ env: other, go: null, progress: () => {} })).rejects.toThrow(
      /^Cannot find the Temporal CLI, and Go is not installed to build it\. Install the Temporal CLI/,
    );
  });
});

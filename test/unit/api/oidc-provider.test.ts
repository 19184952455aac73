// Building the test OpenID provider through the shared go-install code, with a fake `go`: `go build`
// in the repo's tools module (not `go install pkg@version`), cached under a version that names the
// sources, so an edit to main.go or go.mod builds anew.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cachedOidcProviderPath,
  ensureOidcProvider,
  OIDC_PROVIDER_MODULE_DIR,
  OidcProviderError,
  oidcProviderVersion,
} from '../../../src/api/oidc-provider';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-oidc-unit-'));
  dirs.push(dir);
  return dir;
}

/** A `go` that logs its working directory and arguments and writes the -o file (or fails). */
function fakeGo(dir: string, exit = 0): { go: string; log: string } {
  const log = path.join(dir, 'go.log');
  const go = path.join(dir, 'gobin-tool', 'go');
  fs.mkdirSync(path.dirname(go), { recursive: true });
  fs.writeFileSync(
    go,
    `#!/bin/sh\necho "$(pwd) $@" >> ${log}\necho "go: downloading github.com/zitadel/oidc/v3 v3.52.0" >&2\n` +
      (exit === 0
        ? `printf '#!/bin/sh\\necho built\\n' > "$4"\n/bin/chmod +x "$4"\n`
        : `echo "main.go:1: syntax error" >&2\nexit ${exit}\n`),
    { mode: 0o755 },
  );
  return { go, log };
}

function copyModule(dir: string): string {
  const moduleDir = path.join(dir, 'oidc-provider');
  fs.mkdirSync(moduleDir);
  for (const f of ['go.mod', 'go.sum', 'main.go']) {
    fs.copyFileSync(path.join(OIDC_PROVIDER_MODULE_DIR, f), path.join(moduleDir, f));
  }
  return moduleDir;
}

describe('ensureOidcProvider', () => {
  it('builds once with `go build` in the tools module into ~/.cache/strata/oidc-provider/<version>/', async () => {
    const dir = tempDir();
    const moduleDir = copyModule(dir);
    const env: NodeJS.ProcessEnv = { XDG_CACHE_HOME: path.join(dir, 'cache'), PATH: '' };
    const { go, log } = fakeGo(dir);
    const lines: string[] = [];
    const version = oidcProviderVersion(moduleDir);
    expect(version).toMatch(/^3\.52\.0-[0-9a-f]{12}$/);
    expect(version).toBe(oidcProviderVersion()); // the copy is the repo's module, byte for byte

    const built = await ensureOidcProvider({ env, go, moduleDir, progress: (l) => lines.push(l) });
    expect(built).toBe(path.join(dir, 'cache', 'strata', 'oidc-provider', version, 'strata-oidc-provider'));
    expect(built).toBe(cachedOidcProviderPath(env, moduleDir));
    const [cwd, ...args] = fs.readFileSync(log, 'utf8').trim().split(' ');
    expect(cwd).toBe(moduleDir);
    expect(args.slice(0, 3)).toEqual(['build', '-v', '-o']);
    expect(args[4]).toBe('.');
    expect(lines[0]).toContain(`\`go build .\` in ${moduleDir}`);
    expect(lines).toContain('strata:   go: downloading github.com/zitadel/oidc/v3 v3.52.0');
    expect(lines.at(-1)).toMatch(/built in \d+s: /);
    expect(fs.readdirSync(path.dirname(built))).toEqual(['strata-oidc-provider']);

    // cached: go is not run again; an edited main.go is another version, built anew
    expect(await ensureOidcProvider({ env, go, moduleDir, progress: () => {} })).toBe(built);
    expect(fs.readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(1);
    fs.appendFileSync(path.join(moduleDir, 'main.go'), '\n// edited\n');
    const rebuilt = await ensureOidcProvider({ env, go, moduleDir, progress: () => {} });
    expect(rebuilt).not.toBe(built);
    expect(fs.readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('a failed build names the module and leaves nothing in the cache; STRATA_OIDC_PROVIDER must exist', async () => {
    const dir = tempDir();
    const moduleDir = copyModule(dir);
    const env: NodeJS.ProcessEnv = { XDG_CACHE_HOME: path.join(dir, 'cache'), PATH: '' };
    const lines: string[] = [];
    const failing = ensureOidcProvider({ env, go: fakeGo(dir, 3).go, moduleDir, progress: (l) => lines.push(l) });
    await expect(failing).rejects.toThrow(OidcProviderError);
    await expect(failing).rejects.toThrow(`go build . in ${moduleDir} failed (exit 3)`);
    expect(lines.join('\n')).toContain('main.go:1: syntax error');
    expect(fs.existsSync(cachedOidcProviderPath(env, moduleDir))).toBe(false);
    await expect(ensureOidcProvider({ env: { STRATA_OIDC_PROVIDER: path.join(dir, 'nope') } })).rejects.toThrow(
      /STRATA_OIDC_PROVIDER=.*nope does not exist/,
    );
  });
});

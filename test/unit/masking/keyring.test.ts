import fs from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { enclosingRepository, loadKeyring } from '../../../src/data/masking/keyring';
import { configErrorOf, tempDir, writeKeyring } from '../../fixtures/masking/helpers';

const root = tempDir('keyring');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function dir(name: string): string {
  const d = path.join(root, name);
  fs.mkdirSync(d, { recursive: true });
  return d;
}

describe('loadKeyring', () => {
  it('reads YAML and JSON keyrings with hex and base64 secrets', () => {
    for (const format of ['yaml', 'json'] as const) {
      const { file } = writeKeyring(dir(`ok-${format}`), { format });
      const keyring = loadKeyring(file);
      expect(keyring.active).toBe('main');
      expect(keyring.names).toEqual(['main', 'old']);
    }
  });

  it('derives per-environment keys: equal for one environment, unrelated across environments and keys', () => {
    const keyring = loadKeyring(writeKeyring(dir('derive')).file);
    const a = keyring.environmentKeys('mirror');
    expect(keyring.environmentKeys('mirror').hmac.equals(a.hmac)).toBe(true);
    expect(keyring.environmentKeys('integration').hmac.equals(a.hmac)).toBe(false);
    expect(keyring.environmentKeys('mirror', 'old').hmac.equals(a.hmac)).toBe(false);
    expect(a.fake.equals(a.hmac)).toBe(false);
    expect(a.keyId).toMatch(/^[0-9a-f]{12}$/);
    expect(() => keyring.environmentKeys('mirror', 'nope')).toThrow(
      /no key named "nope"; the keyring holds "main", "old"/,
    );
  });

  it('refuses a missing keyring, naming the path', () => {
    const missing = path.join(root, 'nowhere', 'keyring.yaml');
    const error = configErrorOf(() => loadKeyring(missing));
    expect(error.file).toBe(missing);
    expect(error.message).toContain(`${missing}: keyring file not found`);
  });

  it('refuses a keyring inside a git working tree (found by walking up from the file)', () => {
    const repo = dir('repo');
    fs.mkdirSync(path.join(repo, '.git'));
    const nested = path.join(repo, 'config', 'secrets');
    fs.mkdirSync(nested, { recursive: true });
    const { file } = writeKeyring(nested);
    expect(enclosingRepository(nested)).toBe(repo);
    expect(configErrorOf(() => loadKeyring(file)).message).toMatch(
      /keyring\.yaml: the keyring is inside the git repository .*repo, where it could be committed; move it outside/,
    );
    // A link from outside to a file inside the repository is refused too.
    const link = path.join(dir('links'), 'keyring.yaml');
    fs.symlinkSync(file, link);
    expect(configErrorOf(() => loadKeyring(link)).message).toMatch(/inside the git repository/);
  });

  it('refuses a keyring that group or others can read, telling to chmod 600', () => {
    for (const mode of [0o644, 0o640, 0o604]) {
      const { file } = writeKeyring(dir(`mode-${mode.toString(8)}`), { mode });
      expect(configErrorOf(() => loadKeyring(file)).message).toContain(`run \`chmod 600 ${file}\``);
    }
  });

  it('reports bad documents by path, without quoting any value', () => {
    const d = dir('bad');
    const short = 'ab'.repeat(16); // 16 bytes
    const notKey = 'zz!'.repeat(20);
    const file = path.join(d, 'keyring.yaml');
    fs.writeFileSync(
      file,
      `keys:\n  short: ${short}\n  weird: "${notKey}"\n  "bad name": ${'cd'.repeat(32)}\nactive: missing\nextra: 1\n`,
      { mode: 0o600 },
    );
    const error = configErrorOf(() => loadKeyring(file));
    expect(error.issues.map((i) => i.path)).toEqual(['extra', 'keys.short', 'keys.weird', 'keys.bad name', 'active']);
    expect(error.message).toContain('keys.short: too short: 16 bytes, expected at least 32');
    expect(error.message).not.toContain(short);
    expect(error.message).not.toContain(notKey);
    expect(error.message).not.toContain('cd'.repeat(32));

    const broken = path.join(d, 'broken.yaml');
    const secret = 'ef'.repeat(32);
    fs.writeFileSync(broken, `keys: { main: ${secret}\nactive: main\n`, { mode: 0o600 });
    const parseError = configErrorOf(() => loadKeyring(broken));
    expect(parseError.message).toMatch(/cannot parse the keyring/);
    expect(parseError.message).not.toContain(secret);
  });

  it('never prints a secret through inspect or JSON', () => {
    const { file, secrets } = writeKeyring(dir('print'));
    const keyring = loadKeyring(file);
    const shown = `${inspect(keyring, { depth: 10, showHidden: true })} ${JSON.stringify(keyring)} ${String(keyring)}`;
    for (const secret of secrets) expect(shown).not.toContain(secret);
    expect(shown).toContain('main');
  });
});

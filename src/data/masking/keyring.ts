// The keyring: named secrets that key the masking of one environment, kept in a file outside any
// repository and readable by its owner only.
//
// No secret, and nothing of the file's text, ever reaches an error message, a log line or a
// returned value: validation messages name the file and the key, never what was found. A loaded
// Keyring prints as "[Keyring …]" under console.log, util.inspect and JSON.stringify.

import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { inspect } from 'node:util';
import { ConfigError, type ConfigIssue, UsageError } from '../../validation/errors';

export const MIN_SECRET_BYTES = 32;

/**
 * The YAML parser, loaded when a keyring is read or written rather than with this module: every
 * Temporal client imports it through the payload codec (src/temporal/codec.ts), `strata status`
 * included, and most never read a keyring.
 */
function yaml(): typeof import('yaml') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('yaml') as typeof import('yaml');
}

/** Where `keyring init` writes and what reads a keyring unless STRATA_KEYRING says otherwise. */
export const DEFAULT_KEYRING = '~/.config/strata/keyring.yaml';
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const HEX = /^[0-9a-fA-F]+$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** Versioned so that a change of derivation can never silently reuse old pseudonyms. */
const HKDF_SALT = Buffer.from('strata/masking/v1', 'utf8');

/** What a key is derived for: pseudonyms (hmac) or the seeds of fake values (fake). */
export type KeyPurpose = 'hmac' | 'fake';

/** The keys of one environment, derived from one keyring secret. Holds key material: never log it. */
export interface EnvironmentKeys {
  /** The environment (layer) the keys belong to. */
  readonly environment: string;
  /** The keyring key they were derived from. */
  readonly keyName: string;
  /**
   * A public fingerprint of the derived keys (12 hex digits), for the run summary and the audit
   * trail: equal ids mean equal pseudonyms. It is an HMAC output, so it reveals nothing of the key.
   */
  readonly keyId: string;
  readonly hmac: Buffer;
  readonly fake: Buffer;
}

export class Keyring {
  readonly file: string;
  readonly active: string;
  readonly #secrets: ReadonlyMap<string, Buffer>;

  constructor(file: string, secrets: ReadonlyMap<string, Buffer>, active: string) {
    this.file = file;
    this.#secrets = secrets;
    this.active = active;
  }

  /** The names of the keys (never their secrets). */
  get names(): string[] {
    return [...this.#secrets.keys()];
  }

  /**
   * HKDF-SHA256 keys for `environment`, from the secret named `keyName` (default: the active key).
   * Different environments get unrelated keys, so their pseudonyms cannot be linked.
   */
  environmentKeys(environment: string, keyName: string = this.active): EnvironmentKeys {
    const secret = this.#secrets.get(keyName);
    if (!secret) {
      throw new ConfigError(this.file, [
        {
          path: 'keys',
          message: `no key named "${keyName}"; the keyring holds ${this.names.map((n) => `"${n}"`).join(', ')}`,
        },
      ]);
    }
    if (environment.trim() === '')
      throw new ConfigError(this.file, [{ path: '', message: 'the environment name to derive keys for is empty' }]);
    const derive = (purpose: KeyPurpose) =>
      Buffer.from(hkdfSync('sha256', secret, HKDF_SALT, `strata/masking/${purpose}/${environment}`, 32));
    const hmac = derive('hmac');
    const keyId = createHmac('sha256', hmac).update('strata/masking/key-id').digest('hex').slice(0, 12);
    return { environment, keyName, keyId, hmac, fake: derive('fake') };
  }

  /**
   * HKDF-SHA256 key material for another purpose than masking (the audit export's signing key),
   * from the secret named `keyName`; `salt` and `info` keep purposes apart.
   */
  deriveKey(keyName: string, salt: Buffer, info: string, bytes = 32): Buffer {
    const secret = this.#secrets.get(keyName);
    if (!secret) throw new ConfigError(this.file, [{ path: 'keys', message: `no key named "${keyName}"` }]);
    return Buffer.from(hkdfSync('sha256', secret, salt, info, bytes));
  }

  toJSON(): unknown {
    return { file: this.file, active: this.active, keys: this.names };
  }

  [inspect.custom](): string {
    return `[Keyring ${this.file}: ${this.names.join(', ')} (active ${this.active})]`;
  }
}

/** The nearest directory at or above `start` holding `.git` (a repository or a worktree), if any. */
export function enclosingRepository(start: string): string | undefined {
  let dir = start;
  for (;;) {
    if (fs.existsSync(path.join(dir, '.git'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * Reads and checks a keyring file: `{ keys: { <name>: <secret> }, active: <name> }` in JSON or
 * YAML, each secret hex or base64 (optionally prefixed `hex:` / `base64:`) of at least 32 bytes.
 * Refuses a file that is missing, inside a git working tree, or readable by group or others.
 */
export function loadKeyring(file: string): Keyring {
  const absolute = path.resolve(file);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(absolute);
  } catch {
    throw new ConfigError(absolute, [
      {
        path: '',
        message:
          'keyring file not found; create it outside the repository with `{ keys: { <name>: <hex or base64 secret of >= 32 bytes> }, active: <name> }` and `chmod 600` it',
      },
    ]);
  }
  if (!stat.isFile()) throw new ConfigError(absolute, [{ path: '', message: 'the keyring is not a regular file' }]);
  // The real location counts: a link outside the repository to a file inside it is still committed.
  const real = fs.realpathSync(absolute);
  const repository = enclosingRepository(path.dirname(real));
  if (repository !== undefined) {
    throw new ConfigError(absolute, [
      {
        path: '',
        message: `the keyring is inside the git repository ${repository}, where it could be committed; move it outside (e.g. ~/.config/strata/keyring.yaml) and point the policy's keyring at it`,
      },
    ]);
  }
  if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
    throw new ConfigError(absolute, [
      {
        path: '',
        message: `the keyring is readable or writable by group or others (mode ${(stat.mode & 0o777).toString(8).padStart(3, '0')}); run \`chmod 600 ${absolute}\``,
      },
    ]);
  }

  let document: unknown;
  try {
    // YAML is a superset of JSON. The parser's own message could quote the file: never show it.
    document = yaml().parse(fs.readFileSync(real, 'utf8'));
  } catch {
    throw new ConfigError(absolute, [
      {
        path: '',
        message: 'cannot parse the keyring as JSON or YAML (the parser message is withheld: it may quote a secret)',
      },
    ]);
  }
  return new Keyring(absolute, ...checkDocument(absolute, document));
}

function checkDocument(file: string, document: unknown): [Map<string, Buffer>, string] {
  const issues: ConfigIssue[] = [];
  const fail = (): never => {
    throw new ConfigError(file, issues);
  };
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    issues.push({ path: '', message: 'expected a mapping with `keys` and `active`' });
    fail();
  }
  const { keys, active, ...rest } = document as Record<string, unknown>;
  for (const extra of Object.keys(rest))
    issues.push({ path: extra, message: `unknown key "${extra}"; allowed keys: keys, active` });
  const secrets = new Map<string, Buffer>();
  if (keys === null || typeof keys !== 'object' || Array.isArray(keys) || Object.keys(keys).length === 0) {
    issues.push({ path: 'keys', message: 'expected a mapping of key names to secrets with at least one entry' });
  } else {
    for (const [name, raw] of Object.entries(keys as Record<string, unknown>)) {
      const at = `keys.${name}`;
      if (!KEY_NAME.test(name)) {
        issues.push({
          path: at,
          message: 'a key name is letters, digits, ".", "_" or "-", starting with a letter or digit',
        });
        continue;
      }
      const secret = decodeSecret(raw);
      if (typeof secret === 'string') issues.push({ path: at, message: secret });
      else secrets.set(name, secret);
    }
  }
  if (typeof active !== 'string' || active === '') {
    issues.push({ path: 'active', message: 'expected the name of the key to use' });
  } else if (keys && typeof keys === 'object' && !Object.hasOwn(keys, active)) {
    issues.push({
      path: 'active',
      message: `names no key of \`keys\` (${Object.keys(keys)
        .map((n) => `"${n}"`)
        .join(', ')})`,
    });
  }
  if (issues.length > 0) fail();
  return [secrets, active as string];
}

/** The secret's bytes, or what is wrong with it, in words that never include the value. */
function decodeSecret(raw: unknown): Buffer | string {
  if (typeof raw !== 'string') return 'expected a hex or base64 string (the value is not shown)';
  let text = raw.trim();
  let encoding: 'hex' | 'base64' | undefined;
  const prefix = /^(hex|base64):/.exec(text);
  if (prefix) {
    encoding = prefix[1] as 'hex' | 'base64';
    text = text.slice(prefix[0].length);
  } else {
    encoding = HEX.test(text) && text.length % 2 === 0 ? 'hex' : 'base64';
  }
  if (encoding === 'hex' && !(HEX.test(text) && text.length % 2 === 0)) return 'not valid hex (the value is not shown)';
  if (encoding === 'base64' && !BASE64.test(text)) return 'neither hex nor base64 (the value is not shown)';
  const bytes = Buffer.from(text, encoding === 'hex' ? 'hex' : 'base64');
  if (bytes.length < MIN_SECRET_BYTES) {
    return `too short: ${bytes.length} bytes, expected at least ${MIN_SECRET_BYTES} (e.g. \`openssl rand -hex 32\`)`;
  }
  return bytes;
}

/** Writes a new keyring with one random 32-byte secret; refuses a path inside a git repository. */
export function createKeyring(file: string, keyName = 'k1'): void {
  const repository = enclosingRepository(path.dirname(file));
  if (repository !== undefined) {
    throw new UsageError(
      `--file: ${file} is inside the git repository ${repository}; a keyring lives outside any repository (e.g. ${DEFAULT_KEYRING})`,
    );
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const text = `# Strata masking keyring — never commit, never share. Created ${new Date().toISOString()} on ${os.hostname()}.\n${yaml().stringify({ keys: { [keyName]: `hex:${randomBytes(32).toString('hex')}` }, active: keyName })}`;
  // 'wx' (O_EXCL): of two concurrent inits, one writes and the other fails instead of overwriting.
  fs.writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
  loadKeyring(file);
}

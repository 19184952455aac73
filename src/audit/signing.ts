// The audit export's signing key: an ed25519 key derived from the keyring (the same file that keys
// the masking), so there is one secret file to guard and nothing new to store. Each keyring key
// gives its own signing key; exports are signed with the active one, and verify trusts the public
// keys of every key in the keyring, so rotating the keyring keeps old exports verifiable.

import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { DEFAULT_KEYRING, type Keyring, loadKeyring } from '../data/masking/keyring';
import { resolveUserPath } from '../tools/files';
import type { Signer } from './chain';

/** Versioned: a change of derivation gives new keys rather than silently different ones. */
const HKDF_SALT = Buffer.from('strata/audit/v1', 'utf8');
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The keyring the audit export signs with: $STRATA_KEYRING, else ~/.config/strata/keyring.yaml. */
export function auditKeyringPath(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  return resolveUserPath(env.STRATA_KEYRING?.trim() || DEFAULT_KEYRING, cwd);
}

export function loadAuditKeyring(env: NodeJS.ProcessEnv = process.env): Keyring {
  return loadKeyring(auditKeyringPath(env));
}

function privateKeyFor(keyring: Keyring, keyName: string): KeyObject {
  const seed = keyring.deriveKey(keyName, HKDF_SALT, 'strata/audit/ed25519');
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function rawOf(key: KeyObject): Buffer {
  const der = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return Buffer.from(der.subarray(der.length - 32));
}

/** `<keyring key name>:<first 16 hex of sha256 of the raw public key>`. */
function keyIdOf(keyName: string, raw: Buffer): string {
  return `${keyName}:${createHash('sha256').update(raw).digest('hex').slice(0, 16)}`;
}

/** The signer of new exports: the keyring's active key. */
export function auditSigner(keyring: Keyring): Signer {
  const privateKey = privateKeyFor(keyring, keyring.active);
  const raw = rawOf(privateKey);
  return { keyId: keyIdOf(keyring.active, raw), publicKey: raw.toString('base64'), privateKey };
}

/** The public keys verify trusts: one per keyring key (raw 32 bytes). */
export function trustedAuditKeys(keyring: Keyring): Buffer[] {
  return keyring.names.map((name) => rawOf(privateKeyFor(keyring, name)));
}

/** The active key's public key as PEM (SPKI) and as base64 of its raw 32 bytes. */
export function auditPublicKey(keyring: Keyring): { keyId: string; pem: string; base64: string } {
  const signer = auditSigner(keyring);
  const pem = createPublicKey(signer.privateKey).export({ format: 'pem', type: 'spki' }).toString();
  return { keyId: signer.keyId, pem, base64: signer.publicKey };
}

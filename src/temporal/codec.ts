// Encrypted payloads: a Temporal PayloadCodec with AES-256-GCM (node:crypto), so workflow inputs,
// results, Update and signal arguments and failure details are ciphertext on the Temporal server.
// The shape follows Temporal's encryption sample: each payload is serialized whole (metadata and
// data) and encrypted; the envelope says `binary/encrypted` and names the key it was sealed with.
// Keys are derived from the keyring (one per keyring key, so adding a key and making it active
// rotates: new payloads use it, old ones still open with theirs). No library does this part for
// Temporal's codec interface; the cipher itself is node's.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { type Keyring, loadKeyring } from '../data/masking/keyring';
import { resolveUserPath } from '../tools/files';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A payload this process cannot open: sealed with a key it does not hold, or altered. */
export class PayloadDecryptionError extends Error {
  override name = 'PayloadDecryptionError';
}

/** One AES-256 key and the id written into every payload it seals. Holds key material: never log it. */
export interface CodecKey {
  id: string;
  key: Buffer;
}

export class EncryptionCodec implements PayloadCodec {
  readonly #keys: ReadonlyMap<string, Buffer>;
  readonly #active: CodecKey;

  /** `active` seals new payloads; every key in `keys` (the active one included) opens old ones. */
  constructor(active: CodecKey, keys: readonly CodecKey[] = []) {
    for (const k of [active, ...keys])
      if (k.key.length !== 32) throw new Error(`payload key ${k.id}: expected 32 bytes (AES-256)`);
    this.#active = active;
    this.#keys = new Map([...keys, active].map((k) => [k.id, k.key]));
  }

  get activeKeyId(): string {
    return this.#active.id;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { Payload: PayloadMessage } = await payloadMessage();
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.#active.key, iv);
      const plain = PayloadMessage.encode(payload).finish();
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          encoding: Buffer.from(ENCRYPTED_ENCODING),
          [KEY_ID_METADATA]: Buffer.from(this.#active.id),
        },
        data: sealed,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    if (!payloads.some(isEncrypted)) return payloads;
    const { Payload: PayloadMessage } = await payloadMessage();
    return payloads.map((payload) => {
      if (!isEncrypted(payload)) return payload; // written before encryption was on: plaintext
      const keyId = Buffer.from(payload.metadata?.[KEY_ID_METADATA] ?? []).toString();
      const key = this.#keys.get(keyId);
      if (!key)
        throw new PayloadDecryptionError(`payload sealed with key "${keyId}", which this keyring does not hold`);
      const data = Buffer.from(payload.data ?? []);
      if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadDecryptionError('encrypted payload is truncated');
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw new PayloadDecryptionError(`payload sealed with key "${keyId}" failed authentication (altered)`);
      }
      return PayloadMessage.decode(plain) as Payload;
    });
  }
}

/**
 * The protobuf Payload message, loaded when a payload is first sealed or opened: @temporalio/proto
 * builds the reflection of Temporal's whole API (about 0.15 s), which a `strata status` through
 * the HTTP API (http-api.ts) of a promotion without encrypted payloads never needs.
 */
async function payloadMessage(): Promise<typeof temporal.api.common.v1> {
  const { temporal: proto } = await import('@temporalio/proto');
  return proto.api.common.v1;
}

/** True when the payload is one this codec sealed. */
export function isEncrypted(payload: Payload): boolean {
  const encoding = payload.metadata?.encoding;
  return encoding !== undefined && encoding !== null && Buffer.from(encoding).toString() === ENCRYPTED_ENCODING;
}

/** Versioned so that a change of derivation can never open old payloads with the wrong key. */
const PAYLOAD_KEY_SALT = Buffer.from('strata/payload-codec/v1', 'utf8');

/**
 * The codec of a keyring: one AES key per keyring key (HKDF, its own salt: unrelated to the
 * masking keys), sealing with the active one. Rotation is the keyring's: add a key, make it active.
 */
export function codecFromKeyring(keyring: Keyring): EncryptionCodec {
  const keys = keyring.names.map((id) => ({ id, key: keyring.deriveKey(id, PAYLOAD_KEY_SALT, 'payloads') }));
  const active = keys.find((k) => k.id === keyring.active);
  if (!active) throw new Error(`${keyring.file}: the active key ${keyring.active} is not in the keyring`);
  return new EncryptionCodec(active, keys);
}

/** The codec `STRATA_PAYLOAD_KEYRING` asks for (every client and worker of the process), if any. */
export function payloadCodecs(env: NodeJS.ProcessEnv = process.env): PayloadCodec[] {
  const file = env.STRATA_PAYLOAD_KEYRING;
  if (!file) return [];
  return [codecFromKeyring(loadKeyring(resolveUserPath(file, process.cwd())))];
}

type Node = Record<string, unknown>;

function isPayloadShape(v: unknown): v is Payload {
  if (!v || typeof v !== 'object' || ArrayBuffer.isView(v) || Array.isArray(v)) return false;
  const p = v as Node;
  return ArrayBuffer.isView(p.data) && !!p.metadata && typeof p.metadata === 'object';
}

/** Opens payloads with `codecs`, last codec first (as the SDK's data converter does). */
export async function decodePayloads(payloads: Payload[], codecs: readonly PayloadCodec[]): Promise<Payload[]> {
  let out = payloads;
  for (const codec of [...codecs].reverse()) out = await codec.decode(out);
  return out;
}

/**
 * Opens every payload of a history in place (inputs, results, Update and signal arguments,
 * failure details), so history readers (the audit trail, status of ended promotions, timings)
 * read plaintext. Payloads written without encryption pass through.
 */
export async function decodeHistoryPayloads<T>(events: T[], codecs: readonly PayloadCodec[]): Promise<T[]> {
  if (codecs.length === 0) return events;
  const open = (payloads: Payload[]) => decodePayloads(payloads, codecs);
  const visit = async (node: unknown): Promise<void> => {
    if (!node || typeof node !== 'object' || ArrayBuffer.isView(node)) return;
    if (Array.isArray(node)) {
      for (const item of node) await visit(item);
      return;
    }
    const obj = node as Node;
    for (const [k, v] of Object.entries(obj)) {
      if (isPayloadShape(v)) [obj[k]] = await open([v]);
      else if (Array.isArray(v) && v.length > 0 && v.every(isPayloadShape)) obj[k] = await open(v);
      else await visit(v);
    }
  };
  await visit(events);
  return events;
}

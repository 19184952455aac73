import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadKeyring } from '../../../src/data/masking/keyring';
import {
  codecFromKeyring,
  decodeHistoryPayloads,
  EncryptionCodec,
  isEncrypted,
  PayloadDecryptionError,
} from '../../../src/temporal/codec';

const key = (id: string) => ({ id, key: randomBytes(32) });
const payload = (value: unknown) => defaultPayloadConverter.toPayload(value);
const value = (p: Parameters<typeof defaultPayloadConverter.fromPayload>[0]) => defaultPayloadConverter.fromPayload(p);

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('EncryptionCodec (AES-256-GCM)', () => {
  it('seals a payload so that nothing of it is readable, and opens it back', async () => {
    const codec = new EncryptionCodec(key('k1'));
    const plain = payload({ candidate: 'fraud-scoring', reason: 'p99 fine under load' });
    const [sealed] = await codec.encode([plain]);
    expect(isEncrypted(sealed)).toBe(true);
    expect(Buffer.from(sealed.metadata!['encryption-key-id']!).toString()).toBe('k1');
    const bytes = Buffer.from(sealed.data!).toString('latin1');
    expect(bytes).not.toContain('fraud-scoring');
    expect(bytes).not.toContain('p99 fine');
    expect(Buffer.from(sealed.metadata!.encoding!).toString()).toBe('binary/encrypted'); // json/plain is inside
    const [opened] = await codec.decode([sealed]);
    expect(value(opened)).toEqual({ candidate: 'fraud-scoring', reason: 'p99 fine under load' });
  });

  it('rotates: new payloads use the newest key, payloads sealed with an older key still open', async () => {
    const k1 = key('k1');
    const k2 = key('k2');
    const [old] = await new EncryptionCodec(k1).encode([payload('before rotation')]);
    const rotated = new EncryptionCodec(k2, [k1]);
    const [fresh] = await rotated.encode([payload('after rotation')]);
    expect(Buffer.from(fresh.metadata!['encryption-key-id']!).toString()).toBe('k2');
    expect((await rotated.decode([old, fresh])).map(value)).toEqual(['before rotation', 'after rotation']);
    // A codec without k2 cannot open what k2 sealed, and says which key it lacks.
    await expect(new EncryptionCodec(k1).decode([fresh])).rejects.toThrow(/key "k2", which this keyring does not hold/);
  });

  it('refuses an altered payload (authentication), and passes plaintext payloads through', async () => {
    const codec = new EncryptionCodec(key('k1'));
    const [sealed] = await codec.encode([payload({ n: 1 })]);
    const data = Buffer.from(sealed.data!);
    data[20] ^= 0x01;
    await expect(codec.decode([{ ...sealed, data }])).rejects.toThrow(PayloadDecryptionError);
    const plain = payload('written before encryption was on');
    expect(await codec.decode([plain])).toEqual([plain]);
  });

  it("derives its keys from the keyring, one per keyring key, sealing with the keyring's active key", async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-codec-'));
    const file = path.join(dir, 'keyring.yaml');
    const write = (active: string, keys: Record<string, string>) =>
      fs.writeFileSync(file, stringify({ keys, active }), { mode: 0o600 });
    const secrets = { k1: `hex:${randomBytes(32).toString('hex')}`, k2: `hex:${randomBytes(32).toString('hex')}` };
    write('k1', { k1: secrets.k1 });
    const [sealed] = await codecFromKeyring(loadKeyring(file)).encode([payload('x')]);
    write('k2', secrets);
    const rotated = codecFromKeyring(loadKeyring(file));
    expect(rotated.activeKeyId).toBe('k2');
    expect((await rotated.decode([sealed])).map(value)).toEqual(['x']);
  });
});

describe('decodeHistoryPayloads', () => {
  it('opens every payload of a recorded history sealed whole, leaving it as it was', async () => {
    const file = path.join(__dirname, '../../replay/histories/demo-1.sandbox.json');
    const original = historyFromJSON(JSON.parse(fs.readFileSync(file, 'utf8'))).events ?? [];
    const sealedEvents = historyFromJSON(JSON.parse(fs.readFileSync(file, 'utf8'))).events ?? [];
    const codec = new EncryptionCodec(key('k1'));
    // Seal every payload-shaped value the way a worker with the codec would have written it.
    let sealedCount = 0;
    const seal = async (node: unknown): Promise<void> => {
      if (!node || typeof node !== 'object' || ArrayBuffer.isView(node)) return;
      for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
        if (
          Array.isArray(v) &&
          v.length > 0 &&
          v.every((p) => p && ArrayBuffer.isView((p as { data?: unknown }).data))
        ) {
          (node as Record<string, unknown>)[k] = await codec.encode(v as never);
          sealedCount += v.length;
        } else await seal(v);
      }
    };
    await seal(sealedEvents);
    expect(sealedCount).toBeGreaterThan(20);
    expect(JSON.stringify(sealedEvents)).not.toContain(Buffer.from('fraud-scoring').toString('base64').slice(0, 12));
    await decodeHistoryPayloads(sealedEvents, [codec]);
    // Byte arrays compared by content (the codec returns Buffers where JSON gave Uint8Arrays).
    const normal = (events: unknown) =>
      JSON.stringify(events, (_k, v: unknown) =>
        v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer'
          ? Buffer.from((v as { data: number[] }).data).toString('base64')
          : ArrayBuffer.isView(v)
            ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')
            : v,
      );
    expect(normal(sealedEvents)).toBe(normal(original));
  });
});

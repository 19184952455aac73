import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalProvider } from '../../../src/providers/local';
import type { Release } from '../../../src/domain/release';

// state.json written before the names settled: the known-good release was `promoted` (with
// `promotedHistory`), `running` held a whole release, and the built-in population was `seed`.
let home: string;

const release = (version: string, digest: string): Release => ({
  name: 'fraud-scoring',
  version,
  digest,
  dir: path.join(home, 'envs', 'sandbox', 'releases', `${version}-${digest.slice(0, 12)}`),
  serve: ['node', 'server.js'],
});

function writeOldState(): { v1: Release; v2: Release } {
  const v1 = release('1.0.0', 'a'.repeat(64));
  const v2 = release('2.0.0', 'b'.repeat(64));
  const dir = path.join(home, 'envs', 'sandbox');
  fs.mkdirSync(path.join(dir, 'releases'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'state.json'),
    JSON.stringify({
      layer: 'sandbox',
      createdAt: '2026-11-01T00:00:00.000Z',
      promotionIds: ['p1', 'p2'],
      seed: { seed: 42, rows: 50 },
      promoted: v2,
      promotedHistory: [
        { ...v1, at: '2026-11-01T00:00:00.000Z' },
        { ...v2, at: '2026-11-02T00:00:00.000Z' },
      ],
      running: v2,
      pid: null,
      port: null,
    }),
  );
  return { v1, v2 };
}

beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-local-state-'));
});
afterEach(() => {
  fs.rmSync(home, { recursive: true, force: true });
});

describe('the local provider reads state.json written with the old names', () => {
  it('describes the known-good release, and the running version as a string', async () => {
    const { v2 } = writeOldState();
    const env = await new LocalProvider(home).describe('sandbox');
    expect(env).toMatchObject({ knownGood: v2, running: '2.0.0', runningRelease: v2, url: null, pid: null });
  });

  it('falls back to the earlier known-good release (not the running one)', async () => {
    const { v1 } = writeOldState();
    expect(await new LocalProvider(home).knownGood('sandbox')).toEqual(v1);
  });

  it('writes the new names only, keeping what the old ones said', async () => {
    const { v1, v2 } = writeOldState();
    const provider = new LocalProvider(home);
    // The old record says 42/50 was populated but there is no database yet: populate writes state.
    const populated = await provider.populate('sandbox', { seed: 42, rows: 50 });
    expect(populated).toMatchObject({ rows: 50, created: true });
    const stored = JSON.parse(fs.readFileSync(path.join(home, 'envs', 'sandbox', 'state.json'), 'utf8'));
    for (const old of ['promoted', 'promotedHistory', 'running', 'seed']) expect(stored).not.toHaveProperty(old);
    expect(stored).toMatchObject({
      knownGood: v2,
      knownGoodHistory: [{ version: v1.version }, { version: v2.version }],
      runningRelease: v2,
      population: { seed: 42, rows: 50 },
    });
  });
});

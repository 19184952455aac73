import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ArtifactTamperedError,
  artifactEntryDir,
  digestDirectory,
  removeSealedTree,
  storeCandidate,
  verifyDirectory,
} from '../../../src/artifacts/store';
import { loadCandidate } from '../../../src/config/candidate';
import { ConfigError } from '../../../src/validation/errors';
import { EXAMPLE_CANDIDATES } from '../../helpers/example-candidates';

const scratch: string[] = [];
afterEach(() => {
  for (const dir of scratch.splice(0)) removeSealedTree(dir);
});

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `strata-${prefix}-`));
  scratch.push(dir);
  return dir;
}

/** A writable copy of the example candidates (fraud-v1 reads server.js from ../shared). */
function examplesCopy(): string {
  const root = tempDir('store-examples');
  fs.cpSync(EXAMPLE_CANDIDATES, root, { recursive: true });
  return root;
}

/** Every file and directory under `dir` with its permission bits. */
function modes(dir: string): Array<[string, string]> {
  const out: Array<[string, string]> = [[dir, (fs.statSync(dir).mode & 0o777).toString(8)]];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const full = path.join(entry.parentPath, entry.name);
    out.push([full, (fs.statSync(full).mode & 0o777).toString(8)]);
  }
  return out;
}

describe('the artifact store', () => {
  it('stores a candidate under its digest: candidate.yaml and each artifact at its release path, read-only', async () => {
    const root = examplesCopy();
    const store = tempDir('store');
    const candidate = await loadCandidate(path.join(root, 'fraud-v1'));
    const stored = await storeCandidate(candidate, store);

    expect(stored).toEqual({ dir: artifactEntryDir(store, candidate.digest), digest: candidate.digest, reused: false });
    expect(stored.dir).toBe(path.join(store, 'sha256', candidate.digest));
    expect(fs.readdirSync(stored.dir).sort()).toEqual(['candidate.yaml', 'model.json', 'server.js']);
    // server.js is read from ../shared and installed under its path in the release.
    expect(fs.readFileSync(path.join(stored.dir, 'server.js'))).toEqual(
      fs.readFileSync(path.join(root, 'shared', 'server.js')),
    );
    // The entry's files reproduce the digest computed at load.
    expect(await digestDirectory(stored.dir)).toBe(candidate.digest);
    for (const [file, mode] of modes(stored.dir)) {
      expect(mode, file).toBe(fs.statSync(file).isDirectory() ? '555' : '444');
    }
    // No temporary directory is left beside the entry.
    expect(fs.readdirSync(path.join(store, 'sha256'))).toEqual([candidate.digest]);
  });

  it('reuses an existing entry on a second promote of the same candidate, after re-verifying it', async () => {
    const root = examplesCopy();
    const store = tempDir('store');
    const candidate = await loadCandidate(path.join(root, 'fraud-v2'));
    const first = await storeCandidate(candidate, store);
    const before = fs.statSync(path.join(first.dir, 'model.json'));

    const again = await storeCandidate(await loadCandidate(path.join(root, 'fraud-v2')), store);
    expect(again).toEqual({ ...first, reused: true });
    const after = fs.statSync(path.join(first.dir, 'model.json'));
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]); // not rewritten

    // A tampered entry is not silently reused either.
    const model = path.join(first.dir, 'model.json');
    fs.chmodSync(model, 0o644);
    fs.appendFileSync(model, ' ');
    const refused = await storeCandidate(candidate, store).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ArtifactTamperedError);
    expect((refused as ArtifactTamperedError).expected).toBe(candidate.digest);
    expect((refused as ArtifactTamperedError).found).toMatch(/^[0-9a-f]{64}$/);
    expect((refused as ArtifactTamperedError).found).not.toBe(candidate.digest);
  });

  it('refuses a candidate whose artifact disappeared after it was loaded, naming the file (a config error)', async () => {
    const root = examplesCopy();
    const store = tempDir('store');
    const candidate = await loadCandidate(path.join(root, 'fraud-v3'));
    fs.rmSync(path.join(root, 'fraud-v3', 'model.json'));
    const error = await storeCandidate(candidate, store).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('"model.json" does not exist');
    expect(fs.readdirSync(path.join(store, 'sha256'))).toEqual([]); // nothing half-stored
  });

  it('refuses a candidate changed between load and store', async () => {
    const root = examplesCopy();
    const store = tempDir('store');
    const candidate = await loadCandidate(path.join(root, 'fraud-v1'));
    fs.appendFileSync(path.join(root, 'fraud-v1', 'candidate.yaml'), '# edited\n');
    const error = await storeCandidate(candidate, store).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('changed while it was being stored');
    expect(fs.existsSync(artifactEntryDir(store, candidate.digest))).toBe(false);
  });

  it('verifies a directory byte for byte: a changed byte, an added file or a link is a mismatch', async () => {
    const root = examplesCopy();
    const candidate = await loadCandidate(path.join(root, 'fraud-v2'));
    const { dir } = await storeCandidate(candidate, tempDir('store'));
    const release = tempDir('release');
    fs.cpSync(dir, release, { recursive: true });
    for (const f of fs.readdirSync(release)) fs.chmodSync(path.join(release, f), 0o644);
    fs.chmodSync(release, 0o755);
    await verifyDirectory(release, candidate.digest);

    const model = path.join(release, 'model.json');
    const bytes = fs.readFileSync(model);
    bytes[0] ^= 1;
    fs.writeFileSync(model, bytes);
    await expect(verifyDirectory(release, candidate.digest)).rejects.toThrow(
      new RegExp(`expected sha256 ${candidate.digest}, found sha256 [0-9a-f]{64}`),
    );
    bytes[0] ^= 1;
    fs.writeFileSync(model, bytes);
    await verifyDirectory(release, candidate.digest);

    fs.writeFileSync(path.join(release, 'sitecustomize.py'), 'import os\n');
    await expect(verifyDirectory(release, candidate.digest)).rejects.toBeInstanceOf(ArtifactTamperedError);
    fs.rmSync(path.join(release, 'sitecustomize.py'));

    fs.symlinkSync('/etc/passwd', path.join(release, 'extra'));
    const linked = await verifyDirectory(release, candidate.digest).catch((e: unknown) => e);
    expect((linked as ArtifactTamperedError).found).toBe('"extra", which is not a regular file');
  });

  it('names entries by a sha256 digest only', () => {
    expect(() => artifactEntryDir('/store', '../../etc')).toThrow(/64 hex digits/);
  });
});

// The artifact store: $STRATA_HOME/artifacts/sha256/<digest>/ holds a candidate exactly as promoted
// (candidate.yaml and every artifact at its path in the release), read-only. Promote writes the
// entry; every deploy, rollback and restart re-verifies what it is about to run against the digest,
// so a file changed after promote is refused instead of served.

import fs from 'node:fs';
import path from 'node:path';
import { candidateFiles, fileSha256, type ManifestEntry, manifestDigest } from '../config/candidate';
import type { CandidateRef } from '../domain/ladder';
import { ConfigError } from '../validation/errors';
import { ArtifactMissingError, ArtifactTamperedError, DIGEST_PATTERN } from './errors';

export { ArtifactMissingError, ArtifactTamperedError };

/** The store entry of a digest: <root>/sha256/<digest>. */
export function artifactEntryDir(root: string, digest: string): string {
  if (!DIGEST_PATTERN.test(digest)) throw new Error(`expected a sha256 digest of 64 hex digits, got "${digest}"`);
  return path.join(root, 'sha256', digest);
}

/**
 * The digest of what a directory holds now: every regular file under it, by its relative path,
 * in the manifest. Anything else (a link, a device) cannot be part of a candidate: the answer is
 * then a description of the problem rather than a digest.
 */
export async function digestDirectory(dir: string): Promise<string> {
  const entries: ManifestEntry[] = [];
  const walk = async (rel: string): Promise<string | undefined> => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const relPath = rel === '' ? name : `${rel}/${name}`;
      const info = fs.lstatSync(path.join(dir, relPath));
      if (info.isDirectory()) {
        const problem = await walk(relPath);
        if (problem) return problem;
      } else if (info.isFile()) {
        entries.push({ path: relPath, sha256: await fileSha256(path.join(dir, relPath)) });
      } else {
        return `"${relPath}", which is not a regular file`;
      }
    }
    return undefined;
  };
  const problem = await walk('');
  return problem ?? manifestDigest(entries);
}

/** Throws ArtifactTamperedError unless `dir` holds exactly the files of `digest`. */
export async function verifyDirectory(dir: string, digest: string): Promise<void> {
  const found = await digestDirectory(dir);
  if (found !== digest) throw new ArtifactTamperedError(dir, digest, found);
}

/** Makes a tree read-only (files 0444, directories 0555), deepest first. */
function sealTree(dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) sealTree(full);
    else fs.chmodSync(full, 0o444);
  }
  fs.chmodSync(dir, 0o555);
}

/** Removes a tree sealTree made read-only (its directories must be writable again to empty them). */
export function removeSealedTree(dir: string): void {
  if (!fs.existsSync(dir)) return;
  const unseal = (d: string) => {
    fs.chmodSync(d, 0o755);
    for (const entry of fs.readdirSync(d, { withFileTypes: true }))
      if (entry.isDirectory()) unseal(path.join(d, entry.name));
  };
  unseal(dir);
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Puts a loaded candidate into the store under its digest: copied into a temporary directory,
 * verified against the digest (a file changed since it was loaded fails here), made read-only and
 * renamed into place. An entry that exists already is re-verified, never rewritten. A candidate
 * file that is missing is a ConfigError naming it.
 */
export async function storeCandidate(
  candidate: CandidateRef,
  root: string,
): Promise<{ dir: string; digest: string; reused: boolean }> {
  const dir = artifactEntryDir(root, candidate.digest);
  if (fs.existsSync(dir)) {
    await verifyDirectory(dir, candidate.digest);
    return { dir, digest: candidate.digest, reused: true };
  }
  const parent = path.dirname(dir);
  fs.mkdirSync(parent, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(parent, '.incoming-'));
  try {
    for (const file of candidateFiles(candidate)) {
      const target = path.join(tmp, file.path);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      try {
        fs.copyFileSync(file.source, target);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const message =
          code === 'ENOENT'
            ? `"${file.path}" does not exist (${file.source}); every listed artifact must be there at promote`
            : `cannot copy "${file.path}" from ${file.source}: ${(error as Error).message}`;
        throw new ConfigError(path.join(candidate.dir, 'candidate.yaml'), [{ path: 'artifacts', message }]);
      }
    }
    const found = await digestDirectory(tmp);
    if (found !== candidate.digest) {
      throw new ConfigError(candidate.dir, [
        {
          path: '',
          message: `the candidate's files changed while it was being stored (sha256 ${candidate.digest} when loaded, ${found} now); promote again`,
        },
      ]);
    }
    sealTree(tmp);
    try {
      fs.renameSync(tmp, dir);
    } catch (error) {
      // Another promote of the same candidate stored it first: keep theirs, after checking it.
      if (!fs.existsSync(dir)) throw error;
      removeSealedTree(tmp);
      await verifyDirectory(dir, candidate.digest);
      return { dir, digest: candidate.digest, reused: true };
    }
    return { dir, digest: candidate.digest, reused: false };
  } finally {
    if (fs.existsSync(tmp)) removeSealedTree(tmp);
  }
}

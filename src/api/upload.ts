// Remote promotion: the CLI sends a candidate's files (candidate.yaml and every artifact, by their
// path in the release) to `strata serve`, which stores them in its artifact store under the digest
// the CLI computed, after computing it again; a promotion then names that digest.

import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { artifactEntryDir, digestDirectory, removeSealedTree, storeCandidate } from '../artifacts/store';
import { candidateFiles, loadCandidate, MANIFEST_NAME } from '../config/candidate';
import type { CandidateRef } from '../domain/ladder';
import { ConfigError } from '../validation/errors';

/** The largest upload `strata serve` takes unless `--upload-limit` says otherwise (JSON, base64). */
export const DEFAULT_UPLOAD_LIMIT_MIB = 64;

export const DIGEST = /^[0-9a-f]{64}$/;

export const uploadSchema = z.strictObject({
  files: z
    .array(
      z.strictObject({
        path: z.string().min(1).describe("the file's path in the release, e.g. candidate.yaml or model/weights.json"),
        content: z
          .string()
          .regex(/^[A-Za-z0-9+/]*={0,2}$/)
          .describe("the file's bytes, base64"),
      }),
    )
    .min(1)
    .describe('candidate.yaml and every artifact it lists'),
});

export type CandidateUpload = z.infer<typeof uploadSchema>;

/** The upload was refused: a 400 naming the field and what was wrong. */
export class UploadRefusedError extends Error {
  override name = 'UploadRefusedError';
}

/** A candidate loaded from its folder, and the upload body that carries it (client side). */
export async function candidateUpload(dir: string): Promise<{ candidate: CandidateRef; upload: CandidateUpload }> {
  const candidate = await loadCandidate(dir);
  const files = candidateFiles(candidate).map((file) => ({
    path: file.path,
    content: fs.readFileSync(file.source).toString('base64'),
  }));
  return { candidate, upload: { files } };
}

/** A relative path inside the release: no absolute path, no `..`, no empty segment. */
function releasePath(raw: string, index: number): string {
  const segments = raw.split('/');
  if (path.isAbsolute(raw) || raw.includes('\\') || segments.some((s) => s === '' || s === '.' || s === '..'))
    throw new UploadRefusedError(
      `files[${index}].path: "${raw}" is not a relative path inside the candidate (no "..", no leading "/")`,
    );
  return raw;
}

/**
 * Stores an uploaded candidate in the artifact store under `digest` (server side): the files are
 * written to a scratch folder beside the store, their digest computed again and compared with the
 * one the client computed, candidate.yaml validated, and the candidate sealed into the store.
 */
export async function receiveCandidate(
  root: string,
  digest: string,
  upload: CandidateUpload,
): Promise<{ candidate: CandidateRef; reused: boolean }> {
  const seen = new Set<string>();
  upload.files.forEach((file, index) => {
    const rel = releasePath(file.path, index);
    if (seen.has(rel)) throw new UploadRefusedError(`files[${index}].path: "${rel}" is listed twice`);
    seen.add(rel);
  });
  if (!seen.has(MANIFEST_NAME)) throw new UploadRefusedError(`files: no ${MANIFEST_NAME} among the files`);
  const parent = path.join(root, 'uploads');
  fs.mkdirSync(parent, { recursive: true });
  const scratch = fs.mkdtempSync(path.join(parent, 'incoming-'));
  try {
    for (const file of upload.files) {
      const target = path.join(scratch, file.path);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, Buffer.from(file.content, 'base64'));
    }
    const found = await digestDirectory(scratch);
    if (found !== digest)
      throw new UploadRefusedError(
        `digest: the uploaded files have sha256 ${found}, not the ${digest} the client computed; nothing was stored`,
      );
    let candidate: CandidateRef;
    try {
      candidate = await loadCandidate(scratch, { installed: true });
    } catch (err) {
      if (err instanceof ConfigError) throw new UploadRefusedError(err.message.replaceAll(scratch, '<upload>'));
      throw err;
    }
    if (candidate.digest !== digest) {
      const listed = new Set(candidateFiles(candidate).map((f) => f.path));
      const extra = [...seen].filter((p) => !listed.has(p));
      throw new UploadRefusedError(
        `files: ${extra.map((p) => `"${p}"`).join(', ')} not listed in ${MANIFEST_NAME}'s artifacts; upload only the candidate's files`,
      );
    }
    const stored = await storeCandidate(candidate, root);
    return { candidate: { ...candidate, dir: stored.dir }, reused: stored.reused };
  } finally {
    removeSealedTree(scratch);
  }
}

/** A candidate uploaded before, from the artifact store, or a 400 saying to upload it. */
export async function uploadedCandidate(root: string, digest: string): Promise<CandidateRef> {
  const dir = artifactEntryDir(root, digest);
  if (!fs.existsSync(dir))
    throw new UploadRefusedError(
      `candidate: no uploaded candidate sha256 ${digest}; upload it first with PUT /candidates/${digest} (strata promote does)`,
    );
  const candidate = await loadCandidate(dir, { installed: true });
  if (candidate.digest !== digest)
    throw new UploadRefusedError(`candidate: the stored entry sha256 ${digest} no longer matches its digest`);
  return candidate;
}

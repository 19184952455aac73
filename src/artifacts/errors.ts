// The artifact store's errors on their own, so that the CLI can report them without loading the
// candidate schema (zod, yaml).

export const DIGEST_PATTERN = /^[0-9a-f]{64}$/;

/** A directory that should hold a candidate does not match the digest it was promoted with. */
export class ArtifactTamperedError extends Error {
  override name = 'ArtifactTamperedError';
  constructor(
    /** The directory checked: a store entry or a release directory. */
    readonly where: string,
    readonly expected: string,
    /** The digest its files have now; what is wrong with them when no digest could be computed. */
    readonly found: string,
  ) {
    super(
      `${where} does not match its digest: expected sha256 ${expected}, found ${DIGEST_PATTERN.test(found) ? `sha256 ${found}` : found}; ` +
        'its files changed after promote, so Strata refuses to run them (promote the candidate again)',
    );
  }
}

/** The store has no entry for a digest (the candidate was never promoted through this store). */
export class ArtifactMissingError extends Error {
  override name = 'ArtifactMissingError';
  constructor(
    readonly where: string,
    readonly expected: string,
  ) {
    super(
      `the artifact store has no entry sha256 ${expected} (${where}); ` +
        '`strata promote` stores the candidate there, and workers must share $STRATA_HOME/artifacts with it',
    );
  }
}

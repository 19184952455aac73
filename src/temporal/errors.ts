// The errors of Temporal calls that the CLI reports by class (src/cli/errors.ts), in a module that
// imports nothing: reporting them must not load the Temporal client, gRPC or the workflow
// package, which `strata status` in API mode never uses. Their modules re-export them.

/** Nothing answers at the Temporal address. The message says how to fix it in one line. */
export class TemporalUnreachableError extends Error {
  override name = 'TemporalUnreachableError';
  constructor(readonly address: string) {
    super(
      `no Temporal server at ${address}: start one with \`strata up\` (in another terminal), ` +
        'or set TEMPORAL_ADDRESS to a running server',
    );
  }
}

export class PromotionNotFoundError extends Error {
  override name = 'PromotionNotFoundError';
  constructor(readonly id: string) {
    super(`no promotion with id "${id}" (see \`strata list\`)`);
  }
}

export class EnvironmentNotFoundError extends Error {
  override name = 'EnvironmentNotFoundError';
  constructor(readonly layer: string) {
    super(
      `no environment workflow for layer "${layer}" yet: it starts with the first promotion or drill into that layer`,
    );
  }
}

export class LadderNotFoundError extends Error {
  override name = 'LadderNotFoundError';
  constructor(
    readonly ladder: string,
    version?: number,
  ) {
    super(
      version === undefined
        ? `no ladder named "${ladder}" (strata ladder ls; strata ladder apply FILE stores one)`
        : `ladder "${ladder}" has no version ${version} (strata ladder history ${ladder})`,
    );
  }
}

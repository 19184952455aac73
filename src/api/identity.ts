// Who is behind an API request, once verified. The server builds every actor string it hands to
// the workflows from this, never from a field of the request.

/** The issuer of identities that come from Strata's own API tokens. */
export const TOKEN_ISSUER = 'strata-token';

export interface VerifiedIdentity {
  /** The OIDC issuer URL, or `strata-token` for an API token. */
  issuer: string;
  /** The OIDC `sub` claim, or the API token's name. */
  subject: string;
  /** For people to read (the configured display claim: email or name; the token's name). Never compared. */
  display: string;
  /** OIDC groups (the configured groups claim); empty for API tokens. */
  groups: string[];
  via: 'oidc' | 'token';
}

/**
 * Verifies a bearer credential of one kind: the identity, or undefined when the credential is not
 * one this verifier accepts (or is invalid, expired, revoked). The OIDC verifier (`verifyBearer`
 * in src/api/oidc.ts) plugs in here; the token store is the other one.
 */
export type BearerVerifier = (token: string) => Promise<VerifiedIdentity | undefined>;

/**
 * The actor the server sends to the workflows: `<issuer>#<subject>`. Stable (a changed email or
 * name does not change it) and unique across issuers, so "the initiator may not approve" compares
 * issuer + subject, not display names. The workflows compare it exactly (OIDC subjects are
 * case-sensitive: `Alice` and `alice` of one issuer are two people); see src/domain/identity.ts.
 */
export function actorOf(identity: VerifiedIdentity): string {
  return `${identity.issuer}#${identity.subject}`;
}

/** How the server verified the actor, for the audit trail (`api (<this>)`). */
export function authOf(identity: VerifiedIdentity): string {
  return identity.via === 'token'
    ? `token ${identity.subject}`
    : `oidc ${identity.issuer}${identity.display ? ` as ${identity.display}` : ''}`;
}

/**
 * How two identities compare.
 * - `exact-verified`: a verified identity (`<issuer>#<subject>`, as the API server sends it) is
 *   compared exactly, because OIDC subjects are case-sensitive: `https://idp#Alice` and
 *   `https://idp#alice` are two people. Free text (local mode's `--as`) is trimmed and case-folded.
 * - `folded`: everything trimmed and case-folded, as workflows started before the
 *   `exact-verified-subjects` patch compared it (their histories replay that way).
 */
export type IdentityComparison = 'exact-verified' | 'folded';

/** `<issuer>#<subject>`: an API token's (`strata-token#<name>`) or an OIDC issuer URL's. */
const VERIFIED = /^(strata-token|[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s#]+)#\S/;

/** Whether `raw` is a verified identity as the API server writes it (`<issuer>#<subject>`). */
export function isVerifiedIdentity(raw: string): boolean {
  return VERIFIED.test(raw.trim());
}

/** The form identities are compared in (see IdentityComparison). */
export function normalizeIdentity(raw: string, comparison: IdentityComparison = 'exact-verified'): string {
  const trimmed = raw.trim();
  return comparison === 'exact-verified' && VERIFIED.test(trimmed) ? trimmed : trimmed.toLowerCase();
}

/**
 * An approval policy entry `group:<name>` admits anyone whose verified identity is in group
 * `<name>` at decision time (the API server passes the groups with the approval).
 */
export const GROUP_PREFIX = 'group:';

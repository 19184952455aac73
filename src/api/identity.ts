// Who is behind a request to `strata serve`: a verified identity, from an OIDC bearer JWT or an API
// token. Identities are compared on issuer + subject, never on display names.

export interface VerifiedIdentity {
  issuer: string;
  subject: string;
  display: string;
  groups: string[];
  via: 'oidc' | 'token';
  tokenName?: string;
}

// access.yaml: who holds which role at the API door. OIDC groups, OIDC subjects and API token
// names are mapped to roles; an API token also holds the role it was created with.

import { z } from 'zod';
import { parseYamlMapping, readConfigFile } from '../config/yaml';
import { ConfigError, validate } from '../validation/errors';
import { actorOf, type VerifiedIdentity } from './identity';
import { parseRole, ROLE_SYNTAX, type Role } from './roles';

const roleSchema = z
  .string()
  .refine((raw) => parseRole(raw) !== undefined, {
    error: (issue) => `expected ${ROLE_SYNTAX}, got ${JSON.stringify(issue.input)}`,
  })
  .transform((raw) => parseRole(raw)!);

const names = z.array(z.string().trim().min(1));

const grantSchema = z
  .strictObject({
    role: roleSchema,
    /** API token names. */
    tokens: names.optional(),
    /** OIDC groups (the groups claim). */
    groups: names.optional(),
    /** Verified identities, as `<issuer>#<subject>`. */
    subjects: names.optional(),
  })
  .refine((g) => (g.tokens?.length ?? 0) + (g.groups?.length ?? 0) + (g.subjects?.length ?? 0) > 0, {
    error: 'a grant must name at least one of tokens, groups or subjects',
  });

export const oidcSchema = z.strictObject({
  /** The issuer URL; its discovery document names the JWKS. */
  issuer: z.url(),
  /** The audience a token must carry. */
  audience: z.string().trim().min(1),
  /** The claim shown as the actor's name. @default email */
  displayClaim: z.string().trim().min(1).default('email'),
  /** The claim holding the identity's groups. @default groups */
  groupsClaim: z.string().trim().min(1).default('groups'),
  /** Signature algorithms accepted. @default [RS256, ES256, EdDSA] */
  algorithms: z.array(z.string().trim().min(1)).min(1).default(['RS256', 'ES256', 'EdDSA']),
  /**
   * The web inbox's client id at the issuer (authorization code + PKCE, a public client). Unset: the
   * web inbox at `/` says sign-in is not configured. See docs/web.md.
   */
  webClientId: z.string().trim().min(1).optional(),
  /**
   * The redirect URI registered for that client, e.g. https://strata.example/ui/callback.
   * @default <the URL the browser used>/ui/callback
   */
  webRedirectUri: z.url().optional(),
});

export const accessSchema = z.strictObject({
  oidc: oidcSchema.optional(),
  grants: z.array(grantSchema).default([]),
});

export type AccessPolicy = z.output<typeof accessSchema>;
export type OidcConfig = z.output<typeof oidcSchema>;

/** No access.yaml: tokens hold the role they were created with, and nothing else is granted. */
export const EMPTY_ACCESS: AccessPolicy = { grants: [] };

/** Validates the text of an access.yaml; `file` names it in errors. Throws ConfigError. */
export function parseAccess(text: string, file: string): AccessPolicy {
  const document = parseYamlMapping(text, file, 'an access policy: a mapping with `grants` (and `oidc`)');
  const result = validate(accessSchema, document);
  if (!result.success) throw new ConfigError(file, result.issues);
  return result.data;
}

export function loadAccess(file: string): AccessPolicy {
  return parseAccess(readConfigFile(file), file);
}

/**
 * The roles `identity` holds under `policy`: the grants naming its token, its subject or one of
 * its groups, plus `tokenRole` (the role an API token was created with).
 */
export function rolesOf(policy: AccessPolicy, identity: VerifiedIdentity, tokenRole?: Role): Role[] {
  const roles = new Set<Role>(tokenRole ? [tokenRole] : []);
  const actor = actorOf(identity);
  for (const grant of policy.grants) {
    const byToken = identity.via === 'token' && (grant.tokens ?? []).includes(identity.subject);
    const bySubject = (grant.subjects ?? []).includes(actor);
    const byGroup = identity.via === 'oidc' && (grant.groups ?? []).some((g) => identity.groups.includes(g));
    if (byToken || bySubject || byGroup) roles.add(grant.role);
  }
  return [...roles].sort();
}

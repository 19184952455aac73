/** Identities are compared trimmed and case-folded: " Alice " and "alice" are one approver. */
export function normalizeIdentity(raw: string): string {
  return raw.trim().toLowerCase();
}

/**
 * An approval policy entry `group:<name>` admits anyone whose verified identity is in group
 * `<name>` at decision time (the API server passes the groups with the approval).
 */
export const GROUP_PREFIX = 'group:';

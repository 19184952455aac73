/** Identities are compared trimmed and case-folded: " Alice " and "alice" are one approver. */
export function normalizeIdentity(raw: string): string {
  return raw.trim().toLowerCase();
}

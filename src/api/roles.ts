// The roles of the API door and what each one may do.

/** `approver:<group>` approves layers whose policy names `group:<group>` (or the approver directly). */
export type Role = 'operator' | 'steward' | 'auditor' | 'admin' | `approver:${string}`;

const PLAIN_ROLES = ['operator', 'steward', 'auditor', 'admin'] as const;
const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** The role `raw` names, or undefined. */
export function parseRole(raw: string): Role | undefined {
  const value = raw.trim();
  if ((PLAIN_ROLES as readonly string[]).includes(value)) return value as Role;
  const group = /^approver:(.*)$/.exec(value)?.[1];
  return group !== undefined && GROUP_NAME.test(group) ? (value as Role) : undefined;
}

export const ROLE_SYNTAX = `one of ${PLAIN_ROLES.join(', ')} or approver:<group>`;

/**
 * What a route needs: one role, any `approver:<group>`, or just a verified identity (`reader`:
 * status, list, ladders and environments are readable by every role).
 */
export type Requirement = Role | 'approver' | 'reader';

export function satisfies(roles: readonly Role[], needed: Requirement): boolean {
  if (needed === 'reader') return roles.length > 0;
  if (needed === 'approver') return roles.some((r) => r.startsWith('approver:'));
  return roles.includes(needed);
}

/** The groups named by the `approver:<group>` roles among `roles`. */
export function approverGroups(roles: readonly Role[]): string[] {
  return roles.filter((r) => r.startsWith('approver:')).map((r) => r.slice('approver:'.length));
}

export function describeRequirement(needed: Requirement): string {
  if (needed === 'approver') return 'approver:<group>';
  if (needed === 'reader') return 'any role';
  return needed;
}

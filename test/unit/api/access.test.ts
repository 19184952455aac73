import { describe, expect, it } from 'vitest';
import { parseAccess, rolesOf } from '../../../src/api/access';
import { actorOf, authOf, type VerifiedIdentity } from '../../../src/api/identity';
import { approverGroups, parseRole, satisfies } from '../../../src/api/roles';
import { parseLadder } from '../../../src/config/ladder';
import { ConfigError } from '../../../src/validation/errors';

const token = (name: string): VerifiedIdentity => ({
  issuer: 'strata-token',
  subject: name,
  display: name,
  groups: [],
  via: 'token',
});
const person: VerifiedIdentity = {
  issuer: 'https://id.example',
  subject: 'u-123',
  display: 'alice@example.com',
  groups: ['release-managers', 'staff'],
  via: 'oidc',
};

function issuesOf(text: string): string[] {
  try {
    parseAccess(text, 'access.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message.split('\n');
  }
  throw new Error('expected a ConfigError');
}

describe('access.yaml', () => {
  it('maps token names, OIDC groups and subjects to roles; a token keeps its own role', () => {
    const policy = parseAccess(
      `
oidc: { issuer: https://id.example, audience: strata }
grants:
  - { role: operator, tokens: [ci-bot] }
  - { role: approver:release, groups: [release-managers] }
  - { role: auditor, subjects: ["https://id.example#u-123"] }
  - { role: admin, groups: [ci-bot] }
`,
      'access.yaml',
    );
    expect(policy.oidc).toMatchObject({
      displayClaim: 'email',
      groupsClaim: 'groups',
      algorithms: ['RS256', 'ES256', 'EdDSA'],
    });
    expect(rolesOf(policy, token('ci-bot'), 'steward')).toEqual(['operator', 'steward']);
    // A token's name is not an OIDC group, and an OIDC group is not a token name.
    expect(rolesOf(policy, token('release-managers'))).toEqual([]);
    expect(rolesOf(policy, person)).toEqual(['approver:release', 'auditor']);
    expect(rolesOf(policy, { ...person, subject: 'u-999' })).toEqual(['approver:release']);
  });

  it('names the file and the field of each mistake', () => {
    const issues = issuesOf(`
oidc: { issuer: not-a-url, audience: strata, colour: blue }
grants:
  - { role: boss, tokens: [x] }
  - { role: "approver:", tokens: [x] }
  - { role: operator }
  - { role: auditor, tokens: [""] }
`);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^access\.yaml: oidc\.issuer: /),
        expect.stringMatching(/^access\.yaml: oidc\.colour: unknown key "colour"/),
        expect.stringMatching(
          /^access\.yaml: grants\[0\]\.role: expected one of operator, steward, auditor, admin or approver:<group>, got "boss"/,
        ),
        expect.stringMatching(/^access\.yaml: grants\[1\]\.role: expected one of/),
        'access.yaml: grants[2]: a grant must name at least one of tokens, groups or subjects',
        'access.yaml: grants[3].tokens[0]: must not be empty',
      ]),
    );
    expect(issuesOf('[1, 2]')[0]).toContain('access.yaml: expected an access policy');
  });
});

describe('roles and identities', () => {
  it('parses roles and checks requirements', () => {
    expect(parseRole('approver:release')).toBe('approver:release');
    expect(parseRole('approver:')).toBeUndefined();
    expect(parseRole('root')).toBeUndefined();
    expect(satisfies(['approver:release'], 'approver')).toBe(true);
    expect(satisfies(['operator'], 'approver')).toBe(false);
    expect(satisfies(['admin'], 'operator')).toBe(false);
    expect(satisfies([], 'reader')).toBe(false);
    expect(satisfies(['steward'], 'reader')).toBe(true);
    expect(approverGroups(['operator', 'approver:a', 'approver:b'])).toEqual(['a', 'b']);
  });

  it('the actor is issuer#subject: stable across display names, distinct across issuers', () => {
    expect(actorOf(person)).toBe('https://id.example#u-123');
    expect(actorOf({ ...person, display: 'Alice Renamed' })).toBe(actorOf(person));
    expect(actorOf({ ...person, issuer: 'https://other.example' })).not.toBe(actorOf(person));
    expect(authOf(token('ci-bot'))).toBe('token ci-bot');
    expect(authOf(person)).toBe('oidc https://id.example as alice@example.com');
  });
});

describe('ladder approvers naming groups', () => {
  it('a group:<name> entry may stand for several approvers: no "impossible quorum" for it', () => {
    const ladder = parseLadder(
      `name: l\nlayers:\n  - name: traffic\n    seed: { rows: 10, seed: 1 }\n    gates: []\n    approval: { required: 2, approvers: [group:Release] }\n`,
      'l.yaml',
    );
    expect(ladder.layers[0].approval).toMatchObject({ required: 2, approvers: ['group:release'] });
    expect(() =>
      parseLadder(
        `name: l\nlayers:\n  - name: traffic\n    seed: { rows: 10, seed: 1 }\n    gates: []\n    approval: { required: 2, approvers: [alice] }\n`,
        'l.yaml',
      ),
    ).toThrow(/required 2 approvals but only 1 distinct approver is listed/);
  });
});

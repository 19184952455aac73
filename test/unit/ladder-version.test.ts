import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLadder, parseLadder } from '../../src/config/ladder';
import { ladderDigest } from '../../src/config/ladder-digest';
import {
  canonicalJson,
  decideApply,
  describeActor,
  diffLadders,
  type LadderVersion,
  renderLadderDiff,
} from '../../src/domain/ladder-version';

const EXAMPLE = path.resolve(__dirname, '../../examples/ladder.yaml');

const small = (approvers: string, required = 1, extra = '') =>
  parseLadder(
    `name: shop
layers:
  - name: sandbox
    seed: { rows: 10, seed: 1 }
    gates: [{ type: schema }]
    approval: auto
  - name: traffic
    seed: { rows: 10, seed: 1 }
    gates: [{ type: schema }${extra}]
    approval: { required: ${required}, approvers: [${approvers}] }
`,
    'shop.yaml',
  );

describe('ladder digest', () => {
  it('is the same for the same ladder whatever the key order, and changes with any field', () => {
    expect(canonicalJson({ b: 1, a: [2, { d: 1, c: undefined }] })).toBe('{"a":[2,{"d":1}],"b":1}');
    const a = small('alice, bob');
    const reordered = JSON.parse(JSON.stringify({ layers: a.layers, name: a.name }));
    expect(ladderDigest(reordered)).toBe(ladderDigest(a));
    expect(ladderDigest(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(ladderDigest(small('alice, bob', 2))).not.toBe(ladderDigest(a));
    expect(ladderDigest(loadLadder(EXAMPLE))).toBe(ladderDigest(loadLadder(EXAMPLE)));
  });
});

describe('ladder diff', () => {
  it('names each changed field by layer and gate name', () => {
    const before = small('alice, bob');
    const after = small('alice, carol', 2, ', { type: schema, name: strict-schema }');
    const changes = diffLadders(before, after);
    const paths = changes.map((c) => `${c.kind} ${c.path}`);
    expect(paths).toContain('changed layers[traffic].approval.required');
    expect(paths).toContain('changed layers[traffic].approval.approvers');
    expect(paths.some((p) => p.startsWith('added layers[traffic].gates.strict-schema'))).toBe(true);
    expect(paths.some((p) => p.includes('sandbox'))).toBe(false);
    const text = renderLadderDiff(changes);
    expect(text).toContain('~ layers[traffic].approval.required: 1 → 2');
    expect(text).toContain('+ layers[traffic].gates.strict-schema');
  });

  it('shows added and removed layers, a first version, and no change', () => {
    const two = small('alice');
    const one = { name: 'shop', layers: [two.layers[1]] };
    expect(diffLadders(two, one)).toEqual([{ path: 'layers[sandbox]', kind: 'removed' }]);
    expect(diffLadders(null, two).map((c) => c.path)).toEqual(['layers[sandbox]', 'layers[traffic]']);
    expect(renderLadderDiff(diffLadders(two, small('alice')))).toBe('  (no changes)');
    const swapped = { name: 'shop', layers: [two.layers[1], two.layers[0]] };
    expect(diffLadders(two, swapped)).toEqual([
      { path: 'layers (order)', kind: 'changed', before: 'sandbox → traffic', after: 'traffic → sandbox' },
    ]);
  });
});

describe('decideApply', () => {
  const ladder = small('alice');
  const digest = ladderDigest(ladder);
  const stored: LadderVersion = {
    version: 1,
    digest,
    ladder,
    actor: 'alice',
    authenticated: false,
    reason: 'first',
    at: '2026-01-01T00:00:00.000Z',
  };

  it('needs an identity, a reason, the entity name and a digest', () => {
    expect(decideApply('shop', [], { ladder, digest, actor: ' ', reason: 'x' })).toMatchObject({ kind: 'refused' });
    expect(decideApply('shop', [], { ladder, digest, actor: 'a', reason: '' })).toMatchObject({ kind: 'refused' });
    expect(decideApply('other', [], { ladder, digest, actor: 'a', reason: 'x' })).toMatchObject({ kind: 'refused' });
    expect(decideApply('shop', [], { ladder, digest: 'abc', actor: 'a', reason: 'x' })).toMatchObject({
      kind: 'refused',
    });
  });

  it('stores a new version, unauthenticated whatever the client says; the same digest is a no-op', () => {
    const first = decideApply('shop', [], { ladder, digest, actor: ' Alice ', reason: 'first' });
    expect(first).toMatchObject({ kind: 'new', version: { version: 1, actor: 'alice', authenticated: false } });
    expect(decideApply('shop', [stored], { ladder, digest, actor: 'bob', reason: 'again' })).toMatchObject({
      kind: 'unchanged',
    });
    const next = small('alice', 1, ', { type: schema, name: strict-schema }');
    expect(
      decideApply('shop', [stored], { ladder: next, digest: ladderDigest(next), actor: 'bob', reason: 'slo' }),
    ).toMatchObject({ kind: 'new', version: { version: 2 } });
    expect(describeActor(stored)).toBe('alice (local, unauthenticated)');
  });
});

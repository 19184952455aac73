import path from 'node:path';
import { parseLadder } from '../../src/config/ladder';
import { loadCandidate } from '../../src/config/candidate';
import type { CandidateRef, LadderSpec } from '../../src/domain/ladder';
import { EXAMPLES } from './harness';

/** A small, fast ladder with the example's shape: two automatic layers, then approvals. */
/** The YAML of a small, fast ladder with the example's shape: two automatic layers, then approvals. */
export function testLadderYaml(opts: { name?: string; expiry?: string; rollback?: 'previous' | 'keep' } = {}): string {
  const expiry = opts.expiry ?? '1h';
  return `
name: ${opts.name ?? 'test-ladder'}
defaults: { rollback: ${opts.rollback ?? 'previous'} }
layers:
  - name: sandbox
    seed: { rows: 1000, seed: 1 }
    gates:
      - { type: schema }
      - { type: consistency }
      - { type: quality, threshold: 0.6 }
      - { type: latency, threshold: 2000, options: { requests: 20 } }
    approval: auto
  - name: integration
    seed: { rows: 1000, seed: 2 }
    gates:
      - { type: schema }
      - { type: quality, threshold: 0.78 }
    approval: auto
  - name: traffic
    seed: { rows: 1000, seed: 3 }
    gates:
      - { type: quality, threshold: 0.78 }
    approval: { required: 1, approvers: [alice, bob], expiry: ${expiry} }
  - name: mirror
    seed: { rows: 1000, seed: 5 }
    gates:
      - { type: quality, threshold: 0.78 }
    approval: { required: 2, approvers: [Alice, bob, carol], expiry: ${expiry} }
`;
}

export function testLadder(opts: { expiry?: string; rollback?: 'previous' | 'keep' } = {}): LadderSpec {
  return parseLadder(testLadderYaml(opts), 'test-ladder.yaml');
}

export function exampleCandidate(name: 'fraud-v1' | 'fraud-v2' | 'fraud-v3'): Promise<CandidateRef> {
  return loadCandidate(path.join(EXAMPLES, 'candidates', name));
}

import { createHash } from 'node:crypto';
import type { LadderSpec } from '../domain/ladder';
import { digestInput } from '../domain/ladder-version';

/** sha256 (hex) of the ladder's canonical JSON: its name and validated layers. */
export function ladderDigest(ladder: LadderSpec): string {
  return createHash('sha256').update(digestInput(ladder)).digest('hex');
}

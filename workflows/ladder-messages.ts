import { defineQuery, defineUpdate } from './define';
import type { LadderApplyReply, LadderApplyRequest, LadderVersion } from '../src/domain/ladder-version';

// Messages of the ladder entity workflow (one per ladder name). Clients import these.

/**
 * Store a new version of the ladder. An Update rather than a Signal: the caller learns at once
 * whether it was stored, refused (no identity, no reason, wrong name) or unchanged, and every
 * attempt, refused or not, stays in the ladder's history.
 */
export const ladderApplyUpdate = defineUpdate<LadderApplyReply, [LadderApplyRequest]>('apply');

/** Every version, oldest first. */
export const ladderVersionsQuery = defineQuery<LadderVersion[]>('versions');
/** The memo key holding the current version (a LadderVersion), since patch ladder-current-memo. */
export const LADDER_CURRENT_MEMO = 'current';
/** One version (null: the current one); null when there is no such version. */
export const ladderVersionQuery = defineQuery<LadderVersion | null, [number | null]>('version');

export interface LadderInput {
  name: string;
  /** Carried across continue-as-new. */
  versions?: LadderVersion[];
  /** Continue as new past this many history events (default 2 000). */
  maxHistoryEvents?: number;
}

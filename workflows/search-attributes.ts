// From the file that defines them: clients reading status load no more of @temporalio/common
// (src/temporal/sdk-common.ts says why).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common/lib/search-attributes';

// Keys shared by workflows (which upsert them) and clients (which filter on them).
export const CANDIDATE_KEY = defineSearchAttributeKey('StrataCandidate', SearchAttributeType.KEYWORD);
export const VERSION_KEY = defineSearchAttributeKey('StrataVersion', SearchAttributeType.KEYWORD);
export const LAYER_KEY = defineSearchAttributeKey('StrataLayer', SearchAttributeType.KEYWORD);
/** A layer's phase (layer workflows); promotions started before StrataState kept their state here too. */
export const PHASE_KEY = defineSearchAttributeKey('StrataPhase', SearchAttributeType.KEYWORD);
/** A promotion's state: running, awaiting-approval, promoted, failed, aborted. */
export const STATE_KEY = defineSearchAttributeKey('StrataState', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTE_NAMES = [
  CANDIDATE_KEY.name,
  VERSION_KEY.name,
  LAYER_KEY.name,
  PHASE_KEY.name,
  STATE_KEY.name,
];

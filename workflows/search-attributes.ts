import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Keys shared by workflows (which upsert them) and clients (which filter on them).
export const CANDIDATE_KEY = defineSearchAttributeKey('StrataCandidate', SearchAttributeType.KEYWORD);
export const VERSION_KEY = defineSearchAttributeKey('StrataVersion', SearchAttributeType.KEYWORD);
export const LAYER_KEY = defineSearchAttributeKey('StrataLayer', SearchAttributeType.KEYWORD);
export const PHASE_KEY = defineSearchAttributeKey('StrataPhase', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTE_NAMES = [CANDIDATE_KEY.name, VERSION_KEY.name, LAYER_KEY.name, PHASE_KEY.name];

// The ids of workflows/generation.ts, without @temporalio/workflow: history readers (clients) import them.

/** The patch marker of the generation (see workflows/generation.ts). */
export const GENERATION = 'generation-2026-12';

/** The patches the generation stands for: every one asked through `since` (a history reader asks too). */
export const FOLDED_PATCHES = [
  'sealed-decisions',
  'exact-verified-subjects',
  'evidence-digest',
  'environment-lease',
  'populate-environment',
  'approval-notices',
  'approval-reminders',
  'strata-state-search-attribute',
  'server-side-ladder',
  'verified-lease',
  'lease-request-renewed',
  'lease-holder-closed',
  'lease-claim-final',
  'lease-claim-survives',
  'rotation-after-first-period',
  'version-events-at-release',
  'lease-answer-in-request',
] as const;
export type FoldedPatch = (typeof FOLDED_PATCHES)[number];

import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { decideApply, LADDER_REFUSED, type LadderVersion } from '../src/domain/ladder-version';
import { type LadderInput, ladderApplyUpdate, ladderVersionQuery, ladderVersionsQuery } from './ladder-messages';

/** Continue as new well before the history gets heavy (each apply carries a whole ladder). */
const MAX_HISTORY_EVENTS = 2_000;

/**
 * A ladder as a long-lived entity: the versions applied to it, each with its digest, who applied
 * it and why. Promotions name a ladder and read their version from here, so a promoter cannot hand
 * in layers, gates or approvers of their own.
 */
export async function ladder(input: LadderInput): Promise<void> {
  const versions: LadderVersion[] = input.versions ?? [];
  const maxHistory = input.maxHistoryEvents ?? MAX_HISTORY_EVENTS;

  setHandler(ladderVersionsQuery, () => versions);
  setHandler(
    ladderVersionQuery,
    (n) => (n == null ? versions[versions.length - 1] : versions.find((v) => v.version === n)) ?? null,
  );

  setHandler(ladderApplyUpdate, (req) => {
    const decision = decideApply(input.name, versions, req);
    if (decision.kind === 'refused') throw ApplicationFailure.nonRetryable(decision.reason, LADDER_REFUSED);
    const previous = versions[versions.length - 1] ?? null;
    if (decision.kind === 'unchanged') return { changed: false, current: decision.current, previous };
    const stored: LadderVersion = { ...decision.version, at: new Date().toISOString() };
    versions.push(stored);
    return { changed: true, current: stored, previous };
  });

  await condition(() => workflowInfo().historyLength > maxHistory || workflowInfo().continueAsNewSuggested);
  // Let in-flight Updates reply before the run hands over to the next one.
  await condition(allHandlersFinished);
  await continueAsNew<typeof ladder>({ ...input, versions });
}

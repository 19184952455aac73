import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import { decideApply, LADDER_REFUSED, type LadderVersion } from '../src/domain/ladder-version';
import {
  LADDER_CURRENT_MEMO,
  type LadderInput,
  ladderApplyUpdate,
  ladderVersionQuery,
  ladderVersionsQuery,
} from './ladder-messages';

const LADDER_MEMO_PATCH = 'ladder-current-memo';

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

  // The current version also lives in the workflow's memo, which the server hands out on describe
  // without asking a worker: promotions read it there (resolveLadder), so a burst of them does not
  // queue one query each behind a busy worker's workflow tasks. Queries remain for older versions.
  const publish = (current: LadderVersion) => {
    if (patched(LADDER_MEMO_PATCH)) upsertMemo({ [LADDER_CURRENT_MEMO]: current });
  };
  if (versions.length > 0) publish(versions[versions.length - 1]);

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
    publish(stored);
    return { changed: true, current: stored, previous };
  });

  await condition(() => workflowInfo().historyLength > maxHistory || workflowInfo().continueAsNewSuggested);
  // Let in-flight Updates reply before the run hands over to the next one.
  await condition(allHandlersFinished);
  await continueAsNew<typeof ladder>({ ...input, versions });
}

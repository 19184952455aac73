import { patched } from '@temporalio/workflow';
import { type FoldedPatch, GENERATION } from './generation-ids';

export { FOLDED_PATCHES, type FoldedPatch, GENERATION } from './generation-ids';

/** Whether an earlier patch applies: always in this generation, else by its own marker. */
export type Since = (patch: FoldedPatch) => boolean;

/**
 * One patch marker for every patch before it. Each `patched()` of a new execution writes a marker
 * and an upsert of the TemporalChangeVersion search attribute: two history events and a visibility
 * write, eight times over at the start of every layer. A workflow started since this generation
 * asks `patched()` once, for the generation, and takes every earlier patch as applied without a
 * marker of its own. Histories from before it carry no generation marker: they answer each
 * earlier patch from its own marker, as before, so they replay unchanged. A patch added later is
 * asked with `patched()` as usual (or folded into the next generation).
 *
 * Rolling a worker back to code from before the generation would not replay workflows started
 * after it (their early patches have no markers): roll forward instead.
 *
 * Asks for the generation (a marker on a new execution) and returns the way to ask for a patch of it.
 */
export function generation(): Since {
  const current = patched(GENERATION);
  return (patch) => current || patched(patch);
}

// A deliberately non-deterministic variant of the layer workflow, used to prove the replay test
// fails when workflow code changes incompatibly.
import { sleep } from '@temporalio/workflow';
import type { LayerInput } from '../../src/domain/promotion';
import { layer as original } from '../../workflows/layer';

export { promotion } from '../../workflows/promotion';

export async function layer(input: LayerInput) {
  await sleep(10); // a new timer before the first activity: histories no longer match
  return original(input);
}

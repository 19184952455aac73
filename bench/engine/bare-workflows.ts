// The bare Temporal baseline of `npm run bench -- engine`: a workflow that runs `count` activities
// one after the other, each as cheap as a promotion's activities on the no-op provider.

import { proxyActivities } from '@temporalio/workflow';
import type { BareActivities } from './bare-activities';

const { noop } = proxyActivities<BareActivities>({ startToCloseTimeout: '1 minute' });

export async function bare(count: number): Promise<number> {
  for (let i = 0; i < count; i++) await noop(i);
  return count;
}

import { Context } from '@temporalio/activity';

export const bareActivities = {
  /** As cheap as an activity of a promotion on the no-op provider: one heartbeat, a small result. */
  async noop(i: number): Promise<{ i: number }> {
    Context.current().heartbeat();
    return { i };
  },
};
export type BareActivities = typeof bareActivities;

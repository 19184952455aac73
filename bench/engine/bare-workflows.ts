// The bare Temporal baselines of `npm run bench -- engine`: a workflow that runs `count` activities
// one after the other, each as cheap as a promotion's activities on the no-op provider; and, for
// the `shape` part, the same activities in plain Temporal workflows shaped like a promotion (its
// search-attribute upserts, its workflow executions, its environment hand-offs), none of Strata's
// code, to show what each part of that shape costs the server and the worker by itself.

import {
  condition,
  defineSignal,
  executeChild,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BareActivities } from './bare-activities';

const { noop } = proxyActivities<BareActivities>({ startToCloseTimeout: '1 minute' });

export async function bare(count: number): Promise<number> {
  for (let i = 0; i < count; i++) await noop(i);
  return count;
}

/** The activities with `upserts` StrataPhase upserts spread over them: what a promotion writes to visibility. */
export async function bareUpserts(count: number, upserts: number): Promise<number> {
  let done = 0;
  for (let i = 0; i < count; i++) {
    for (; done < Math.ceil(((i + 1) * upserts) / count); done++)
      upsertSearchAttributes({ StrataPhase: [`phase-${done}`] });
    await noop(i);
  }
  return count;
}

/** The promotion's executions without the rest: a parent running 3 children, `count / 3` activities each. */
export async function bareChildren(count: number): Promise<number> {
  for (let c = 0; c < 3; c++)
    await executeChild(bare, { workflowId: `${workflowInfo().workflowId}.c${c}`, args: [count / 3] });
  return count;
}

const release = defineSignal('release');
const granted = defineSignal('granted');

/** An environment entity: one activity and a phase as it grants, one when it is released. */
export async function bareEntity(holder: string): Promise<void> {
  let released = false;
  setHandler(release, () => void (released = true));
  upsertSearchAttributes({ StrataPhase: ['leased'] });
  await noop(0);
  await getExternalWorkflowHandle(holder).signal(granted);
  await condition(() => released);
  await noop(1);
}

/** What `bareShaped` leaves out, to see what each part of the shape costs. */
export interface ShapeParts {
  /** The environment entities (an execution, 2 activities, an upsert and 2 signals per layer). */
  entities: boolean;
  /** The promotion's and the layers' StrataPhase upserts. */
  upserts: boolean;
}

const ALL_PARTS: ShapeParts = { entities: true, upserts: true };

/** A layer: its environment entity granted, its activities with a phase each, the entity released. */
export async function bareLayer(count: number, parts: ShapeParts = ALL_PARTS): Promise<number> {
  const id = workflowInfo().workflowId;
  let leased = false;
  setHandler(granted, () => void (leased = true));
  const entity = parts.entities
    ? await startChild(bareEntity, {
        workflowId: `${id}.env`,
        args: [id],
        parentClosePolicy: ParentClosePolicy.ABANDON,
      })
    : undefined;
  if (entity) await condition(() => leased);
  for (let i = 0; i < count; i++) {
    if (parts.upserts) upsertSearchAttributes({ StrataPhase: [`phase-${i}`] });
    await noop(i);
  }
  await entity?.signal(release);
  return count;
}

/**
 * A promotion's whole shape in plain Temporal: 7 executions (the promotion, 3 layers, 3
 * environment entities), one activity of its own and five state upserts in the promotion, the
 * layers' `count / 3` activities with a phase upsert each, two activities, an upsert and two
 * signals per entity. `parts` leaves the entities or the upserts out.
 */
export async function bareShaped(count: number, parts: ShapeParts = ALL_PARTS): Promise<number> {
  const id = workflowInfo().workflowId;
  const phase = (name: string) => parts.upserts && upsertSearchAttributes({ StrataPhase: [name] });
  phase('running');
  await noop(-1);
  for (let c = 0; c < 3; c++) {
    phase(`layer-${c}`);
    await executeChild(bareLayer, { workflowId: `${id}.l${c}`, args: [count / 3, parts] });
  }
  phase('promoted');
  return count;
}

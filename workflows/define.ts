import type { QueryDefinition, SignalDefinition, UpdateDefinition } from '@temporalio/common';

// The message definitions as @temporalio/workflow's defineUpdate / defineSignal / defineQuery
// make them (a plain `{ type, name }`), without importing that package: clients import the
// *-messages.ts modules, and the workflow package's index loads some twenty modules a client
// never uses (`strata status` is a client). test/unit/workflows/define.test.ts checks that these
// make what the SDK's do.

export function defineUpdate<Ret, Args extends unknown[] = [], Name extends string = string>(
  name: Name,
): UpdateDefinition<Ret, Args, Name> {
  return { type: 'update', name } as UpdateDefinition<Ret, Args, Name>;
}

export function defineSignal<Args extends unknown[] = [], Name extends string = string>(
  name: Name,
): SignalDefinition<Args, Name> {
  return { type: 'signal', name } as SignalDefinition<Args, Name>;
}

export function defineQuery<Ret, Args extends unknown[] = [], Name extends string = string>(
  name: Name,
): QueryDefinition<Ret, Args, Name> {
  return { type: 'query', name } as QueryDefinition<Ret, Args, Name>;
}

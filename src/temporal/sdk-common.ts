// What the readers of histories (status, the audit trail, trace ids) use of @temporalio/common,
// from the files of the package that define it. The package's index loads its 46 modules (the
// failure converter, nexus-rpc, ...), 20–30 ms of a `strata status` over Temporal's HTTP API, whose
// bar is 300 ms as a process (issue 15; docs/benchmarks.md); these three files load 8. The names
// and classes are the same ones the index re-exports (`instanceof` holds across both).
export { defaultPayloadConverter } from '@temporalio/common/lib/converter/payload-converter';
export { WorkflowNotFoundError } from '@temporalio/common/lib/errors';
export { msToTs, tsToDate } from '@temporalio/common/lib/time';

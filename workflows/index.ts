// The worker bundles this file: every workflow type Strata registers.
export { promotion } from './promotion';
export { layer } from './layer';
export { environment } from './environment';
export { rollback } from './rollback';
export { drill } from './drill';
export { seedRun } from './seed-run';
export { ladder } from './ladder';
export { teardown } from './teardown';
export { auditExport } from './audit';

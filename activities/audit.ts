// The scheduled audit export: read the trail of this worker's task queue and write the next signed
// export under $STRATA_HOME/audit/ (src/audit/export.ts). Idempotent in effect: a retry exports only
// what the attempt before it did not record as exported.

import { ApplicationFailure, Context } from '@temporalio/activity';
import { AuditExportError, exportAuditTrail, type ExportSummary } from '../src/audit/export';
import { loadAuditKeyring } from '../src/audit/signing';
import { ConfigError } from '../src/validation/errors';
import { type ActivityDeps, withHeartbeat } from './support';

export function createAuditActivities({ client, paths }: ActivityDeps) {
  return {
    async exportAuditTrail(): Promise<ExportSummary> {
      if (!client) throw ApplicationFailure.nonRetryable('this worker has no Temporal client to read the trail with');
      let keyring;
      try {
        keyring = loadAuditKeyring();
      } catch (err) {
        // No keyring (or an unsafe one): retrying will not make one; the failure says what to do.
        if (err instanceof ConfigError) throw ApplicationFailure.nonRetryable(err.message, 'AuditKeyringMissing');
        throw err;
      }
      return withHeartbeat(async () => {
        try {
          return await exportAuditTrail({
            client,
            taskQueue: Context.current().info.taskQueue,
            home: paths.home,
            keyring,
          });
        } catch (err) {
          if (err instanceof AuditExportError) throw ApplicationFailure.retryable(err.message, 'AuditExportBusy');
          throw err;
        }
      });
    },
  };
}

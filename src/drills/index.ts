// The DR drill library: the Node side of `strata drill run` (the workflow and activities call it).
// A drill: snapshotTables → startWriter → backupDatabase → injectFault → waitForDetection →
// restoreDatabase (+ restart by the provider) → waitForHealthy → verifyRecovery → renderDrillReport.

export { DrillError } from './errors';
export { readAckLog, readAcks, type AckLog, type WriteAck, type WriterSummary } from './ack-log';
export { startWriter, stopWriter, summarizeWriter, type WriterHandle, type WriterOptions } from './writer';
export { backupDatabase, backupSummary, latestBackup, listBackups, snapshotTables, type BackupInfo } from './backup';
export { compareFingerprints, fingerprintTables, type TableFingerprint, type TableFingerprints } from './fingerprint';
export {
  assertScenario,
  injectFault,
  isDrillScenario,
  type FaultOptions,
  type FaultTarget,
  type InjectedFault,
} from './scenarios';
export {
  probeEnvironment,
  waitForDetection,
  waitForHealthy,
  type Probe,
  type ProbeResult,
  type ProbeTarget,
  type WaitOptions,
} from './detect';
export { restoreDatabase, type RestoreResult } from './restore';
export { verifyRecovery, type VerifyInput, type VerifyResult } from './verify';
export { formatMs, renderDrillReport, saveDrillReport, verdictLine, type DrillReport } from './report';
export { WRITES_TABLE } from './writes-table';

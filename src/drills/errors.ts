/** A drill step that cannot be done as asked (unknown scenario, no backup, nothing to kill…). */
export class DrillError extends Error {
  override name = 'DrillError';
}

/** A request the workflow refused (approval by the initiator, abort of an ended promotion, a ladder without a reason, …). */
export class RefusedError extends Error {
  override name = 'RefusedError';
}

// Toxiproxy's error on its own, so that the CLI can report it without loading undici.

export class ToxiproxyError extends Error {
  override name = 'ToxiproxyError';
}

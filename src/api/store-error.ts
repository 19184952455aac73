// The token store's error on its own, so that the CLI can report it without loading SQLite.

export class TokenStoreError extends Error {
  override name = 'TokenStoreError';
}

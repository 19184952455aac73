// What only some commands need, loaded when one of them runs: the local provider pulls in the
// whole data plane (faker, the PII scanner, SQLite), the worker the Temporal core bridge, and the
// API server fastify. Imported at the top of the CLI, they made every command, `strata status`
// and `strata --help` included, spend over a second loading modules it never used.
import type { LocalProvider } from '../providers/local';

export async function localProvider(home: string): Promise<LocalProvider> {
  const { LocalProvider } = await import('../providers/local');
  return new LocalProvider(home);
}

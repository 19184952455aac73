// Test support: a worker process for the sandbox test. It deploys a candidate into a layer of
// STRATA_HOME with the real local provider, prints {url, pid} as one JSON line, and stays alive
// (the candidate's parent, with its secrets in its environment) until its stdin closes.
// Run as: node --import tsx sandbox-worker.ts <strata home> <candidate dir>
import { storeCandidate } from '../../../src/artifacts/store';
import { loadCandidate } from '../../../src/config/candidate';
import { strataPaths } from '../../../src/paths';
import { LocalProvider } from '../../../src/providers/local';

async function main(): Promise<void> {
  const [home, candidateDir] = process.argv.slice(2);
  const provider = new LocalProvider(home);
  await provider.provision('sandbox', { promotionId: 'p-sandbox' });
  await provider.populate('sandbox', { rows: 100, seed: 1 });
  const candidate = await loadCandidate(candidateDir);
  // Deploys run from the artifact store: seal the candidate there first, as promote does.
  await storeCandidate(candidate, strataPaths(home).artifacts);
  const { env } = await provider.deploy('sandbox', candidate);
  process.stdout.write(`${JSON.stringify({ url: env.url, pid: env.pid })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

// Benchmark dispatcher: `npm run bench -- <name> [args…]` runs bench/<name>.ts. Each benchmark
// prints its figures as ratios against a baseline measured in the same run.

const BENCHES: Record<string, { describe: string; load: () => Promise<{ run(args: string[]): Promise<void> }> }> = {
  drill: {
    describe:
      'durable restore throughput against copy + fsync of the same file (target ≥ 0.9×); overhead of a full drill over that restore',
    load: () => import('./drill'),
  },
  load: {
    describe:
      'maximum throughput of the load generator against autocannon on the same local target; rate accuracy at half of it',
    load: () => import('./load'),
  },
  sanitize: {
    describe:
      'streaming sanitizer rows/s against the same per-row logic in one transaction, outputs checked byte-identical (--memory: peak RSS at N and 5N rows)',
    load: () => import('./sanitize'),
  },
  pii: {
    describe:
      'PII scan MiB/s of ~50 MiB of mixed text rows in SQLite (target ≥ 50 on one core) against every detector regex on every value',
    load: () => import('./pii'),
  },
  synth: {
    describe:
      'synthesis rows/s written to CSV (Gaussian copula from a profile) against @faker-js/faker writing the same CSV row by row (target ≥ 10×); peak RSS at 1 M vs 10 M rows streamed to CSV',
    load: () => import('./synth'),
  },
  data: {
    describe:
      'synth, sanitize and pii in one run (sanitize on 50 k rows) and one summary table: synthesis vs faker, sanitize vs per-row, scan MiB/s, peak RSS at 1 M and 10 M rows',
    load: () => import('./data'),
  },
  engine: {
    describe:
      'promotions/s of 3-layer promotions on a no-op provider against bare Temporal workflows of as many activities (target ≥ 0.8×); one-layer latency; history size; parked promotions (RSS, list/status, approvals/s)',
    load: () => import('./engine'),
  },
  seed: {
    describe:
      'the populate step (synthesis, masking, PII scan, fidelity) of 2 M rows through the worker thread against the same run alone (target ≤ 1.3×); worker peak RSS (< 1 GiB); worst event-loop delay meanwhile (--rows N, --rounds N, --no-policy)',
    load: () => import('./seed'),
  },
  'pg-restore': {
    describe:
      "a postgres drill's restore (pg_restore --clean --single-transaction, or --create) against a bare pg_restore of the same dump (--url, STRATA_BENCH_POSTGRES_URL or the local server; --rows N, --rounds N)",
    load: () => import('./pg-restore'),
  },
  proxy: {
    describe: 'latency Toxiproxy adds with no fault (p50, p99) against direct requests to the same local server',
    load: () => import('./proxy'),
  },
};

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  if (!name || name === '--help' || name === '-h') {
    console.log('usage: npm run bench -- <name> [args]\n');
    for (const [n, b] of Object.entries(BENCHES)) console.log(`  ${n.padEnd(8)} ${b.describe}`);
    process.exitCode = name ? 0 : 2;
    return;
  }
  const bench = BENCHES[name];
  if (!bench) {
    console.error(`unknown benchmark "${name}"; expected one of ${Object.keys(BENCHES).join(', ')}`);
    process.exitCode = 2;
    return;
  }
  await (await bench.load()).run(args);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

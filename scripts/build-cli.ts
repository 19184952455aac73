// Builds the CLI into one CommonJS file, dist/strata.cjs, which `bin/strata` runs with plain node
// while it is newer than every source file (otherwise bin/strata runs the TypeScript through tsx,
// as before). Run by `npm install` / `npm ci` (the `prepare` script) and by `npm run build`.
//
// Why: tsx transforms and resolves ~300 TypeScript modules at every start, about 0.6 s of CPU,
// more than the whole budget of `strata status` (issue 15: < 300 ms as a process). esbuild (the
// transformer tsx itself uses) bundles them once; packages stay outside the bundle and load from
// node_modules as before, and lazily imported command code stays lazy (it is bundled, but only
// evaluated when a command asks for it).
//
// Two things a bundle would change are kept as the sources mean them:
// - `__dirname` / `__filename` name the source file's own folder, so the helper scripts, assets,
//   examples and the workflows a worker bundles are found in the source tree, where they are;
// - a module's `require.main === module` (run as a script, e.g. workers/main.ts) is false inside
//   the bundle, so importing such a module never starts it; only the entry (src/cli/main.ts) runs.

import fs from 'node:fs';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';

const ROOT = path.resolve(__dirname, '..');
export const CLI_ENTRY = path.join(ROOT, 'src/cli/main.ts');
export const CLI_BUNDLE = path.join(ROOT, 'dist/strata.cjs');

const sourcesAsWritten: Plugin = {
  name: 'sources-as-written',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      let contents = await fs.promises.readFile(args.path, 'utf8');
      contents = contents
        .replace(/\b__dirname\b/g, JSON.stringify(path.dirname(args.path)))
        .replace(/\b__filename\b/g, JSON.stringify(args.path));
      if (args.path !== CLI_ENTRY) contents = contents.replace(/\brequire\.main === module\b/g, 'false');
      return { contents, loader: 'ts' };
    });
  },
};

/**
 * Bundles the CLI to `out` (written beside it and renamed into place, so a CLI starting meanwhile
 * reads either the old bundle or the new one, never half of one). Returns the number of sources.
 */
export async function buildCli(out: string = CLI_BUNDLE): Promise<number> {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const staging = `${out}.${process.pid}.tmp`;
  try {
    const result = await build({
      entryPoints: [CLI_ENTRY],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      packages: 'external',
      // Every import() becomes a require() (in a promise): node's own import() of a CommonJS
      // package sees only the names its lexer finds (`import('@temporalio/proto')` has no
      // `temporal`), where the sources, run through tsx, get the module's exports as require
      // gives them. It also lets bin/strata compile the bundle as a vm.Script (its code cache).
      supported: { 'dynamic-import': false },
      outfile: staging,
      plugins: [sourcesAsWritten],
      metafile: true,
      logLevel: 'warning',
    });
    fs.renameSync(staging, out);
    return Object.keys(result.metafile.inputs).length;
  } finally {
    fs.rmSync(staging, { force: true });
  }
}

if (require.main === module) {
  const started = Date.now();
  buildCli(process.argv[2] ? path.resolve(process.argv[2]) : CLI_BUNDLE).then(
    (sources) =>
      console.log(
        `strata: CLI built into ${path.relative(process.cwd(), process.argv[2] ?? CLI_BUNDLE)} (${sources} sources, ${Date.now() - started} ms)`,
      ),
    (err: unknown) => {
      console.error(`strata: building the CLI failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}

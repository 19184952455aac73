import { createHash } from 'node:crypto';
import { lstat, open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { CandidateRef, FeatureSpec, InputSchema } from '../domain/ladder';
import { ConfigError, type ConfigIssue, describeValue, expectedGot, formatPath, validate } from '../validation/errors';
import { parseYamlMapping } from './yaml';

// <dir>/candidate.yaml → CandidateRef. The digest identifies the candidate by what it runs: it is
// computed from candidate.yaml (with its serve command) and the artifact files, so a manifest
// cannot claim a digest its files do not have. An artifact may be read from outside the directory
// (a module candidates share); the digest still covers it, under the path it has in the release.

export const MANIFEST_NAME = 'candidate.yaml';

const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
const VERSION_PATTERN = /^[A-Za-z0-9._+-]+$/;
// Table and column names go into SQL against the environment's database.
const IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

function patterned(pattern: RegExp, expected: string) {
  return z
    .string()
    .min(1)
    .regex(pattern, { error: (issue) => expectedGot(expected, issue.input) });
}

const identifier = patterned(IDENTIFIER_PATTERN, 'a SQL identifier (letters, digits and _, not starting with a digit)');

const NUMERIC_TYPES = new Set(['number', 'integer']);

const featureSchema = z
  .strictObject({
    type: z.enum(['number', 'integer', 'boolean', 'string']),
    min: z.number().optional(),
    max: z.number().optional(),
    enum: z.array(z.string()).min(1).optional(),
    required: z.boolean().default(true),
    nullable: z.boolean().default(false),
  })
  .superRefine((feature, ctx) => {
    for (const bound of ['min', 'max'] as const) {
      if (feature[bound] !== undefined && !NUMERIC_TYPES.has(feature.type)) {
        ctx.addIssue({
          code: 'custom',
          path: [bound],
          message: `${bound} applies to number and integer features only, this one is ${feature.type}`,
        });
      }
    }
    if (feature.min !== undefined && feature.max !== undefined && feature.min > feature.max) {
      ctx.addIssue({
        code: 'custom',
        path: ['min'],
        message: `min (${feature.min}) is greater than max (${feature.max})`,
      });
    }
    if (feature.enum !== undefined) {
      if (feature.type !== 'string') {
        ctx.addIssue({
          code: 'custom',
          path: ['enum'],
          message: `enum applies to string features only, this one is ${feature.type}`,
        });
      }
      const seen = new Set<string>();
      feature.enum.forEach((value, index) => {
        if (seen.has(value)) {
          ctx.addIssue({ code: 'custom', path: ['enum', index], message: `duplicate value ${describeValue(value)}` });
        }
        seen.add(value);
      });
    }
  })
  .transform((feature): FeatureSpec => {
    const spec: FeatureSpec = { type: feature.type, required: feature.required, nullable: feature.nullable };
    if (feature.min !== undefined) spec.min = feature.min;
    if (feature.max !== undefined) spec.max = feature.max;
    if (feature.enum !== undefined) spec.enum = feature.enum;
    return spec;
  });

const inputSchema = z.strictObject({
  table: identifier,
  label: identifier,
  /** Column identifying a record; sent with each record so the candidate can look features up. */
  key: identifier.optional(),
  features: z
    .record(identifier, featureSchema)
    .refine((features) => Object.keys(features).length > 0, { error: 'declare at least one feature' }),
});

const serveSchema = z
  .union([z.string(), z.array(z.string().min(1)).min(1)], {
    error: (issue) =>
      expectedGot('the command that serves the candidate, as a list of strings (argv) or a string', issue.input),
  })
  .transform((serve, ctx) => {
    if (Array.isArray(serve)) return serve;
    const argv = serve
      .trim()
      .split(/\s+/)
      .filter((part) => part !== '');
    if (argv.length === 0) ctx.addIssue({ code: 'custom', message: 'must not be empty' });
    return argv;
  });

/**
 * A file path relative to the candidate directory, normalized to a/b form. `inside`: it cannot
 * leave the directory (where an artifact sits in the release); otherwise it may (`from:`, where a
 * file several candidates share is read from).
 */
function relativeFilePath(inside: boolean) {
  return z.string().transform((raw, ctx) => {
    const fail = (message: string) => {
      ctx.addIssue({ code: 'custom', message: `${message}, got ${describeValue(raw)}` });
      return z.NEVER;
    };
    if (raw.trim() === '') return fail('expected a file path');
    if (raw.includes('\\')) return fail("expected '/' as the path separator");
    // The digest's manifest has one line per file: a path cannot hold a line break.
    if ([...raw].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
      return fail('expected a path without control characters');
    }
    if (path.posix.isAbsolute(raw) || /^[A-Za-z]:/.test(raw)) {
      return fail('expected a path relative to the candidate directory');
    }
    if (inside && raw.split('/').includes('..')) {
      return fail("expected a path inside the candidate directory, without '..'");
    }
    const normalized = path.posix.normalize(raw).replace(/\/+$/, '');
    if (normalized === '.' || normalized === '') return fail('expected a file path');
    return normalized;
  });
}

const artifactPathSchema = relativeFilePath(true);
const artifactSourceSchema = relativeFilePath(false);

/**
 * An artifact: `model.json` (a file in the candidate directory), or `{ path: server.js, from:
 * ../shared/server.js }`, a file installed in the release as `path` but read from `from`. The
 * digest names it by `path` and covers the content of `from`.
 */
const artifactSchema = z.union(
  [
    artifactPathSchema.transform((artifactPath) => ({ path: artifactPath, from: undefined })),
    z.strictObject({
      path: artifactPathSchema.refine((artifactPath) => artifactPath !== MANIFEST_NAME, {
        error: `${MANIFEST_NAME} is always installed from the candidate directory`,
      }),
      from: artifactSourceSchema,
    }),
  ],
  {
    error: (issue) =>
      expectedGot('a file path, or a mapping { path: <path in the release>, from: <file to read> }', issue.input),
  },
);

const manifestSchema = z.strictObject({
  name: patterned(NAME_PATTERN, "a name of lowercase letters, digits, '.', '_' and '-'").max(128),
  version: z
    .string({
      // `version: 2.0` is the number 2 to YAML; the version the author meant is lost, so ask for quotes.
      error: (issue) =>
        typeof issue.input === 'number'
          ? `expected a string, got the number ${issue.input}; ` +
            'put the version in quotes (YAML reads an unquoted 2.0 as a number)'
          : expectedGot('a version string', issue.input),
    })
    .min(1)
    .max(128)
    .regex(VERSION_PATTERN, {
      error: (issue) => expectedGot("a version of letters, digits, '.', '_', '+' and '-'", issue.input),
    }),
  description: z.string().optional(),
  serve: serveSchema,
  artifacts: z
    .array(artifactSchema)
    .min(1)
    .superRefine((artifacts, ctx) => {
      const paths = artifacts.map((artifact) => artifact.path);
      paths.forEach((artifactPath, index) => {
        const first = paths.indexOf(artifactPath);
        if (first !== index) {
          ctx.addIssue({
            code: 'custom',
            path: [index],
            message: `"${artifactPath}" is listed twice (also artifacts[${first}])`,
          });
        }
      });
    }),
  input: inputSchema,
});

async function requireDirectory(dir: string): Promise<void> {
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) {
      const message = `expected a candidate directory containing ${MANIFEST_NAME}, got a file`;
      throw new ConfigError(dir, [{ path: '', message }]);
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? 'candidate directory not found' : `cannot read: ${(error as Error).message}`;
    throw new ConfigError(dir, [{ path: '', message }]);
  }
}

async function readManifest(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT'
        ? `file not found; a candidate directory must contain ${MANIFEST_NAME}`
        : `cannot read the file: ${(error as Error).message}`;
    throw new ConfigError(file, [{ path: '', message }]);
  }
}

/** An artifact as listed: its path in the release and, for one read from elsewhere, that file. */
interface ListedArtifact {
  path: string;
  from: string | undefined;
}

/** Problems with the listed artifact files on disk: each must exist and be a regular file. */
async function artifactFileIssues(dir: string, artifacts: readonly ListedArtifact[]): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  for (const [index, artifact] of artifacts.entries()) {
    const at =
      artifact.from === undefined ? formatPath(['artifacts', index]) : formatPath(['artifacts', index, 'from']);
    const name = artifact.from ?? artifact.path;
    try {
      const info = await lstat(path.resolve(dir, name));
      // A symbolic link could point outside the directory, or change what the digest covers.
      const problem = info.isSymbolicLink()
        ? 'is a symbolic link; artifacts must be regular files'
        : info.isDirectory()
          ? 'is a directory; list the files in it instead'
          : !info.isFile()
            ? 'is not a regular file'
            : undefined;
      if (problem) issues.push({ path: at, message: `"${name}" ${problem}` });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      issues.push({
        path: at,
        message:
          code === 'ENOENT' || code === 'ENOTDIR'
            ? artifact.from === undefined
              ? `"${name}" does not exist in ${dir}`
              : `"${name}" does not exist (resolved against ${dir}: ${path.resolve(dir, name)})`
            : `cannot read "${name}": ${(error as Error).message}`,
      });
    }
  }
  return issues;
}

/**
 * The file an artifact is read from: `<dir>/<artifact>`, unless the manifest names another file
 * for it (`from:`). The deployer installs that file in the release as `<artifact>`.
 */
export function artifactSource(candidate: Pick<CandidateRef, 'dir' | 'artifactSources'>, artifact: string): string {
  return candidate.artifactSources?.[artifact] ?? path.join(candidate.dir, artifact);
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** One file a candidate's digest covers: its path in the release and the sha256 (hex) of its bytes. */
export interface ManifestEntry {
  path: string;
  sha256: string;
}

/**
 * The canonical manifest of a candidate: one line per file, `<sha256 hex>  <path>\n`, sorted by
 * the path's UTF-8 bytes — the format `sha256sum` prints, so anyone can check it by hand.
 */
export function manifestText(entries: readonly ManifestEntry[]): string {
  return [...entries]
    .sort((a, b) => compareUtf8(a.path, b.path))
    .map((entry) => `${entry.sha256}  ${entry.path}\n`)
    .join('');
}

/** The candidate's digest: sha256 (hex) of its canonical manifest. */
export function manifestDigest(entries: readonly ManifestEntry[]): string {
  return createHash('sha256').update(manifestText(entries), 'utf8').digest('hex');
}

/** sha256 (hex) of one file's bytes; throws if the file changes size while it is read. */
export async function fileSha256(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const hash = createHash('sha256');
    let read = 0;
    for await (const chunk of handle.createReadStream({ autoClose: false })) {
      read += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
    }
    if (read !== size) throw new Error(`${file} changed while its digest was computed; try again`);
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}

/**
 * The files a candidate is made of, by their path in the release: candidate.yaml (with its serve
 * command) and every artifact, each with the file it is read from.
 */
export function candidateFiles(candidate: Pick<CandidateRef, 'dir' | 'artifacts' | 'artifactSources'>) {
  return [MANIFEST_NAME, ...candidate.artifacts].map((file) => ({
    path: file,
    source: file === MANIFEST_NAME ? path.join(candidate.dir, MANIFEST_NAME) : artifactSource(candidate, file),
  }));
}

/**
 * The digest of a candidate: sha256 of the manifest (see manifestText) over candidate.yaml and
 * every artifact file. An artifact read from elsewhere (`sources`, by path) is listed under its
 * path in the release with that file's content: the digest covers what the release serves,
 * wherever the file came from.
 */
export async function digestCandidate(
  dir: string,
  artifacts: readonly string[],
  sources: Readonly<Record<string, string>> = {},
): Promise<string> {
  const entries: ManifestEntry[] = [];
  for (const file of candidateFiles({ dir, artifacts: [...artifacts], artifactSources: sources })) {
    entries.push({ path: file.path, sha256: await fileSha256(file.source) });
  }
  return manifestDigest(entries);
}

/**
 * Reads `<dir>/candidate.yaml`, checks the listed artifacts exist, and computes the digest.
 * Throws ConfigError naming the directory or manifest file for anything wrong.
 * `installed`: `dir` is a release the deployer installed, where every artifact sits at its `path`
 * (an artifact's `from:` was where the deployer read it); the digest is the same.
 */
export async function loadCandidate(dir: string, opts: { installed?: boolean } = {}): Promise<CandidateRef> {
  await requireDirectory(dir);
  const absoluteDir = path.resolve(dir);
  const file = path.join(dir, MANIFEST_NAME);
  const expected = 'a candidate manifest: a mapping with name, version, serve, artifacts and input';
  const document = parseYamlMapping(await readManifest(file), file, expected);

  const issues: ConfigIssue[] = [];
  const fields = { ...document };
  if (Object.hasOwn(fields, 'digest')) {
    issues.push({ path: 'digest', message: 'digest is computed from the artifacts; remove it' });
    delete fields.digest;
  }
  const result = validate(manifestSchema, fields);
  if (!result.success) throw new ConfigError(file, [...issues, ...result.issues]);
  const manifest = opts.installed
    ? { ...result.data, artifacts: result.data.artifacts.map((a) => ({ path: a.path, from: undefined })) }
    : result.data;
  issues.push(...(await artifactFileIssues(absoluteDir, manifest.artifacts)));
  if (issues.length > 0) throw new ConfigError(file, issues);

  const input: InputSchema = manifest.input;
  const artifacts = manifest.artifacts.map((artifact) => artifact.path);
  const sources = Object.fromEntries(
    manifest.artifacts.flatMap((artifact) =>
      artifact.from === undefined ? [] : [[artifact.path, path.resolve(absoluteDir, artifact.from)]],
    ),
  );
  return {
    name: manifest.name,
    version: manifest.version,
    digest: await digestCandidate(absoluteDir, artifacts, sources),
    dir: absoluteDir,
    serve: manifest.serve,
    artifacts,
    ...(Object.keys(sources).length > 0 ? { artifactSources: sources } : {}),
    input,
  };
}

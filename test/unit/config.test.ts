import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { artifactSource, loadCandidate, manifestText } from '../../src/config/candidate';
import { ConfigError, formatPath, issuesFromZod, validate } from '../../src/validation/errors';
import { COMMAND_LINE, layerRange, loadLadder, parseLadder } from '../../src/config/ladder';
import type { LadderSpec } from '../../src/domain/ladder';
import { z } from 'zod';
import { gateGroups } from '../../workflows/gates';

const LADDERS = path.join(__dirname, '..', 'fixtures', 'ladders');
const CANDIDATES = path.join(__dirname, '..', 'fixtures', 'candidates');
const EXAMPLE_LADDER = path.join(__dirname, '..', '..', 'examples', 'ladder.yaml');
const EXAMPLE_CANDIDATES = path.join(__dirname, '..', '..', 'examples', 'candidates');

/** Loads a file expected to be rejected and returns the ConfigError. */
function configErrorOf(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, but loading succeeded');
}

async function asyncConfigErrorOf(load: () => Promise<unknown>): Promise<ConfigError> {
  try {
    await load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, but loading succeeded');
}

describe('ConfigError', () => {
  it('prints one line per issue: file, path, message; no path for the whole document', () => {
    const error = new ConfigError('examples/ladder.yaml', [
      { path: 'layers[3].approval.required', message: 'expected an integer >= 1, got "two"' },
      { path: '', message: 'the file is empty' },
    ]);
    expect(error.message).toBe(
      'examples/ladder.yaml: layers[3].approval.required: expected an integer >= 1, got "two"\n' +
        'examples/ladder.yaml: the file is empty',
    );
    expect(error.file).toBe('examples/ladder.yaml');
    expect(error.name).toBe('ConfigError');
  });

  it('formats paths with bracketed indices, dotted keys and quoted odd keys', () => {
    expect(formatPath(['layers', 3, 'approval', 'required'])).toBe('layers[3].approval.required');
    expect(formatPath(['input', 'features', 'bad name'])).toBe('input.features["bad name"]');
    expect(formatPath([])).toBe('');
  });

  it('turns zod issues into expected-vs-found messages, one per unknown key', () => {
    const schema = z.strictObject({ mode: z.enum(['a', 'b']), count: z.number().int().min(1) });
    const result = validate(schema, { mode: 'c', count: 'two', extra: 1, other: 2 }, ['outer', 0]);
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.issues).toEqual([
      { path: 'outer[0].mode', message: 'expected one of "a", "b", got "c"' },
      { path: 'outer[0].count', message: 'expected an integer >= 1, got "two"' },
      { path: 'outer[0].extra', message: 'unknown key "extra"; allowed keys: mode, count' },
      { path: 'outer[0].other', message: 'unknown key "other"; allowed keys: mode, count' },
    ]);
    // Issues from a parse without our error map still get paths and one issue per key.
    const plain = schema.safeParse({ mode: 'a', count: 1, extra: 1 });
    expect(plain.success).toBe(false);
    if (!plain.success) expect(issuesFromZod(plain.error.issues)[0].path).toBe('extra');
  });
});

// --- ladder.yaml ---------------------------------------------------------------------------------

/**
 * Every bad-*.yaml fixture states what it breaks in its first two lines:
 *   # expect: <path of the issue>       ("(document)" for the whole document)
 *   # message: <phrase the message contains>
 * The CLI tests read the same header (each bad fixture must make `strata promote` exit 2).
 */
function fixtureExpectation(file: string): { path: string; phrase: string } {
  const [first, second] = readFileSync(file, 'utf8').split('\n');
  const path = /^# expect: (.*)$/.exec(first)?.[1];
  const phrase = /^# message: (.*)$/.exec(second)?.[1];
  if (path === undefined || phrase === undefined) throw new Error(`${file}: missing "# expect:" / "# message:" header`);
  return { path: path === '(document)' ? '' : path, phrase };
}

const badLadders = readdirSync(LADDERS)
  .filter((name) => name.startsWith('bad-') && name.endsWith('.yaml'))
  .sort();

describe('loadLadder rejects malformed ladders', () => {
  it('has a fixture for every kind of mistake we promise to catch', () => {
    const kinds: Record<string, string> = {
      'YAML syntax error, with its line': 'bad-yaml-syntax.yaml',
      'empty file': 'bad-empty.yaml',
      'document is not a mapping': 'bad-not-mapping.yaml',
      'duplicate layer name': 'bad-duplicate-layer.yaml',
      'unknown gate type': 'bad-unknown-gate-type.yaml',
      'wrong type (rows: many)': 'bad-wrong-type.yaml',
      'impossible quorum': 'bad-impossible-quorum.yaml',
      'required: 0': 'bad-required-zero.yaml',
      'required: two': 'bad-required-not-integer.yaml',
      'bad duration': 'bad-duration.yaml',
      'zero ttl': 'bad-ttl-zero.yaml',
      'unknown key': 'bad-unknown-key.yaml',
      'missing layers': 'bad-missing-layers.yaml',
      'empty layers': 'bad-empty-layers.yaml',
      'duplicate gate name (defaulted from type)': 'bad-duplicate-gate.yaml',
      'duplicate approvers after case folding': 'bad-duplicate-approvers.yaml',
      'invalid gate option (quality metric: f1)': 'bad-gate-option.yaml',
      'gate threshold missing': 'bad-gate-threshold-missing.yaml',
      'approval neither auto nor a mapping': 'bad-approval-mode.yaml',
      'unknown rollback policy': 'bad-rollback.yaml',
      'layer name not a slug': 'bad-layer-name.yaml',
      'load profile with a rate <= 0': 'bad-load-rate.yaml',
      'unknown fault type': 'bad-fault-type.yaml',
      'data source not declared': 'bad-data-unknown-source.yaml',
      'unknown data classification': 'bad-data-classification.yaml',
      'both seed and data': 'bad-data-seed-and-data.yaml',
      'synthetic source without rows': 'bad-data-synthetic-rows.yaml',
      'seeds without a seeds gate': 'bad-seeds-without-gate.yaml',
      'duplicate seed': 'bad-seeds-duplicate.yaml',
      'rows for a file source': 'bad-data-rows-file-source.yaml',
      'credential rotation under a minute': 'bad-credential-rotation.yaml',
      'ttl under a minute': 'bad-ttl-short.yaml',
      'approval expiry over 90 days': 'bad-approval-expiry-long.yaml',
      'a duration too long for a timer (999…9s)': 'bad-duration-overflow.yaml',
      'data source file missing': 'bad-data-missing-file.yaml',
      'masking policy file missing': 'bad-data-missing-policy.yaml',
      "data source outside the ladder's folder": 'bad-data-outside-folder.yaml',
    };
    expect(badLadders).toEqual(Object.values(kinds).sort());
  });

  it.each(badLadders)('%s', (name) => {
    const file = path.join(LADDERS, name);
    const { path: expectedPath, phrase } = fixtureExpectation(file);
    const error = configErrorOf(() => loadLadder(file));
    expect(error.file).toBe(file);
    const issue = error.issues.find((i) => i.path === expectedPath);
    expect(issue, `issues were:\n${error.message}`).toBeDefined();
    expect(issue!.message).toContain(phrase);
    // The printed message has the issue on a line of its own, with the file and the path.
    const line = expectedPath === '' ? `${file}: ${issue!.message}` : `${file}: ${expectedPath}: ${issue!.message}`;
    expect(error.message.split('\n')).toContain(line);
  });

  it('names the line and column of a YAML syntax error', () => {
    const error = configErrorOf(() => parseLadder('name: x\nlayers: [\n  - a\n', 'inline.yaml'));
    expect(error.issues[0].message).toMatch(/^YAML syntax error at line \d+, column \d+: /);
  });

  it('reports every problem of a file in one error, grouped by layer', () => {
    const text = [
      'name: many-problems',
      'layers:',
      '  - name: sandbox',
      '    seed: { rows: 0, seed: 1 }',
      '    gates: [{ type: schema }, { type: schema }]',
      '    approval: { required: 2, approvers: [alice, ALICE] }',
      '    colour: red',
      '  - name: sandbox',
      '    seed: { rows: 10, seed: 1 }',
      '    gates: []',
      '    approval: auto',
    ].join('\n');
    const error = configErrorOf(() => parseLadder(text, 'many.yaml'));
    expect(error.issues.map((i) => i.path)).toEqual([
      'layers[0].seed.rows',
      'layers[0].colour',
      'layers[0].gates[1]',
      'layers[0].approval.approvers[1]',
      'layers[0].approval.required',
      'layers[1].name',
    ]);
    expect(error.issues.find((i) => i.path === 'layers[0].approval.required')!.message).toBe(
      'required 2 approvals but only 1 distinct approver is listed',
    );
  });

  it('reports a missing file by name', () => {
    const error = configErrorOf(() => loadLadder(path.join(LADDERS, 'no-such-ladder.yaml')));
    expect(error.issues).toEqual([{ path: '', message: 'file not found' }]);
  });
});

describe('loadLadder accepts valid ladders', () => {
  it("accepts a file outside the ladder's folder in a folder listed in allowedPaths", () => {
    const ladder = loadLadder(path.join(LADDERS, 'good-allowed-paths.yaml'));
    expect(ladder.layers[0].data?.source.file).toBe(path.join(CANDIDATES, 'good', 'model.json'));
  });

  it('keeps short durations for ladders built in memory (parseLadder: shape only), not for loaded files', () => {
    const text = `name: quick\nlayers:\n  - name: preview\n    seed: { rows: 10, seed: 1 }\n    gates: []\n    approval: auto\n    ttl: 5s\n    credentialRotation: 1s\n`;
    expect(parseLadder(text, 'quick.yaml').layers[0].credentialRotation).toBe('1s');
  });

  it('produces exactly the LadderSpec, with built-in defaults filled in', () => {
    const ladder = loadLadder(path.join(LADDERS, 'good-minimal.yaml'));
    expect(ladder).toStrictEqual<LadderSpec>({
      name: 'minimal',
      layers: [
        {
          name: 'sandbox',
          seed: { rows: 10, seed: 0 },
          gates: [
            { name: 'schema', type: 'schema', options: {} },
            {
              name: 'quality',
              type: 'quality',
              threshold: 0.5,
              options: { metric: 'auc', cutoff: 0.5, batchSize: 500 },
            },
          ],
          approval: { mode: 'auto' },
          rollback: 'previous',
        },
      ],
    });
    // Plain data: survives serialization unchanged (workflows receive it as a payload).
    expect(JSON.parse(JSON.stringify(ladder))).toStrictEqual(ladder);
  });

  it('merges `defaults` into every layer, a layer’s own values winning; normalizes approvers', () => {
    const ladder = loadLadder(path.join(LADDERS, 'good-defaults.yaml'));
    const [sandbox, traffic] = ladder.layers;
    expect(sandbox.approval).toEqual({ mode: 'manual', required: 1, approvers: ['alice', 'bob'], expiry: '24h' });
    expect(sandbox.rollback).toBe('keep');
    expect(sandbox.ttl).toBe('3d');
    expect(sandbox.gates).toEqual([
      {
        name: 'latency-p99',
        type: 'latency',
        threshold: 80,
        options: { requests: 200, percentile: 99, concurrency: 4, timeoutMs: 2000 },
      },
    ]);
    expect(traffic.approval).toEqual({
      mode: 'manual',
      required: 2,
      approvers: ['alice', 'bob', 'carol'],
      expiry: '1h30m',
    });
    expect(traffic.rollback).toBe('previous');
    expect(traffic.ttl).toBe('12h');
  });

  it('defaults a manual approval’s expiry to 72h without `defaults`', () => {
    const text = [
      'name: x',
      'layers:',
      '  - name: a',
      '    seed: { rows: 1, seed: 1 }',
      '    gates: []',
      '    approval: { required: 1, approvers: [alice] }',
    ].join('\n');
    const ladder = parseLadder(text, 'inline.yaml');
    expect(ladder.layers[0].approval).toEqual({ mode: 'manual', required: 1, approvers: ['alice'], expiry: '72h' });
  });

  it('loads examples/ladder.yaml: five layers as documented', () => {
    const ladder = loadLadder(EXAMPLE_LADDER);
    expect(ladder.layers.map((l) => l.name)).toEqual(['sandbox', 'integration', 'traffic', 'fidelity', 'mirror']);
    // Seeded through the data plane: synthetic from the profile, the mirror sanitized from production.
    expect(
      ladder.layers.map((l) => [l.data?.source.name, l.data?.source.classification, l.data?.seed, l.data?.rows]),
    ).toEqual([
      ['transactions-profile', 'synthetic', 1, 2000],
      ['transactions-profile', 'synthetic', 2, 2000],
      ['transactions-profile', 'synthetic', 3, 2000],
      ['transactions-profile', 'synthetic', 4, 2000],
      ['production-transactions', 'production', 0, undefined],
    ]);
    expect(ladder.layers.map((l) => path.basename(l.data!.policy!))).toEqual([
      'synthetic.yaml',
      'integration.yaml',
      'synthetic.yaml',
      'synthetic.yaml',
      'mirror.yaml',
    ]);
    expect(ladder.layers.map((l) => l.allowSanitizedProduction ?? false)).toEqual([false, false, false, false, true]);
    expect(ladder.layers[3].data!.realism).toEqual({ seasonality: 1.5, missingRate: 0.05, noise: 0.05 });
    expect(ladder.layers[3].seeds).toEqual([41, 42, 43, 44, 45]);
    expect(ladder.layers[0].data!.source.labels).toHaveLength(1);
    expect(ladder.layers[0].data!.source.file).toBe(
      path.join(path.dirname(EXAMPLE_LADDER), 'data', 'transactions.profile.json'),
    );
    expect(ladder.layers.map((l) => l.approval)).toEqual([
      { mode: 'auto' },
      { mode: 'auto' },
      { mode: 'manual', required: 1, approvers: ['alice', 'bob'], expiry: '72h' },
      { mode: 'manual', required: 1, approvers: ['alice', 'bob'], expiry: '72h' },
      { mode: 'manual', required: 2, approvers: ['alice', 'bob', 'carol'], expiry: '72h' },
    ]);
    for (const layer of ladder.layers) {
      const expectedByLayer: Record<string, string[]> = {
        sandbox: ['schema', 'consistency', 'expectations', 'quality', 'latency'],
        integration: ['schema', 'schema-compatibility', 'consistency', 'quality', 'latency', 'chaos', 'chaos'],
        traffic: ['schema', 'consistency', 'quality', 'latency', 'slo'],
        fidelity: ['schema', 'consistency', 'quality', 'seeds', 'expectations', 'latency'],
        mirror: ['schema', 'consistency', 'quality', 'latency', 'drill-passed-within', 'slo', 'chaos', 'chaos'],
      };
      const expected = expectedByLayer[layer.name];
      expect(layer.gates.map((g) => g.type)).toEqual(expected);
      expect(layer.rollback).toBe('previous');
    }
    const mirror = ladder.layers[4];
    expect(mirror.drills?.['table-dropped']).toEqual({ rto: '60s', rpo: '5s' });
    expect(mirror.drills?.['process-killed']).toEqual({ rto: '30s', rpo: '0s' });
    expect(mirror).toMatchObject({ lease: 'wait', credentialRotation: '24h' });
    const quality = ladder.layers.map((l) => l.gates.find((g) => g.type === 'quality')!.threshold);
    expect(quality).toEqual([0.6, 0.78, 0.78, 0.78, 0.78]);
    const requests = ladder.layers.map((l) => l.gates.find((g) => g.type === 'latency')!.options.requests);
    expect(requests).toEqual([100, 200, 400, 200, 500]);
  });
});

describe('layerRange', () => {
  const ladder = loadLadder(EXAMPLE_LADDER);
  const names = (from?: string, to?: string) => layerRange(ladder, from, to).map((l) => l.name);

  it('returns the whole ladder, or the slice from/to (inclusive)', () => {
    expect(names()).toEqual(['sandbox', 'integration', 'traffic', 'fidelity', 'mirror']);
    expect(names('traffic')).toEqual(['traffic', 'fidelity', 'mirror']);
    expect(names(undefined, 'integration')).toEqual(['sandbox', 'integration']);
    expect(names('traffic', 'traffic')).toEqual(['traffic']);
  });

  it('rejects unknown layer names, naming both flags', () => {
    const error = configErrorOf(() => layerRange(ladder, 'staging', 'prod'));
    expect(error.file).toBe(COMMAND_LINE);
    expect(error.issues.map((i) => i.path)).toEqual(['--from', '--to']);
    expect(error.issues[0].message).toContain('unknown layer "staging"');
    expect(error.issues[0].message).toContain('"sandbox", "integration", "traffic", "fidelity", "mirror"');
  });

  it('rejects from after to', () => {
    const error = configErrorOf(() => layerRange(ladder, 'mirror', 'sandbox'));
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0].path).toBe('--to');
    expect(error.issues[0].message).toContain('comes before');
  });
});

// --- candidate.yaml ------------------------------------------------------------------------------

describe('loadCandidate', () => {
  const scratch: string[] = [];
  afterEach(() => {
    for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  /** A writable copy of a fixture candidate. */
  function copyOf(fixture: string): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'strata-candidate-'));
    scratch.push(dir);
    cpSync(path.join(CANDIDATES, fixture), dir, { recursive: true });
    return dir;
  }

  it('loads a valid candidate with an absolute dir, argv and feature defaults', async () => {
    const relative = path.relative(process.cwd(), path.join(CANDIDATES, 'good'));
    const candidate = await loadCandidate(relative);
    expect(candidate).toStrictEqual({
      name: 'fraud-scoring',
      version: '2.0.0+build.7',
      digest: expect.stringMatching(/^[0-9a-f]{64}$/),
      dir: path.join(CANDIDATES, 'good'),
      serve: ['node', 'server.js', '--port-from-env'],
      artifacts: ['server.js', 'model.json'],
      input: {
        table: 'transactions',
        label: 'is_fraud',
        features: {
          amount: { type: 'number', min: 0, required: true, nullable: false },
          hour: { type: 'integer', min: 0, max: 23, required: true, nullable: false },
          channel: { type: 'string', enum: ['web', 'pos', 'atm'], required: true, nullable: false },
          foreign: { type: 'boolean', required: false, nullable: true },
        },
      },
    });
    expect(path.isAbsolute(candidate.dir)).toBe(true);
  });

  /** The digest as docs/config.md says anyone can compute it: sha256 of `sha256sum`-style lines, sorted by path. */
  function documentedDigest(files: Record<string, string>): string {
    const lines = Object.keys(files)
      .sort()
      .map((name) => `${createHash('sha256').update(readFileSync(files[name])).digest('hex')}  ${name}\n`)
      .join('');
    return createHash('sha256').update(lines).digest('hex');
  }

  it('computes the digest as documented: sha256 of the sorted manifest over candidate.yaml and the artifacts', async () => {
    const dir = path.join(CANDIDATES, 'good');
    const files = Object.fromEntries(
      ['candidate.yaml', 'model.json', 'server.js'].map((name) => [name, path.join(dir, name)]),
    );
    expect((await loadCandidate(dir)).digest).toBe(documentedDigest(files));
    // The same lines sha256sum prints: the manifest is checkable with standard tools.
    expect(
      manifestText([
        { path: 'server.js', sha256: 'b'.repeat(64) },
        { path: 'candidate.yaml', sha256: 'a'.repeat(64) },
      ]),
    ).toBe(`${'a'.repeat(64)}  candidate.yaml\n${'b'.repeat(64)}  server.js\n`);
  });

  it('changes the digest when one artifact byte, the serve command or any byte of candidate.yaml changes', async () => {
    const dir = copyOf('good');
    const manifest = path.join(dir, 'candidate.yaml');
    const digests = [(await loadCandidate(dir)).digest];

    // The serve command is what runs: a manifest that serves something else is another candidate.
    const original = readFileSync(manifest, 'utf8');
    expect(original).toContain('--port-from-env');
    writeFileSync(manifest, original.replace('--port-from-env', '--port-from-file'));
    digests.push((await loadCandidate(dir)).digest);
    writeFileSync(manifest, original);
    expect((await loadCandidate(dir)).digest).toBe(digests[0]);

    writeFileSync(manifest, original.replace(/^description: .*$/m, 'description: reworded'));
    digests.push((await loadCandidate(dir)).digest);
    writeFileSync(manifest, original);

    const model = path.join(dir, 'model.json');
    const bytes = readFileSync(model);
    bytes[bytes.length - 2] ^= 1;
    writeFileSync(model, bytes);
    digests.push((await loadCandidate(dir)).digest);
    expect(new Set(digests).size).toBe(4);
  });

  it('rejects an artifact path with a line break (the manifest has one line per file)', async () => {
    const dir = copyOf('good');
    const manifest = path.join(dir, 'candidate.yaml');
    writeFileSync(
      manifest,
      readFileSync(manifest, 'utf8').replace(
        'artifacts: [server.js, model.json]',
        'artifacts: [server.js, "model\\n.json"]',
      ),
    );
    const error = await asyncConfigErrorOf(() => loadCandidate(dir));
    expect(error.issues).toEqual([
      { path: 'artifacts[1]', message: 'expected a path without control characters, got "model\\n.json"' },
    ]);
  });

  it('rejects a digest written in the manifest', async () => {
    const dir = path.join(CANDIDATES, 'digest-key');
    const error = await asyncConfigErrorOf(() => loadCandidate(dir));
    expect(error.file).toBe(path.join(dir, 'candidate.yaml'));
    expect(error.issues).toEqual([{ path: 'digest', message: 'digest is computed from the artifacts; remove it' }]);
  });

  it('rejects a missing artifact, naming its index', async () => {
    const error = await asyncConfigErrorOf(() => loadCandidate(path.join(CANDIDATES, 'missing-artifact')));
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0].path).toBe('artifacts[1]');
    expect(error.issues[0].message).toContain('"model.json" does not exist');
  });

  it('rejects an artifact path leaving the candidate directory', async () => {
    const error = await asyncConfigErrorOf(() => loadCandidate(path.join(CANDIDATES, 'escaping-artifact')));
    expect(error.issues).toEqual([
      {
        path: 'artifacts[1]',
        message: `expected a path inside the candidate directory, without '..', got "../good/model.json"`,
      },
    ]);
  });

  it('rejects a missing directory and a directory without candidate.yaml, naming the path', async () => {
    const missing = path.join(CANDIDATES, 'no-such-candidate');
    const noDir = await asyncConfigErrorOf(() => loadCandidate(missing));
    expect(noDir.file).toBe(missing);
    expect(noDir.message).toBe(`${missing}: candidate directory not found`);

    const noManifest = await asyncConfigErrorOf(() => loadCandidate(path.join(CANDIDATES, 'no-manifest')));
    expect(noManifest.file).toBe(path.join(CANDIDATES, 'no-manifest', 'candidate.yaml'));
    expect(noManifest.issues[0].message).toContain('file not found');
  });

  it('asks for quotes around a version YAML reads as a number', async () => {
    const dir = copyOf('good');
    const manifest = path.join(dir, 'candidate.yaml');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('version: 2.0.0+build.7', 'version: 2.0'));
    const error = await asyncConfigErrorOf(() => loadCandidate(dir));
    expect(error.issues).toEqual([
      {
        path: 'version',
        message:
          'expected a string, got the number 2; put the version in quotes (YAML reads an unquoted 2.0 as a number)',
      },
    ]);
  });

  /** A writable copy of the fixture `good` whose server.js lives in a sibling `shared` directory. */
  function sharedServerCandidate(): { dir: string; shared: string } {
    const root = mkdtempSync(path.join(tmpdir(), 'strata-candidates-'));
    scratch.push(root);
    const dir = path.join(root, 'good');
    cpSync(path.join(CANDIDATES, 'good'), dir, { recursive: true });
    const shared = path.join(root, 'shared', 'server.js');
    mkdirSync(path.dirname(shared));
    cpSync(path.join(dir, 'server.js'), shared);
    rmSync(path.join(dir, 'server.js'));
    const manifest = path.join(dir, 'candidate.yaml');
    writeFileSync(
      manifest,
      readFileSync(manifest, 'utf8').replace(
        'artifacts: [server.js, model.json]',
        'artifacts: [{ path: server.js, from: ../shared/server.js }, model.json]',
      ),
    );
    return { dir, shared };
  }

  it('reads an artifact from outside the directory when the manifest names its source', async () => {
    const inPlace = await loadCandidate(path.join(CANDIDATES, 'good'));
    const { dir, shared } = sharedServerCandidate();
    const candidate = await loadCandidate(dir);
    expect(candidate.artifacts).toEqual(['server.js', 'model.json']);
    expect(candidate.artifactSources).toEqual({ 'server.js': shared });
    expect(artifactSource(candidate, 'server.js')).toBe(shared);
    expect(artifactSource(candidate, 'model.json')).toBe(path.join(dir, 'model.json'));
    // The digest names the file by its path in the release, with the content of its source, and
    // covers this candidate.yaml (which names the source): not the digest of the in-place copy.
    expect(candidate.digest).toBe(
      documentedDigest({
        'candidate.yaml': path.join(dir, 'candidate.yaml'),
        'model.json': path.join(dir, 'model.json'),
        'server.js': shared,
      }),
    );
    expect(candidate.digest).not.toBe(inPlace.digest);
    expect(inPlace.artifactSources).toBeUndefined();
  });

  it("changes every example candidate's digest when the server they share changes", async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'strata-examples-'));
    scratch.push(root);
    cpSync(EXAMPLE_CANDIDATES, root, { recursive: true });
    const names = ['fraud-v1', 'fraud-v2', 'fraud-v3'];
    const digests = async () =>
      Promise.all(names.map(async (name) => (await loadCandidate(path.join(root, name))).digest));
    const before = await digests();
    for (const name of names) {
      const candidate = await loadCandidate(path.join(root, name));
      expect(artifactSource(candidate, 'server.js')).toBe(path.join(root, 'shared', 'server.js'));
    }
    expect(new Set(before).size).toBe(3);

    const shared = path.join(root, 'shared', 'server.js');
    writeFileSync(shared, readFileSync(shared, 'utf8').replace('MAX_BODY_BYTES = 16 *', 'MAX_BODY_BYTES = 17 *'));
    const after = await digests();
    names.forEach((name, i) => expect(after[i], name).not.toBe(before[i]));
  });

  it('rejects a missing, linked or misplaced artifact source, naming the field', async () => {
    const { dir, shared } = sharedServerCandidate();
    const manifest = path.join(dir, 'candidate.yaml');
    const original = readFileSync(manifest, 'utf8');
    const withArtifacts = (artifacts: string) =>
      writeFileSync(manifest, original.replace(/^artifacts: .*$/m, `artifacts: ${artifacts}`));

    withArtifacts('[{ path: server.js, from: ../shared/missing.js }, model.json]');
    let error = await asyncConfigErrorOf(() => loadCandidate(dir));
    expect(error.issues).toEqual([
      {
        path: 'artifacts[0].from',
        message: `"../shared/missing.js" does not exist (resolved against ${dir}: ${path.join(path.dirname(shared), 'missing.js')})`,
      },
    ]);

    symlinkSync(shared, path.join(path.dirname(shared), 'link.js'));
    withArtifacts('[{ path: server.js, from: ../shared/link.js }, model.json]');
    error = await asyncConfigErrorOf(() => loadCandidate(dir));
    expect(error.issues).toEqual([
      { path: 'artifacts[0].from', message: '"../shared/link.js" is a symbolic link; artifacts must be regular files' },
    ]);

    withArtifacts(`[{ path: server.js, from: ${shared} }, model.json]`);
    error = await asyncConfigErrorOf(() => loadCandidate(dir));
    expect(error.issues).toEqual([
      {
        path: 'artifacts[0].from',
        message: `expected a path relative to the candidate directory, got "${shared}"`,
      },
    ]);

    withArtifacts(
      '[{ path: candidate.yaml, from: ../shared/server.js }, { path: server.js, from: ../shared/server.js }, model.json]',
    );
    error = await asyncConfigErrorOf(() => loadCandidate(dir));
    expect(error.issues).toEqual([
      { path: 'artifacts[0].path', message: 'candidate.yaml is always installed from the candidate directory' },
    ]);

    withArtifacts('[{ path: server.js }, model.json]');
    error = await asyncConfigErrorOf(() => loadCandidate(dir));
    expect(error.issues).toEqual([{ path: 'artifacts[0].from', message: 'missing; expected a string' }]);

    withArtifacts('[3, model.json]');
    error = await asyncConfigErrorOf(() => loadCandidate(dir));
    expect(error.issues).toEqual([
      {
        path: 'artifacts[0]',
        message: 'expected a file path, or a mapping { path: <path in the release>, from: <file to read> }, got 3',
      },
    ]);
  });

  it('checks feature declarations against their type', async () => {
    const dir = copyOf('good');
    const manifest = path.join(dir, 'candidate.yaml');
    writeFileSync(
      manifest,
      readFileSync(manifest, 'utf8')
        .replace('hour: { type: integer, min: 0, max: 23 }', 'hour: { type: integer, min: 23, max: 0 }')
        .replace('foreign: { type: boolean,', 'foreign: { type: boolean, enum: [yes],'),
    );
    const error = await asyncConfigErrorOf(() => loadCandidate(dir));
    expect(error.issues).toEqual([
      { path: 'input.features.hour.min', message: 'min (23) is greater than max (0)' },
      { path: 'input.features.foreign.enum', message: 'enum applies to string features only, this one is boolean' },
    ]);
  });
});

describe('parallel gates', () => {
  const ladder = (gates: string) =>
    `name: p\nlayers:\n  - name: sandbox\n    seed: { rows: 10, seed: 1 }\n    gates:\n${gates}\n    approval: auto\n`;

  it('marks a gate parallel only when it says so, and groups adjacent parallel gates', () => {
    const spec = parseLadder(
      ladder(
        '      - { type: schema, parallel: true }\n      - { type: consistency, parallel: true }\n      - { type: quality, threshold: 0.6 }\n      - { type: quality, name: q2, threshold: 0.5, parallel: true }',
      ),
      'p.yaml',
    );
    const gates = spec.layers[0].gates;
    expect(gates.map((g) => g.parallel ?? false)).toEqual([true, true, false, true]);
    expect(gateGroups(gates).map((g) => g.map((x) => x.name))).toEqual([
      ['schema', 'consistency'],
      ['quality'],
      ['q2'],
    ]);
  });

  it('refuses parallel: true on a gate that measures latency or injects faults, naming the field', () => {
    expect(() => parseLadder(ladder('      - { type: latency, threshold: 100, parallel: true }'), 'p.yaml')).toThrow(
      /layers\[0\]\.gates\[0\]\.parallel: .*latency gate measures latency or injects faults/,
    );
  });
});

// Lint: TypeScript rules everywhere, and the determinism boundary. workflows/ and src/domain/
// run inside Temporal's replay sandbox (or must stay pure), so they may import only
// @temporalio/workflow, @temporalio/common and other files on the same side of the boundary
// (workflows/trace.ts also reads the active span through @opentelemetry/api, which the tracing
// interceptors register inside the sandbox).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = [
  'node:*',
  'fs',
  'path',
  'os',
  'net',
  'http',
  'https',
  'child_process',
  'crypto',
  'process',
  'util',
  'worker_threads',
  'dns',
  'stream',
  'timers',
];

const sandboxGlobals = [
  { name: 'process', message: 'workflows/ and src/domain/ must not read the process environment.' },
  { name: 'fetch', message: 'no network in workflows/ or src/domain/: call an activity.' },
  { name: 'require', message: 'use import; only sandbox-safe modules.' },
];

// Imports run one way: domain ← config ← data/load/chaos/drills ← gates/providers ← activities ←
// workers/services ← cli. The API server and the web inbox (src/api, src/web) sit beside the CLI
// and may not import it (rule below): what both need lives in src/services/ or further down. Each area names the areas above it that it may not import (types included), so a
// change that reaches upwards fails lint instead of growing a cycle. workflows/ and src/domain/
// have their own, stricter rules below. Gate config schemas (src/gates/*.config.ts, configs.ts)
// belong to the config tier: src/config may import those and nothing else of src/gates.
const TIERS = [
  ['validation', 'tools', 'log', 'paths', 'types', 'tracing'],
  ['config'],
  ['envdb', 'data', 'load', 'chaos', 'drills', 'artifacts', 'notify'],
  ['gates', 'providers'],
  ['temporal', 'audit', 'activities'],
  ['workers', 'services'],
  ['cli'],
];
const ROOT_AREAS = new Set(['activities', 'workers']);
const areaGlob = (area) => (ROOT_AREAS.has(area) ? `${area}/**/*.ts` : `src/${area}/**/*.ts`);
const above = (tier) => TIERS.slice(tier + 1).flat();
const importDirection = TIERS.flatMap((areas, tier) =>
  above(tier).length === 0
    ? []
    : [
        {
          files: areas.map(areaGlob),
          ignores: tier === 1 ? [] : ['src/gates/*.config.ts', 'src/gates/configs.ts'],
          rules: {
            'no-restricted-imports': [
              'error',
              {
                patterns: [
                  {
                    regex: `^(\\.\\.?/)+(src/)?(${above(tier).join('|')})(/|$)`,
                    message: `imports run one way (domain ← config ← data/load/chaos/drills ← gates/providers ← activities ← workers ← cli): ${areas.join('/')} may not import ${above(tier).join(', ')}.`,
                  },
                ],
              },
            ],
          },
        },
      ],
);
// The API server and the web inbox are the CLI's peers, never its users.
const serversDoNotImportCli = {
  files: ['src/api/**/*.ts', 'src/web/**/*.ts'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            regex: '^(\\.\\.?/)+(src/)?cli(/|$)',
            message: 'src/api and src/web may not import src/cli: move what both need to src/services/ or below.',
          },
        ],
      },
    ],
  },
};
// src/config may use the light gate config registry, not the gate runtime.
const configMayReadGateConfigs = {
  files: ['src/config/**/*.ts'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            regex: `^(\\.\\.?/)+(src/)?(${above(1)
              .filter((a) => a !== 'gates')
              .join('|')})(/|$)|^(\\.\\.?/)+gates/(?!configs$)`,
            message:
              'imports run one way: src/config may import src/gates/configs (the light gate config schemas) and nothing above config.',
          },
        ],
      },
    ],
  },
};
// The gate config schemas sit in the config tier: they may reuse the traffic profile and fault
// schemas (src/load/profile, src/chaos/faults), and nothing else above config.
const gateConfigs = {
  files: ['src/gates/*.config.ts', 'src/gates/configs.ts'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            regex: `^(\\.\\.?/)+(src/)?(${above(2)
              .filter((a) => a !== 'gates')
              .join(
                '|',
              )})(/|$)|^\\.\\./(envdb|data|drills)(/|$)|^\\.\\./load/(?!profile$)|^\\.\\./chaos/(?!faults$)|^\\./(?![a-z-]+\\.config$|configs$|config-types$)`,
            message:
              'gate config schemas are config: they may import src/gates/*.config, src/load/profile, src/chaos/faults and the config tier, not the gate runtime.',
          },
        ],
      },
    ],
  },
};

export default tseslint.config(
  {
    ignores: ['node_modules/**', 'dist/**', '.strata/**', 'examples/candidates/**', 'coverage/**', 'test/fixtures/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...importDirection,
  configMayReadGateConfigs,
  serversDoNotImportCli,
  gateConfigs,
  {
    files: ['workflows/**/*.ts'],
    ignores: ['workflows/trace.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!@temporalio/(workflow|common)(/|$)|\\./[^/]+$|\\.\\./src/domain/[^/]+$)',
              message:
                'workflows/ may import only @temporalio/workflow, @temporalio/common, workflows/ and src/domain/ (activities by type only).',
              allowTypeImports: true,
            },
            { group: NODE_BUILTINS, message: 'Node builtins are not deterministic: use an activity.' },
          ],
        },
      ],
      'no-restricted-globals': ['error', ...sandboxGlobals],
    },
  },
  {
    files: ['workflows/trace.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!@opentelemetry/api$)',
              message: 'workflows/trace.ts reads the active span: it imports @opentelemetry/api only.',
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', ...sandboxGlobals],
    },
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // @noble/hashes: pure hashing (sha256.ts), no clock, randomness, network or disk.
              regex: '^(?!\\./[^/]+$|@noble/hashes/(sha2|utils)$)',
              message: 'src/domain/ is pure: it imports only other src/domain/ modules (and @noble/hashes).',
              allowTypeImports: true,
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        ...sandboxGlobals,
        { name: 'setTimeout', message: 'no timers in src/domain/.' },
        { name: 'setInterval', message: 'no timers in src/domain/.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'no randomness in src/domain/: take a seed as input.' },
        { object: 'Date', property: 'now', message: 'no clock in src/domain/: take the time as input.' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'no clock in src/domain/: take the time as input.',
        },
      ],
    },
  },
);

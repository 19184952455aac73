// Lint: TypeScript rules everywhere, and the determinism boundary. workflows/ and src/domain/
// run inside Temporal's replay sandbox (or must stay pure), so they may import only
// @temporalio/workflow, @temporalio/common and other files on the same side of the boundary.
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
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
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
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!\\./[^/]+$)',
              message: 'src/domain/ is pure: it imports only other src/domain/ modules.',
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

import fs from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The determinism boundary is enforced by lint; this proves the rule bites.
const root = path.resolve(__dirname, '../..');
const eslint = new ESLint({ cwd: root });

/** Lints `code` as a real file in that folder (the type-aware rules need it in the project). */
async function problems(file: string, code: string): Promise<string[]> {
  const target = path.join(root, path.dirname(file), `lint-probe-${process.pid}.ts`);
  fs.writeFileSync(target, code);
  try {
    const [result] = await eslint.lintFiles([target]);
    return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
  } finally {
    fs.rmSync(target, { force: true });
  }
}

describe('lint guards the determinism boundary', () => {
  it('rejects Node builtins and runtime imports of activities in workflows/', async () => {
    const out = await problems(
      'workflows/probe.ts',
      "import fs from 'node:fs';\nimport { createActivities } from '../activities';\nexport const x = [fs, createActivities];\n",
    );
    expect(out.filter((m) => m.startsWith('no-restricted-imports')).length).toBeGreaterThanOrEqual(2);
  });

  it('allows @temporalio/workflow, src/domain and type-only imports of activities in workflows/', async () => {
    const out = await problems(
      'workflows/probe.ts',
      "import { sleep } from '@temporalio/workflow';\nimport type { Activities } from '../activities';\nimport { parseDuration } from '../src/domain/duration';\nexport const x: Array<unknown> = [sleep, parseDuration];\nexport type A = Activities;\n",
    );
    expect(out).toEqual([]);
  });

  it('rejects the clock, randomness, process and libraries in src/domain/', async () => {
    const out = await problems(
      'src/domain/probe.ts',
      "import { z } from 'zod';\nexport const x = [z, Date.now(), new Date(), Math.random(), process.env];\n",
    );
    expect(out.some((m) => m.includes("'zod' import is restricted"))).toBe(true);
    expect(out.some((m) => m.includes('Date.now'))).toBe(true);
    expect(out.some((m) => m.includes('Math.random'))).toBe(true);
    expect(out.some((m) => m.startsWith('no-restricted-globals'))).toBe(true);
    expect(out.filter((m) => m.includes('no clock')).length).toBeGreaterThanOrEqual(2);
  });
});

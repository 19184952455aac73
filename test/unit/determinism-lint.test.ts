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

// Type-aware lint loads the whole project on the first call: slow on a busy machine, not a hang.
describe('lint guards the determinism boundary', { timeout: 180_000 }, () => {
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

describe('lint keeps imports one way', { timeout: 180_000 }, () => {
  const restricted = (out: string[]) => out.filter((m) => m.startsWith('no-restricted-imports'));

  it('refuses an import upwards: data may not import gates, providers, activities or the CLI', async () => {
    const out = await problems(
      'src/data/probe.ts',
      "import { gateRegistry } from '../gates/registry';\nimport type { Provider } from '../providers/types';\nimport { createActivities } from '../../activities';\nimport { registerRunCommands } from '../cli/runs';\nexport const x: unknown[] = [gateRegistry, createActivities, registerRunCommands];\nexport type P = Provider;\n",
    );
    expect(restricted(out)).toHaveLength(4);
    expect(out[0]).toContain('imports run one way');
  });

  it('lets gates import load and envdb, and activities import gates, but not the other way round', async () => {
    expect(
      restricted(
        await problems(
          'src/gates/probe.ts',
          "import { openReadOnly } from '../envdb/sqlite';\nimport { loadProfileSchema } from '../load/profile';\nexport const x: unknown[] = [openReadOnly, loadProfileSchema];\n",
        ),
      ),
    ).toEqual([]);
    expect(
      restricted(
        await problems(
          'src/load/probe.ts',
          "import { gateRegistry } from '../gates/registry';\nexport const x = gateRegistry;\n",
        ),
      ),
    ).toHaveLength(1);
    expect(
      restricted(
        await problems(
          'src/gates/probe.ts',
          "import { createStrataWorker } from '../../workers/worker';\nexport const x = createStrataWorker;\n",
        ),
      ),
    ).toHaveLength(1);
  });

  it('lets config read the light gate config registry, not the gate runtime', async () => {
    expect(
      restricted(
        await problems(
          'src/config/probe.ts',
          "import { gateConfigs } from '../gates/configs';\nexport const x = gateConfigs;\n",
        ),
      ),
    ).toEqual([]);
    expect(
      restricted(
        await problems(
          'src/config/probe.ts',
          "import { gateRegistry } from '../gates/registry';\nexport const x = gateRegistry;\n",
        ),
      ),
    ).toHaveLength(1);
  });
});

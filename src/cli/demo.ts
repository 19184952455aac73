import fs from 'node:fs';
import path from 'node:path';
import { ApprovalRegistry } from '../data/approvals';
import { createKeyring } from './data/keyring';
import type { Command } from 'commander';
import { auditTrail } from '../audit/trail';
import { loadCandidate } from '../config/candidate';
import { layerRange, loadLadder } from '../config/ladder';
import { isTerminal, type PromotionStatus } from '../domain/status';
import { localProvider } from './lazy';
import { approve, getStatus, RefusedError, startPromotion } from '../temporal/promotions';
import { createDrillSchedule, drillScheduleId, runDrill } from '../temporal/drills';
import { verdictLine } from '../drills/report';
import type { LadderSpec } from '../domain/ladder';
import type { Client } from '@temporalio/client';
import { loadSettings } from '../temporal/settings';
import { connectClient } from '../temporal/connection';
import { command } from './command';
import { print } from './context';
import { EXIT_FAILED, EXIT_OK } from './errors';
import { describeProgress } from './promotions';
import { renderAudit, renderStatus, renderTimings } from './render';
import { promotionTimings } from '../temporal/timings';
import { ensureServer } from './server';

/**
 * What a data steward does once before the example ladder can seed: a keyring for the masking
 * policies (outside the repository) and approvals of the example datasets. The demo does both,
 * announcing it; with real data these are deliberate, separate steps (`strata data keyring init`,
 * `strata data approve`).
 */
export async function prepareDemoData(home: string, ladder: LadderSpec): Promise<void> {
  const keyring = process.env.STRATA_KEYRING ?? ladder.layers.find((l) => l.data?.keyring)?.data?.keyring;
  if (keyring && !fs.existsSync(keyring)) {
    createKeyring(keyring);
    print(`demo: created the masking keyring ${keyring} (mode 600; \`strata data keyring init\` does this)`);
  }
  const registry = new ApprovalRegistry(home);
  // The sources, and the real files synthetic sources are scored against.
  const files = [
    ...new Set(ladder.layers.flatMap((l) => (l.data ? [l.data.source.file, l.data.source.holdout ?? []].flat() : []))),
  ];
  for (const file of files) {
    // Approving what is already approved adds nothing.
    const { approval, added } = await registry.approve(file, DATA_STEWARD, 'demo: the example dataset, reviewed');
    if (added)
      print(
        `demo: acting as data steward "${DATA_STEWARD}", approving ${path.relative(process.cwd(), file)} (sha256 ${approval.digest.slice(0, 12)}; \`strata data approve\` does this)`,
      );
  }
}

/** A DR drill of the mirror now, and a weekly schedule of them (the mirror's gate requires one). */
async function demoDrills(client: Client, taskQueue: string, ladder: LadderSpec): Promise<void> {
  const mirror = ladder.layers.find((l) => l.name === 'mirror');
  if (!mirror) return;
  print('\ndemo: DR drill of the mirror (table dropped, a writer writing throughout):');
  const report = await runDrill(client, taskQueue, {
    layer: mirror,
    ladder: { name: ladder.name },
    scenario: 'table-dropped',
    requestedBy: OPERATOR,
  });
  print(
    `demo: ${report.verdict.met ? 'MET' : 'BREACHED'} — ${verdictLine(report.verdict)}; report ${report.files.markdownFile}`,
  );
  try {
    const id = await createDrillSchedule(client, taskQueue, {
      layer: mirror,
      ladder: { name: ladder.name },
      scenario: 'table-dropped',
      cron: '0 3 * * 1',
      requestedBy: OPERATOR,
    });
    print(`demo: weekly drill schedule ${id} (Mondays 03:00 UTC); see \`strata drill schedule ls\``);
  } catch (err) {
    if (!(err instanceof RefusedError)) throw err;
    print(`demo: the weekly drill schedule already exists (${drillScheduleId(taskQueue, 'mirror', 'table-dropped')})`);
  }
}

/**
 * Follows a promotion to its end, printing its progress to stderr, and approves each layer that
 * awaits approval as the ladder's approvers (never the initiator), as many as its quorum needs.
 * `approveAfterMs` lets a layer wait that long first (the screenshots show the pending approval).
 */
export async function approveUntilDone(
  client: Client,
  id: string,
  opts: { approveAfterMs?: number } = {},
): Promise<PromotionStatus> {
  const waitingSince = new Map<string, number>();
  let last = '';
  let status = await getStatus(client, id);
  while (!isTerminal(status.state)) {
    const line = describeProgress(status);
    if (line !== last) process.stderr.write(`${line}\n`);
    last = line;
    for (const layer of status.layers.filter((l) => l.phase === 'awaiting-approval')) {
      if (!waitingSince.has(layer.name)) waitingSince.set(layer.name, Date.now());
      if (Date.now() - waitingSince.get(layer.name)! < (opts.approveAfterMs ?? 0)) continue;
      const done = new Set(layer.approvals.map((a) => a.actor));
      const needed = layer.approval.required - done.size;
      const approvers = layer.approval.allowed.filter((a) => a !== status.initiator && !done.has(a)).slice(0, needed);
      for (const actor of approvers) {
        print(
          `demo: acting as approver "${actor}" for layer ${layer.name} ` +
            `(it needs ${layer.approval.required} of ${layer.approval.allowed.join(', ')})`,
        );
        await approve(client, id, { layer: layer.name, actor, reason: 'demo: every gate passed' });
      }
    }
    await new Promise((r) => setTimeout(r, 500));
    status = await getStatus(client, id);
  }
  return status;
}

export const EXAMPLES_DIR = path.resolve(__dirname, '../../examples');
const OPERATOR = 'dana';
const DATA_STEWARD = 'carol';

/** The options of `strata demo`. */
export interface DemoOptions {
  demo: {
    /** The candidate to promote. @default examples/candidates/fraud-v2 */
    candidate: string;
  };
}

export function registerDemoCommand(program: Command): void {
  command(program, 'demo', 'promote the example fraud-v2 through all five layers, approving as the named approvers')
    .options<DemoOptions['demo']>({
      candidate: {
        argument: '<dir>',
        description: 'candidate to promote',
        default: path.join(EXAMPLES_DIR, 'candidates/fraud-v2'),
      },
    })
    .action(async (opts) => {
      const settings = loadSettings();
      const ladderFile = path.join(EXAMPLES_DIR, 'ladder.yaml');
      const ladder = loadLadder(ladderFile);
      const candidate = await loadCandidate(path.resolve(opts.candidate));
      await prepareDemoData(settings.home, ladder);
      const server = await ensureServer(settings, { port: 7233, uiPort: 8233, reuseRunning: true });
      const uiBase = server?.uiUrl ?? 'http://127.0.0.1:8233';
      const { createStrataWorker } = await import('../../workers/worker');
      const { worker, connection: workerConnection } = await createStrataWorker({
        address: settings.address,
        namespace: settings.namespace,
        taskQueue: settings.taskQueue,
        provider: await localProvider(settings.home),
        paths: settings.paths,
      });
      const running = worker.run();
      const { client, connection } = await connectClient(settings);
      try {
        const id = await startPromotion(client, {
          ladder,
          layers: layerRange(ladder),
          candidate,
          initiator: OPERATOR,
          taskQueue: settings.taskQueue,
          artifacts: settings.paths.artifacts,
        });
        print(
          `demo: ${OPERATOR} (operator) promotes ${candidate.name} ${candidate.version} through ${ladder.layers.map((l) => l.name).join(' → ')}`,
        );
        print(`demo: promotion ${id}; watch it at ${uiBase}/namespaces/${settings.namespace}/workflows/${id}`);
        const status = await approveUntilDone(client, id);
        print('');
        print(renderStatus(status));
        print("\nWhere the time went (from each layer workflow's history):\n");
        print(renderTimings(await promotionTimings(client, status)));
        if (status.state === 'promoted') await demoDrills(client, settings.taskQueue, ladder);
        print('\nAudit trail (strata audit ' + id + '):\n');
        print(renderAudit(await auditTrail(client, id)));
        print(`\nWeb UI: ${uiBase}/namespaces/${settings.namespace}/workflows/${id}`);
        print(
          `The environments keep serving under ${settings.home}/envs (a later promotion reuses them); ` +
            'with `strata up` running, `strata teardown --all --as NAME --reason "done with the demo"` stops and removes them.',
        );
        return status.state === 'promoted' ? EXIT_OK : EXIT_FAILED;
      } finally {
        await connection.close();
        worker.shutdown();
        await running;
        await workerConnection.close();
        await server?.stop();
      }
    });
}

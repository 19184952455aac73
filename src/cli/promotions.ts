import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { PROMOTION_STATES, type PromotionState, type PromotionStatus, isTerminal } from '../domain/status';
import type { PromotionSummary } from '../temporal/promotions';
import type { ApprovalReply } from '../../workflows/messages';
import type { ShownEvidence } from '../domain/evidence';
import { command, type JsonOption, type LocalAttribution, localActor } from './command';
import { apiBase, callApi, ignoreAs } from './api-client';
import { print, printJson, withClient, withWorkflowReader } from './context';
import { EXIT_FAILED, EXIT_OK, UsageError } from './errors';
import { renderList, renderStatus } from './render';

// What only some paths need is imported where it is used: the Temporal calls (the client, gRPC,
// the workflow package) in local mode only, ladder and candidate files (zod, yaml) in promote only.
// `strata status` and `strata list` in API mode load neither (test/unit/cli/lazy-groups.test.ts).
const temporalPromotions = () => import('../temporal/promotions');

function defaultUser(): string {
  return process.env.STRATA_USER ?? os.userInfo().username;
}

/** Polls status until the promotion ends; reports phase changes on stderr. */
export async function waitUntilEnded(
  client: Client,
  id: string,
  onChange: (s: PromotionStatus) => void = () => {},
): Promise<PromotionStatus> {
  const { getStatus } = await temporalPromotions();
  return pollUntilEnded(() => getStatus(client, id), onChange);
}

/** Polls a status source (Temporal, or the API in API mode) until the promotion ends. */
async function pollUntilEnded(
  get: () => Promise<PromotionStatus>,
  onChange: (s: PromotionStatus) => void,
): Promise<PromotionStatus> {
  let last = '';
  for (;;) {
    const s = await get();
    const key = JSON.stringify([s.state, s.layers.map((l) => [l.phase, l.gates.length, l.approvals.length])]);
    if (key !== last) {
      last = key;
      onChange(s);
    }
    if (isTerminal(s.state)) return s;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export function describeProgress(s: PromotionStatus): string {
  const active = s.layers.find((l) => !['pending', 'promoted'].includes(l.phase)) ?? s.layers[s.layers.length - 1];
  // A promotion reading its stored ladder has no layers yet.
  if (!active) return `strata: ${s.id}: ${s.state}; reading its ladder`;
  return `strata: ${s.id}: ${s.state}; ${active.name}: ${active.phase}`;
}

/** The options of the promotion commands: promote, status, list, approve, reject and abort. */
export interface PromotionOptions {
  promote: JsonOption & {
    /** A stored ladder's name; in local mode also a ladder file, applied first. */
    ladder: string;
    /** The candidate's directory, holding candidate.yaml. */
    candidate: string;
    /** The first layer to climb. @default the ladder's first */
    from?: string;
    /** The last layer to climb. @default the ladder's last */
    to?: string;
    /** The promotion's id: letters, digits, ".", "_", "-". @default candidate-version-<6 hex> */
    id?: string;
    /** Who starts it. @default $STRATA_USER, else the login name */
    as?: string;
    /** Wait for the end; the exit code says how it ended. @default false */
    wait?: boolean;
  };
  status: JsonOption & {
    /** Refresh until the promotion ends. @default false */
    watch?: boolean;
  };
  list: JsonOption & {
    /** Only promotions in this state (one of PROMOTION_STATES). @default every state */
    phase?: string;
    /** At most this many, a whole number ≥ 1. @default "100" */
    limit: string;
  };
  decide: JsonOption &
    LocalAttribution & {
      /**
       * The evidence digest you were shown elsewhere (the web inbox); refused when the layer's
       * evidence is not that any more. @default computed from the promotion's status now
       */
      evidence?: string;
      /** Do not ask for confirmation on a terminal. @default false */
      yes?: boolean;
      /** The layer awaiting approval. */
      layer: string;
    };
  abort: JsonOption & LocalAttribution;
}

export function registerPromotionCommands(program: Command): void {
  command(program, 'promote', 'start promoting a candidate through the ladder')
    .options<PromotionOptions['promote']>({
      ladder: {
        argument: '<name|file>',
        description: 'a stored ladder (strata ladder ls); in local mode a ladder.yaml, applied first',
        required: true,
      },
      candidate: { argument: '<dir>', description: 'candidate directory holding candidate.yaml', required: true },
      from: { argument: '<layer>', description: 'first layer (default: the first)' },
      to: { argument: '<layer>', description: 'last layer (default: the last)' },
      id: { argument: '<id>', description: 'promotion id (default: candidate-version-<random>)' },
      as: { argument: '<user>', description: 'who starts it (default: $STRATA_USER or the login name)' },
      wait: { description: 'wait for the end; exit 0 promoted, 1 failed or aborted' },
      json: { description: 'print JSON' },
    })
    .action(async (opts) => {
      if (apiBase()) return promoteViaApi(opts);
      const { isLadderFile, applyLadderFile } = await import('./ladders');
      const { layerRange, loadLadder } = await import('../config/ladder');
      const { loadCandidate } = await import('../config/candidate');
      // Validate everything before touching Temporal: a config error starts nothing.
      const file = isLadderFile(opts.ladder) ? opts.ladder : undefined;
      const spec = file ? loadLadder(file) : undefined;
      if (spec) layerRange(spec, opts.from, opts.to);
      const candidate = await loadCandidate(path.resolve(opts.candidate));
      const initiator = (opts.as ?? defaultUser()).trim();
      if (!initiator) throw new UsageError('--as: expected a non-empty identity');
      if (opts.id !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(opts.id)) {
        throw new UsageError(`--id: expected letters, digits, ".", "_" or "-" (got "${opts.id}")`);
      }
      return withClient(async (client, settings) => {
        const { getLadderVersion } = await import('../temporal/ladders');
        const { startPromotion } = await temporalPromotions();
        // Pinned here: the promotion runs this version even if the ladder changes meanwhile.
        const stored =
          spec && file
            ? await applyLadderFile(client, settings.taskQueue, spec, file, initiator, 'promote')
            : await getLadderVersion(client, settings.taskQueue, opts.ladder);
        layerRange(stored.ladder, opts.from, opts.to);
        process.stderr.write(
          `strata: ladder ${stored.ladder.name} version ${stored.version} (sha256 ${stored.digest.slice(0, 12)})\n`,
        );
        const id = await startPromotion(client, {
          id: opts.id,
          ladder: { name: stored.ladder.name, version: stored.version, from: opts.from, to: opts.to },
          candidate,
          initiator,
          taskQueue: settings.taskQueue,
          artifacts: settings.paths.artifacts,
        });
        if (!opts.wait) {
          if (opts.json) printJson({ id });
          else print(id);
          return EXIT_OK;
        }
        process.stderr.write(`strata: started ${id}\n`);
        const final = await waitUntilEnded(client, id, (s) => process.stderr.write(`${describeProgress(s)}\n`));
        if (opts.json) printJson(final);
        else print(renderStatus(final));
        return final.state === 'promoted' ? EXIT_OK : EXIT_FAILED;
      });
    });

  command(program, 'status <id>', 'state, per-layer phase, gate results and approvals of a promotion')
    .options<PromotionOptions['status']>({
      json: { description: 'print JSON' },
      watch: { description: 'refresh until the promotion ends' },
    })
    .action(async (id, opts) => {
      const show = async (get: () => Promise<PromotionStatus>) => {
        if (!opts.watch) {
          const s = await get();
          if (opts.json) printJson(s);
          else print(renderStatus(s));
          return EXIT_OK;
        }
        const tty = process.stdout.isTTY;
        await pollUntilEnded(get, (s) => {
          if (opts.json) process.stdout.write(`${JSON.stringify(s)}\n`);
          else print(`${tty ? '\x1b[2J\x1b[H' : '\n'}${renderStatus(s)}`);
        });
        return EXIT_OK;
      };
      if (apiBase()) return show(() => callApi<PromotionStatus>('GET', `/promotions/${encodeURIComponent(id)}`));
      const { readStatus } = await import('../temporal/status');
      return withWorkflowReader((reader) => show(() => readStatus(reader, id)));
    });

  command(program, 'list', 'promotions, from Temporal visibility')
    .options<PromotionOptions['list']>({
      phase: { argument: '<phase>', description: `one of ${PROMOTION_STATES.join(', ')}` },
      limit: { argument: '<n>', description: 'at most this many', default: '100' },
      json: { description: 'print JSON' },
    })
    .action(async (opts) => {
      const phase = opts.phase;
      if (phase !== undefined && !isPromotionState(phase)) {
        throw new UsageError(`--phase: expected one of ${PROMOTION_STATES.join(', ')} (got "${phase}")`);
      }
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new UsageError(`--limit: expected a whole number >= 1 (got "${opts.limit}")`);
      if (apiBase()) {
        const query = new URLSearchParams({ limit: String(limit), ...(phase ? { phase } : {}) });
        const rows = await callApi<PromotionSummary[]>('GET', `/promotions?${query}`);
        if (opts.json) printJson(rows);
        else print(renderList(rows));
        return EXIT_OK;
      }
      // Through Temporal's HTTP API where it answers (no gRPC to load), as status does.
      const { listFrom } = await import('../temporal/list');
      return withWorkflowReader(async (reader) => {
        const rows = await listFrom(reader, { phase, limit });
        if (opts.json) printJson(rows);
        else print(renderList(rows));
        return EXIT_OK;
      });
    });

  for (const decision of ['approve', 'reject'] as const) {
    command(program, `${decision} <id>`, `${decision} a layer awaiting approval (exit 1 with the reason when refused)`)
      .options<PromotionOptions['decide']>({
        layer: { argument: '<layer>', description: 'the layer', required: true },
        as: { argument: '<user>', description: 'your identity (local mode only; required there)' },
        reason: { argument: '<text>', description: 'why', required: true },
        evidence: {
          argument: '<sha256>',
          description: 'the evidence digest you were shown elsewhere (default: computed from the status now)',
        },
        yes: { description: 'do not ask for confirmation on a terminal' },
        json: { description: 'print JSON' },
      })
      .action(async (id, opts) => {
        if (opts.evidence !== undefined && !/^[0-9a-f]{64}$/.test(opts.evidence))
          throw new UsageError(`--evidence: expected a sha256 digest (64 hex digits), got "${opts.evidence}"`);
        // The evidence the decision is made on: printed, confirmed on a terminal, sent; the layer
        // refuses it if the evidence is not that any more (approval.refused: stale evidence).
        const shown = async (status: PromotionStatus): Promise<ShownEvidence | undefined> => {
          // The digest's hashing (@noble/hashes) loads with approve and reject, not with status.
          const { evidenceDigest, layerEvidence } = await import('../domain/evidence');
          const evidence = layerEvidence(status, opts.layer);
          const now = evidence ? evidenceDigest(evidence) : undefined;
          const sent: ShownEvidence | undefined =
            opts.evidence !== undefined
              ? { digest: opts.evidence, ...(now?.digest === opts.evidence ? { parts: now.parts } : {}) }
              : now;
          if (!sent || !evidence) return sent;
          process.stderr.write(
            `strata: ${decision} ${opts.layer} of ${id} on evidence sha256 ${sent.digest}\n` +
              `strata:   ${evidence.gates.map((g) => `${g.name} ${g.passed ? 'passed' : 'FAILED'} (${g.value ?? '-'}${g.unit ? ` ${g.unit}` : ''} / ${g.threshold ?? '-'})`).join(', ') || 'no gates'}; ` +
              `data ${evidence.data ? evidence.data.source : 'none'}; candidate sha256 ${evidence.candidateDigest.slice(0, 12)}…; ladder ${evidence.ladderDigest ? `sha256 ${evidence.ladderDigest.slice(0, 12)}…` : 'none'}\n`,
          );
          if (process.stdin.isTTY && !opts.yes && !(await confirm(`${decision} on this evidence? [y/N] `)))
            throw new UsageError('not confirmed; nothing sent');
          return sent;
        };
        const decide = async (): Promise<ApprovalReply> => {
          if (apiBase()) {
            ignoreAs(opts.as);
            const status = await callApi<PromotionStatus>('GET', `/promotions/${encodeURIComponent(id)}`);
            const evidence = await shown(status);
            const body = { layer: opts.layer, reason: opts.reason, ...(evidence ? { evidence } : {}) };
            return callApi<ApprovalReply>('POST', `/promotions/${encodeURIComponent(id)}/${decision}`, body);
          }
          const actor = localActor(opts.as);
          const { approve, getStatus, reject } = await temporalPromotions();
          return withClient(async (client) => {
            const evidence = await shown(await getStatus(client, id));
            const req = { layer: opts.layer, actor, reason: opts.reason, ...(evidence ? { evidence } : {}) };
            return decision === 'approve' ? approve(client, id, req) : reject(client, id, req);
          });
        };
        const reply = await decide();
        if (opts.json) printJson(reply);
        else if (decision === 'reject') print(`${reply.actor} rejected ${reply.layer} of ${id}: the layer rolls back`);
        else
          print(
            `${reply.actor} approved ${reply.layer} of ${id} (${reply.count}/${reply.required})` +
              (reply.quorumReached ? ': quorum reached, promoting' : ': waiting for more approvals'),
          );
        return EXIT_OK;
      });
  }

  command(program, 'abort <id>', 'abort a promotion: the current layer rolls back, no further layer starts')
    .options<PromotionOptions['abort']>({
      as: { argument: '<user>', description: 'your identity (local mode only; required there)' },
      reason: { argument: '<text>', description: 'why', required: true },
      json: { description: 'print JSON' },
    })
    .action(async (id, opts) => {
      if (apiBase()) ignoreAs(opts.as);
      const reply = apiBase()
        ? await callApi<{ aborted: true }>('POST', `/promotions/${encodeURIComponent(id)}/abort`, {
            reason: opts.reason,
          })
        : await withClient(async (client) =>
            (await temporalPromotions()).abort(client, id, { actor: localActor(opts.as), reason: opts.reason }),
          );
      if (opts.json) printJson({ id, ...reply });
      else print(`aborting ${id}: the current layer rolls back`);
      return EXIT_OK;
    });
}

/** `strata promote` in API mode: the server promotes a stored ladder as the token's identity. */
async function promoteViaApi(opts: PromotionOptions['promote']) {
  ignoreAs(opts.as);
  // A .yaml name is a ladder file whether or not it exists here (isLadderFile in ./ladders).
  if (/\.ya?ml$/i.test(opts.ladder)) {
    throw new UsageError(
      `--ladder ${opts.ladder}: API mode promotes stored ladders only; store it first (strata ladder apply ${opts.ladder})`,
    );
  }
  // The server promotes what it stores: upload the candidate's files under the digest computed
  // here; the server computes it again and refuses a mismatch.
  const { candidateUpload } = await import('../api/upload');
  const { candidate, upload } = await candidateUpload(path.resolve(opts.candidate));
  const uploaded = await callApi<{ digest: string; reused: boolean }>('PUT', `/candidates/${candidate.digest}`, upload);
  process.stderr.write(
    `strata: ${uploaded.reused ? 'server already holds' : 'uploaded'} ${candidate.name} ${candidate.version} (sha256 ${uploaded.digest.slice(0, 12)})\n`,
  );
  const started = await callApi<{ id: string }>('POST', '/promotions', {
    ladder: opts.ladder,
    candidate: candidate.digest,
    ...(opts.from ? { from: opts.from } : {}),
    ...(opts.to ? { to: opts.to } : {}),
    ...(opts.id ? { id: opts.id } : {}),
  });
  if (!opts.wait) {
    if (opts.json) printJson({ id: started.id });
    else print(started.id);
    return EXIT_OK;
  }
  process.stderr.write(`strata: started ${started.id}\n`);
  const final = await pollUntilEnded(
    () => callApi<PromotionStatus>('GET', `/promotions/${encodeURIComponent(started.id)}`),
    (s) => process.stderr.write(`${describeProgress(s)}\n`),
  );
  if (opts.json) printJson(final);
  else print(renderStatus(final));
  return final.state === 'promoted' ? EXIT_OK : EXIT_FAILED;
}

function isPromotionState(raw: string): raw is PromotionState {
  return (PROMOTION_STATES as readonly string[]).includes(raw);
}

/** Asks on the terminal; true for y/yes. */
async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  processStartTime,
  processState,
  stillRunning,
  waitForVerifiedExit,
  PROCESS_TOKEN_ENV,
} from '../../../src/tools/processes';

/** A process that exits at once under a parent that never reaps it: a zombie for `seconds`. */
async function zombie(seconds: number): Promise<{ pid: number; parent: number }> {
  const sh = spawn('sh', ['-c', `sleep 0 & echo $!; exec sleep ${seconds}`], { stdio: ['ignore', 'pipe', 'ignore'] });
  const pid = await new Promise<number>((resolve) => sh.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
  for (let i = 0; i < 100 && processState(pid) !== 'Z'; i++) await new Promise((r) => setTimeout(r, 20));
  return { pid, parent: sh.pid! };
}

describe('processes on their way out', () => {
  it('reads a zombie as exited: it has closed its files, though its pid is still taken', async () => {
    const { pid, parent } = await zombie(5);
    try {
      expect(processState(pid)).toBe('Z');
      expect(stillRunning(pid, processStartTime(pid)!)).toBe(false);
      expect(stillRunning(parent, processStartTime(parent)!)).toBe(true);
      expect(stillRunning(parent, processStartTime(parent)! + 1)).toBe(false); // a reused pid
    } finally {
      process.kill(parent, 'SIGKILL');
    }
  });

  it('waits for a killed process to be gone, not only for its environment to be unreadable', async () => {
    const token = 'tok-' + process.pid;
    const child = spawn('sleep', ['30'], { stdio: 'ignore', env: { ...process.env, [PROCESS_TOKEN_ENV]: token } });
    const pid = child.pid!;
    const id = { pid, startTime: processStartTime(pid)!, token };
    // Alive and ours: waited for until the deadline.
    expect(await waitForVerifiedExit(id, 200)).toBe(false);
    process.kill(pid, 'SIGKILL');
    expect(await waitForVerifiedExit(id, 5_000)).toBe(true);
    expect(stillRunning(pid, id.startTime)).toBe(false);
    // Someone else's process (no token of ours) is not waited for.
    const stranger = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const started = Date.now();
      expect(
        await waitForVerifiedExit({ pid: stranger.pid!, startTime: processStartTime(stranger.pid!)!, token }, 5_000),
      ).toBe(true);
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      stranger.kill('SIGKILL');
    }
  });
});

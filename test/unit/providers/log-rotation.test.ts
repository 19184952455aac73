import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lastLines, rotateLog } from '../../../src/providers/local';

// candidate.log rotates by copy-truncate at a size, keeping a bounded number of old files.
describe('rotateLog', () => {
  it('rotates past the size, keeps at most `keep` old files, and the writer keeps appending to the same file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-log-'));
    const file = path.join(dir, 'candidate.log');
    const fd = fs.openSync(file, 'a'); // as the candidate holds it
    for (let round = 1; round <= 5; round++) {
      fs.writeSync(fd, `round ${round}\n`.repeat(200));
      expect(rotateLog(file, 1000, 3)).toBe(true);
      expect(fs.statSync(file).size).toBe(0);
    }
    fs.writeSync(fd, 'after\n');
    fs.closeSync(fd);
    expect(fs.readFileSync(file, 'utf8')).toBe('after\n');
    expect(fs.readFileSync(`${file}.1`, 'utf8')).toContain('round 5');
    expect(fs.readFileSync(`${file}.3`, 'utf8')).toContain('round 3');
    expect(fs.existsSync(`${file}.4`)).toBe(false);
    expect(rotateLog(file, 1000, 3)).toBe(false); // small: left alone
    expect(lastLines(`${file}.1`, 2)).toBe('round 5\nround 5');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

// The PII scan's own configuration files: custom patterns (YAML, `{name: regex}`) and a deny-list
// (one term per line). Problems become a ConfigError naming the file and the entry.

import { type ConfigIssue, ConfigError, describeValue } from '../../validation/errors';
import { parseYamlMapping, readConfigFile } from '../../config/yaml';
import { BUILTIN_DETECTORS, DENY_LIST_DETECTOR, normalizeDenyTerms, type PatternDetectorSpec } from './detectors';

const PATTERN_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;
/** `/body/flags`: a regex with flags, for case-insensitive (`i`) or Unicode (`u`) patterns. */
const SLASHED = /^\/(.+)\/([a-z]*)$/s;
const ALLOWED_FLAGS = new Set(['i', 'm', 's', 'u', 'g']);

/**
 * Patterns from the text of a YAML file mapping detector names to regular expressions, e.g.
 * `employee_id: '\bEMP-\d{6}\b'` or `project: '/falcon-\d+/i'`. Every match counts as a finding.
 */
export function parsePatterns(text: string, file: string): PatternDetectorSpec[] {
  const doc = parseYamlMapping(text, file, 'a mapping of pattern names to regular expressions');
  const issues: ConfigIssue[] = [];
  const patterns: PatternDetectorSpec[] = [];
  for (const [name, value] of Object.entries(doc)) {
    const problem = (message: string) =>
      issues.push({ path: PATTERN_NAME.test(name) ? name : JSON.stringify(name), message });
    if (!PATTERN_NAME.test(name)) {
      problem('a pattern name starts with a letter and holds only letters, digits, "_", "-" and "."');
      continue;
    }
    if ((BUILTIN_DETECTORS as readonly string[]).includes(name) || name === DENY_LIST_DETECTOR) {
      problem(`"${name}" is the name of a built-in detector; choose another name`);
      continue;
    }
    if (typeof value !== 'string' || value === '') {
      problem(`expected a regular expression (a string), got ${describeValue(value)}`);
      continue;
    }
    const slashed = SLASHED.exec(value);
    const source = slashed ? slashed[1] : value;
    const flags = slashed ? slashed[2] : '';
    const badFlag = [...flags].find((f) => !ALLOWED_FLAGS.has(f));
    if (badFlag !== undefined) {
      problem(`unknown or unsupported regular expression flag "${badFlag}"; allowed: i, m, s, u`);
      continue;
    }
    let regex: RegExp;
    try {
      regex = new RegExp(source, flags.replace('g', ''));
    } catch (error) {
      problem(`not a valid regular expression: ${(error as Error).message}`);
      continue;
    }
    if (new RegExp(`^(?:${source})$`, regex.flags).test('')) {
      problem('the pattern matches the empty string; it must match at least one character');
      continue;
    }
    patterns.push({ name, regex });
  }
  if (issues.length > 0) throw new ConfigError(file, issues);
  if (patterns.length === 0)
    throw new ConfigError(file, [{ path: '', message: 'no patterns; expected at least one `name: regex` entry' }]);
  return patterns;
}

export function loadPatterns(file: string): PatternDetectorSpec[] {
  return parsePatterns(readConfigFile(file, 'a YAML file'), file);
}

/**
 * Deny-list terms from a text file: one term per line, matched case-insensitively as whole words;
 * blank lines and lines starting with `#` are ignored.
 */
export function parseDenyList(text: string, file: string): string[] {
  const terms = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const normalized = normalizeDenyTerms(terms);
  if (normalized.length === 0)
    throw new ConfigError(file, [{ path: '', message: 'no terms; expected one term per line' }]);
  return normalized;
}

export function loadDenyList(file: string): string[] {
  return parseDenyList(readConfigFile(file, 'a text file with one term per line'), file);
}

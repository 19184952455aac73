import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError, describeValue } from '../validation/errors';

/**
 * Parses the text of a YAML config file whose top level must be a mapping. Syntax errors, an
 * empty document and a non-mapping document become a ConfigError naming `file`; syntax errors
 * say where (line and column, 1-based).
 */
export function parseYamlMapping(text: string, file: string, expected: string): Record<string, unknown> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((error) => {
        const { line, col } = lineCounter.linePos(error.pos[0]);
        const reason =
          error.code === 'MULTIPLE_DOCS' ? 'the file holds more than one YAML document (---)' : error.message;
        return { path: '', message: `YAML syntax error at line ${line}, column ${col}: ${reason}` };
      }),
    );
  }
  if (doc.contents === null) {
    throw new ConfigError(file, [{ path: '', message: `the file is empty (or only comments); expected ${expected}` }]);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    throw new ConfigError(file, [{ path: '', message: `cannot read YAML: ${(error as Error).message}` }]);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(file, [{ path: '', message: `expected ${expected}, got ${describeValue(value)}` }]);
  }
  return value as Record<string, unknown>;
}

/** The text of a configuration file; a missing or unreadable file is a ConfigError naming it. */
export function readConfigFile(file: string, expected = 'a YAML file'): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT'
        ? 'file not found'
        : code === 'EISDIR'
          ? `is a directory, expected ${expected}`
          : `cannot read the file: ${(error as Error).message}`;
    throw new ConfigError(file, [{ path: '', message }]);
  }
}

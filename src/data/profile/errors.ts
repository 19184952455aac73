// Errors about data the user handed us (a source, a profile, a rule): each names the file (or the
// table, or the redacted connection URL), where in it, and what was expected. They are
// ConfigErrors, so the CLI reports them as bad input with exit code 2.

import { ConfigError } from '../../validation/errors';

export class DataInputError extends ConfigError {
  constructor(file: string, where: string, message: string) {
    super(file, [{ path: where, message }]);
    this.name = 'DataInputError';
  }
}

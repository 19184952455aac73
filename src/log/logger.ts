import pino from 'pino';

/** Logs go to stderr (results go to stdout); level from STRATA_LOG_LEVEL, default info. */
export const logger = pino(
  { name: 'strata', level: process.env.STRATA_LOG_LEVEL ?? 'info', base: undefined },
  pino.destination({ dest: 2, sync: true }),
);

import pino, { type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { currentContext } from './context';

export type { Logger } from 'pino';

export interface LoggerOptions {
  service: string;
  level: LevelWithSilent;
  /** Where lines go; stdout when omitted. Tests pass a stream to read what was logged. */
  destination?: DestinationStream;
}

/** Fields that never reach a log line, wherever they appear in a logged object. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.oldPassword',
  '*.newPassword',
  '*.passcode',
  '*.accessToken',
  '*.refreshToken',
  '*.ticket',
  'password',
  'passcode',
];

// pino-http binds `requestId` on its per-request child logger; every other line gets it from the
// work context. Remembering which loggers already carry it avoids writing the key twice.
const bindsRequestId = new WeakMap<Logger, boolean>();

function requestIdMixin(_mergeObject: object, _level: number, logger: Logger): object {
  const context = currentContext();
  if (!context) return {};
  let bound = bindsRequestId.get(logger);
  if (bound === undefined) {
    bound = 'requestId' in logger.bindings();
    bindsRequestId.set(logger, bound);
  }
  return bound ? {} : { requestId: context.requestId };
}

export function createLogger({ service, level, destination }: LoggerOptions): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      mixin: requestIdMixin,
    },
    destination ?? pino.destination({ sync: false }),
  );
}

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

/** Every line written while a request or an event is being handled carries its request id. */
function requestIdMixin(): object {
  const context = currentContext();
  return context ? { requestId: context.requestId } : {};
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

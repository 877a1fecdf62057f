import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../runtime/logger';

export interface CapturedLogger {
  logger: Logger;
  /** Every line logged so far, parsed. */
  lines: () => Record<string, unknown>[];
}

/** A real pino logger writing into memory, so tests can assert on what was logged. */
export function captureLogger(service = 'test', level: 'debug' | 'info' = 'debug'): CapturedLogger {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const logger = createLogger({ service, level, destination });
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines };
}

export const silentLogger = (): Logger => createLogger({ service: 'test', level: 'silent' });

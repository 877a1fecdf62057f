import type { z } from 'zod';
import { ConfigError, parseConfig, type ConfigShape, type Env } from './config';
import { createLogger, type Logger, type LoggerOptions } from './logger';
import type { StartedService } from './service';

export interface RunServiceOptions<Shape extends z.ZodRawShape> {
  name: string;
  configShape: ConfigShape<Shape>;
  start: (config: z.infer<z.ZodObject<Shape>>, options: { logger: Logger }) => Promise<StartedService>;
}

/**
 * The whole of a service's `main`: loads the configuration (a bad one exits 1 naming every
 * problem), starts the service, and stops it gracefully on SIGTERM or SIGINT. A failed start and
 * any error nobody caught are logged as fatal through pino, flushed, and end the process with 1:
 * after an uncaught error the process state is unknown, so it is not kept serving.
 */
export function runService<Shape extends z.ZodRawShape>({ name, configShape, start }: RunServiceOptions<Shape>, env: Env = process.env): void {
  let config: z.infer<z.ZodObject<Shape>>;
  try {
    config = parseConfig(configShape, env);
  } catch (error) {
    const logger = createLogger({ service: name, level: 'info' });
    const problems = error instanceof ConfigError ? error.problems : undefined;
    logger.fatal({ err: error, problems }, `${name} has a bad configuration`);
    logger.flush(() => process.exit(1));
    return;
  }
  const logger = createLogger({ service: name, level: (config as { LOG_LEVEL?: LoggerOptions['level'] }).LOG_LEVEL ?? 'info' });
  const die = (message: string) => (error: unknown) => {
    logger.fatal({ err: error }, message);
    logger.flush(() => process.exit(1));
  };
  process.once('uncaughtException', die('uncaught exception'));
  process.once('unhandledRejection', die('unhandled promise rejection'));
  start(config, { logger }).then(({ lifecycle }) => lifecycle.handleSignals(), die(`${name} failed to start`));
}

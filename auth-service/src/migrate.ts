import { createLogger, loadConfig, prepareDatabase } from '@board/service-kit';
import { configShape } from './config';
import { MIGRATIONS_DIR, SERVICE_NAME } from './service';

/** `npm run migrate -w auth-service`: applies pending migrations and exits. */
const config = loadConfig(configShape(process.env));
const logger = createLogger({ service: SERVICE_NAME, level: config.LOG_LEVEL });

prepareDatabase({
  connectionString: config.DATABASE_URL,
  migrationsDir: MIGRATIONS_DIR,
  logger,
  createIfMissing: config.NODE_ENV !== 'production',
}).then(
  () => logger.flush(() => process.exit(0)),
  (error: unknown) => {
    logger.fatal({ err: error }, 'migrations failed');
    logger.flush(() => process.exit(1));
  },
);

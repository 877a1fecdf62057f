import { createLogger, loadConfig, prepareDatabase } from '@board/service-kit';
import { SERVICE_NAME, migrationConfigShape } from './config';
import { MIGRATIONS_DIR } from './service';

const config = loadConfig(migrationConfigShape);
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

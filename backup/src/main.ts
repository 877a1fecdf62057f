import { createLogger, loadConfig } from '@board/service-kit';
import { SERVICE_NAME, configShape } from './config';
import { start } from './service';

const config = loadConfig(configShape);
const logger = createLogger({ service: SERVICE_NAME, level: config.LOG_LEVEL });

start(config, { logger }).then(
  ({ lifecycle }) => lifecycle.handleSignals(),
  (error: unknown) => {
    logger.fatal({ err: error }, 'backup service failed to start');
    logger.flush(() => process.exit(1));
  },
);

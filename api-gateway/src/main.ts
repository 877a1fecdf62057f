import { createLogger, loadConfig } from '@board/service-kit';
import { configShape } from './config';
import { SERVICE_NAME, start } from './service';

const config = loadConfig(configShape);
const logger = createLogger({ service: SERVICE_NAME, level: config.LOG_LEVEL });

start(config, { logger }).then(
  ({ lifecycle }) => lifecycle.handleSignals(),
  (error: unknown) => {
    logger.fatal({ err: error }, 'api-gateway failed to start');
    logger.flush(() => process.exit(1));
  },
);

import { createLogger, loadConfig } from '@board/service-kit';
import { configShape } from './config';
import { SERVICE_NAME, start } from './service';

const config = loadConfig(configShape(process.env));
const logger = createLogger({ service: SERVICE_NAME, level: config.LOG_LEVEL });

start(config, { logger }).then(
  (service) => service.lifecycle.handleSignals(),
  (error: unknown) => {
    logger.fatal({ err: error }, 'auth-service failed to start');
    logger.flush(() => process.exit(1));
  },
);

import { loadConfig } from '@board/service-kit';
import { configShape } from './config';
import { start } from './service';

const config = loadConfig(configShape);

start(config).then(
  ({ lifecycle }) => lifecycle.handleSignals(),
  (error: unknown) => {
    console.error('realtime-service failed to start:', error);
    process.exit(1);
  },
);

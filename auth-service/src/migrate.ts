import { loadConfig, migrateAndExit } from '@board/service-kit';
import { configShape } from './config';
import { MIGRATIONS_DIR, SERVICE_NAME } from './service';

/** `npm run migrate -w auth-service`: applies pending migrations and exits. */
migrateAndExit({ service: SERVICE_NAME, migrationsDir: MIGRATIONS_DIR, config: loadConfig(configShape(process.env)) });

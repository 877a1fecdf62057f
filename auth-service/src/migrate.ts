import { loadConfig, migrateAndExit } from '@board/service-kit';
import { SERVICE_NAME, migrationConfigShape } from './config';
import { MIGRATIONS_DIR } from './service';

/** `npm run migrate -w auth-service`: applies pending migrations and exits. */
migrateAndExit({ service: SERVICE_NAME, migrationsDir: MIGRATIONS_DIR, config: loadConfig(migrationConfigShape) });

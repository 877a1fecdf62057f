import { runService } from '@board/service-kit';
import { SERVICE_NAME, configShape } from './config';
import { start } from './service';

runService({ name: SERVICE_NAME, configShape, start });

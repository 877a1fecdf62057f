import type { ChaosOptions } from '../options';
import type { ScenarioResult } from '../report';
import { runOutage } from './outage';

/** RabbitMQ away: writes commit with their events in the outbox, which the relays publish once it is back. */
export const rabbitmqOutage = (options: ChaosOptions): Promise<ScenarioResult> =>
  runOutage(
    {
      scenario: 'rabbitmq',
      server: 'amqp',
      describe: (outage, rate) => `RabbitMQ unreachable ${outage} s under ${rate} writes/s`,
      writesMayFailDuringOutage: false,
      reads: false,
      mustTurnRed: () => false,
    },
    options,
  );

/**
 * Redis away: the gateway fails open, writes and reads go on; the realtime-service ends its
 * streams (its live feed is gone) and holds events until Redis is back, when clients resume.
 */
export const redisOutage = (options: ChaosOptions): Promise<ScenarioResult> =>
  runOutage(
    {
      scenario: 'redis',
      server: 'redis',
      describe: (outage, rate) => `Redis unreachable ${outage} s under ${rate} writes/s and 10 reads/s`,
      writesMayFailDuringOutage: false,
      reads: true,
      mustTurnRed: () => false,
    },
    options,
  );

/**
 * PostgreSQL "restarted": every connection cut, new ones refused, then back. Writes may fail
 * meanwhile, but never half: every service that uses it goes unready and comes back.
 */
export const postgresRestart = (options: ChaosOptions): Promise<ScenarioResult> =>
  runOutage(
    {
      scenario: 'postgres',
      server: 'postgres',
      describe: (outage, rate) => `PostgreSQL connections cut and refused for ${outage} s under ${rate} writes/s`,
      writesMayFailDuringOutage: true,
      reads: false,
      mustTurnRed: (replica) => /^(auth|user|message)-service/.test(replica),
    },
    options,
  );

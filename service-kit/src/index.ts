/*
 * What every service is built from. The board's own contract (roles, identity, channels, the
 * event catalog) is the `@board/service-kit/contracts` entry point; test support is
 * `@board/service-kit/testing`.
 */

// runtime: configuration, logging, metrics, the start and the graceful stop
export {
  ConfigError,
  amqpUrl,
  commonSettings,
  connectionPassword,
  databaseSettings,
  databaseUrl,
  isProduction,
  loadConfig,
  parseConfig,
  port,
  redisUrl,
  secret,
  urlWithScheme,
  type ConfigShape,
  type Env,
} from './runtime/config';
export { currentContext, runInContext, type WorkContext } from './runtime/context';
export { createLogger, type Logger, type LoggerOptions } from './runtime/logger';
export { Counter, Gauge, Histogram, Registry, createMetrics, sharedMetric, type ServiceMetrics } from './runtime/metrics';
export { Lifecycle } from './runtime/lifecycle';
export { runEvery, type PeriodicTaskOptions } from './runtime/periodic';
export {
  startService,
  type EventServiceStartOptions,
  type ServiceParts,
  type ServiceStartConfig,
  type ServiceWiring,
  type StartedService,
} from './runtime/service';
export { runService, type RunServiceOptions } from './runtime/main';

// http: the app every service shares, its errors, health, validation and paging
export { createHttpApp, requestContext, requestLogger, type HttpAppBasics, type HttpAppOptions } from './http/app';
export {
  AppError,
  badRequest,
  conflict,
  errorBody,
  errorHandler,
  forbidden,
  found,
  notFound,
  notFoundHandler,
  serviceUnavailable,
  unauthorized,
  validationFailed,
  type ErrorBody,
  type ErrorDetail,
} from './http/errors';
export { checks, healthRouter, type ReadinessCheck, type ReadinessChecks } from './http/health';
export { metricsEndpoint, requestMetrics } from './runtime/metrics';
export { DISPLAY_NAME_MAX, cleanDisplayName, displayNameField, onlyFields, uuidParam, validate, validated } from './http/validation';
export { cursorQuery, decodeCursor, encodeCursor, limitQuery, pageFrom, sortTimeSql, type PagePosition, type PagedRow } from './http/paging';
export { callerOf, optionalIdentity, requireIdentity, requireRole, viewerOf } from './http/identity';

// postgres: the pool, migrations, and the transactions that record events in the outbox
export { createPool, postgresClientConfig, withTransaction, type DatabaseSettings, type PoolClient, type Queryable } from './postgres/pool';
export { migrate, migrateAndExit, openDatabase, type MigrationSettings } from './postgres/migrations';
export { Database, Transaction } from './postgres/database';
export {
  Upkeep,
  handledEventPruning,
  outboxPruning,
  startUpkeep,
  upkeepSettings,
  type UpkeepConfig,
  type UpkeepJob,
  type UpkeepOptions,
} from './postgres/upkeep';

// redis: clients, revocations, failure limits
export { Redis, closeRedis, createRedis, openRedis, redisReady, type OpenRedisOptions } from './redis/client';
export {
  RevocationList,
  RevocationMirror,
  parseRevocationNotice,
  type RevocationCheck,
  type RevocationMirrorOptions,
  type RevocationNotice,
  type RoleChange,
  type TokenStanding,
} from './redis/revocations';
export { FailureLimit, type FailureLimitOptions } from './redis/failure-limit';

// events: the broker connection, topology, outbox relay, publisher and consumer
export { createEvent } from './events/envelope';
export { AmqpConnection, amqpCredentials, type AmqpConnectionOptions } from './events/connection';
export {
  assertBoardQueues,
  assertConsumerQueues,
  assertExchange,
  deadLetterQueueName,
  eventSettings,
  parkedQueueName,
  queueName,
  retryQueueName,
  topologyFrom,
  type Topology,
} from './events/topology';
export { EventPublisher, PublisherUnavailableError, UnroutableEventError } from './events/publisher';
export { OutboxRelay, type OutboxRelayOptions } from './events/outbox-relay';
export { EventConsumer, type ConsumerOptions, type HandlerOutcome } from './events/consumer';
export {
  createEventIntake,
  createMessaging,
  startMessaging,
  type ConsumeOptions,
  type EventIntake,
  type Messaging,
  type MessagingConfig,
  type StartMessagingOptions,
} from './events/messaging';

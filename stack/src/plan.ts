import type { ComposeService, Env } from './compose';

/** Where the local servers are; compose's containers become these. */
export interface LocalServers {
  postgres: string;
  redis: string;
  amqp: string;
}

/** The servers on this machine; the TEST_* variables (shared with the test suites) override them. */
export const DEFAULT_LOCAL_SERVERS: LocalServers = {
  postgres: process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432',
  redis: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  amqp: process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
};

export interface PlanOptions {
  /** Added to every port, so a second stack (tests, benchmarks) can run beside the first. */
  portOffset?: number;
  /**
   * Isolates a run on the shared servers: suffix for database names, Redis key prefix, exchange
   * and queue prefix. Empty for the normal local stack.
   */
  namespace?: string;
  /** Variables set on every service after the compose environment (e.g. ADMIN_EMAIL, LOG_LEVEL). */
  overrides?: Env;
  servers?: LocalServers;
}

export interface ServicePlan {
  name: string;
  workspace: string;
  port: number;
  env: Record<string, string>;
}

export interface EdgePlan {
  httpsPort: number;
  httpPort: number;
  /** host:port of every gateway replica, for nginx's upstream block. */
  gatewayUpstreams: string[];
  serverName: string;
}

export interface StackPlan {
  services: ServicePlan[];
  edge: EdgePlan;
  databases: string[];
}

const withHost = (url: URL, base: string) => {
  const local = new URL(base);
  url.protocol = local.protocol;
  url.username = local.username;
  url.password = local.password;
  url.host = local.host;
  return url;
};

/**
 * Turns the compose services into local processes: the same variables, with compose host names
 * pointing at 127.0.0.1 and the local servers, ports shifted by the offset, and per-run names.
 */
export function planStack(compose: Map<string, ComposeService>, options: PlanOptions = {}): StackPlan {
  const offset = options.portOffset ?? 0;
  const namespace = options.namespace ?? '';
  const servers = options.servers ?? DEFAULT_LOCAL_SERVERS;
  const nodeServices = [...compose.values()].filter((service) => service.workspace !== undefined);
  const portOf = new Map(nodeServices.map((service) => [service.name, Number(service.environment.PORT) + offset]));
  const databases: string[] = [];

  const localise = (key: string, value: string): string => {
    if (!/^[a-z]+:\/\//.test(value)) return value;
    const url = new URL(value);
    const host = url.hostname;
    if (host === 'postgres') {
      const database = `${url.pathname.slice(1)}${namespace ? `_${namespace}` : ''}`;
      databases.push(database);
      const local = withHost(url, servers.postgres);
      local.pathname = `/${database}`;
      return local.toString();
    }
    if (host === 'redis') return withHost(url, servers.redis).toString();
    if (host === 'rabbitmq') return withHost(url, servers.amqp).toString().replace(/\/$/, '');
    const port = portOf.get(host);
    if (port !== undefined) return `${url.protocol}//127.0.0.1:${port}${url.pathname === '/' ? '' : url.pathname}`;
    throw new Error(`${key}: don't know where compose host "${host}" runs locally`);
  };

  const services = nodeServices.map((service): ServicePlan => {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(service.environment)) env[key] = localise(key, value);
    env.PORT = String(portOf.get(service.name));
    if (namespace) {
      env.REDIS_KEY_PREFIX = `${namespace}:`;
      env.EVENTS_EXCHANGE = `${namespace}.domain.events`;
      env.EVENTS_QUEUE_PREFIX = `${namespace}.`;
    }
    for (const [key, value] of Object.entries(options.overrides ?? {})) if (value !== undefined) env[key] = value;
    return { name: service.name, workspace: service.workspace!, port: portOf.get(service.name)!, env };
  });

  const nginx = compose.get('nginx');
  const gateway = nginx?.environment.GATEWAY_UPSTREAM ?? 'api-gateway:3000';
  const [gatewayHost] = gateway.split(':');
  const httpsPort = Number(nginx?.environment.HTTPS_PORT ?? 8443) + offset;
  return {
    services,
    databases,
    edge: {
      httpsPort,
      httpPort: 8080 + offset,
      gatewayUpstreams: [`127.0.0.1:${portOf.get(gatewayHost!) ?? 3000 + offset}`],
      serverName: nginx?.environment.SERVER_NAME || 'localhost',
    },
  };
}

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
  /** Replicas per compose service (default 1), as `docker compose up --scale` would run them. */
  scale?: Readonly<Record<string, number>>;
}

export interface ServicePlan {
  /** The process: the compose service's name, with `-2`, `-3`... for further replicas. */
  name: string;
  /** The compose service it is a replica of. */
  service: string;
  workspace: string;
  port: number;
  env: Record<string, string>;
}

export interface EdgePlan {
  httpsPort: number;
  httpPort: number;
  /** stub_status, for the nginx exporter (never published). */
  statusPort: number;
  /** host:port of every gateway replica, for nginx's upstream block. */
  gatewayUpstreams: string[];
  serverName: string;
}

/** Replica n (from 1) of a service listens this many ports above the first, inside the stack's range of 100. */
const REPLICA_PORT_STEP = 10;
const MAX_REPLICAS = 9;

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

/** Passwords to the containers' servers: the local servers' URLs carry their own credentials instead. */
const CONTAINER_PASSWORDS = new Set(['DATABASE_PASSWORD', 'AMQP_PASSWORD']);

/**
 * Turns the compose services into local processes: the same variables, with compose host names
 * pointing at 127.0.0.1 and the local servers, ports shifted by the offset, and per-run names.
 */
export function planStack(compose: Map<string, ComposeService>, options: PlanOptions = {}): StackPlan {
  const offset = options.portOffset ?? 0;
  const namespace = options.namespace ?? '';
  const servers = options.servers ?? DEFAULT_LOCAL_SERVERS;
  const nodeServices = [...compose.values()].filter((service) => service.workspace !== undefined);
  const portsOf = new Map(nodeServices.map((service) => [service.name, replicaPorts(service, options.scale, offset)]));
  for (const name of Object.keys(options.scale ?? {})) {
    if (!portsOf.has(name)) throw new Error(`--scale: "${name}" is not a service of docker-compose.yml`);
  }
  const databases = new Set<string>();

  const localise = (key: string, value: string): string => {
    if (!/^[a-z]+:\/\//.test(value)) return value;
    const url = new URL(value);
    const host = url.hostname;
    if (host === 'postgres') {
      const database = `${url.pathname.slice(1)}${namespace ? `_${namespace}` : ''}`;
      databases.add(database);
      const local = withHost(url, servers.postgres);
      local.pathname = `/${database}`;
      return local.toString();
    }
    if (host === 'redis') return withHost(url, servers.redis).toString();
    if (host === 'rabbitmq') return withHost(url, servers.amqp).toString().replace(/\/$/, '');
    const ports = portsOf.get(host);
    const path = url.pathname === '/' ? '' : url.pathname;
    // Compose's DNS name stands for every replica; locally each has its own port, listed in turn.
    if (ports !== undefined) return ports.map((port) => `${url.protocol}//127.0.0.1:${port}${path}`).join(',');
    throw new Error(`${key}: don't know where compose host "${host}" runs locally`);
  };

  const services = nodeServices.flatMap((service) => {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(service.environment)) if (!CONTAINER_PASSWORDS.has(key)) env[key] = localise(key, value);
    if (namespace) {
      env.REDIS_KEY_PREFIX = `${namespace}:`;
      env.EVENTS_EXCHANGE = `${namespace}.domain.events`;
      env.EVENTS_QUEUE_PREFIX = `${namespace}.`;
    }
    for (const [key, value] of Object.entries(options.overrides ?? {})) if (value !== undefined) env[key] = value;
    return portsOf.get(service.name)!.map(
      (port, index): ServicePlan => ({
        name: index === 0 ? service.name : `${service.name}-${index + 1}`,
        service: service.name,
        workspace: service.workspace!,
        port,
        // Loopback, whatever compose says: the services trust identity headers, and here nothing
        // stands between their ports and the machine's network.
        env: { ...env, PORT: String(port), HOST: '127.0.0.1' },
      }),
    );
  });

  const nginx = compose.get('nginx');
  const gateway = nginx?.environment.GATEWAY_UPSTREAM ?? 'api-gateway:3000';
  const [gatewayHost] = gateway.split(':');
  const httpsPort = Number(nginx?.environment.HTTPS_PORT ?? 8443) + offset;
  return {
    services,
    databases: [...databases],
    edge: {
      httpsPort,
      httpPort: 8080 + offset,
      statusPort: 8081 + offset,
      gatewayUpstreams: (portsOf.get(gatewayHost!) ?? [3000 + offset]).map((port) => `127.0.0.1:${port}`),
      serverName: nginx?.environment.SERVER_NAME || 'localhost',
    },
  };
}

function replicaPorts(service: ComposeService, scale: PlanOptions['scale'], offset: number): number[] {
  const replicas = scale?.[service.name] ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS) {
    throw new Error(`--scale: ${service.name} takes 1 to ${MAX_REPLICAS} replicas, not ${replicas}`);
  }
  const first = Number(service.environment.PORT) + offset;
  return Array.from({ length: replicas }, (_, index) => first + index * REPLICA_PORT_STEP);
}

/** `api-gateway=2,realtime-service=2` (the CLI's --scale) as replicas per service. */
export function parseScale(text: string): Record<string, number> {
  const scale: Record<string, number> = {};
  for (const part of text.split(',').filter((item) => item.trim() !== '')) {
    const match = /^\s*([a-z0-9-]+)=(\d+)\s*$/.exec(part);
    if (!match) throw new Error(`--scale: "${part}" is not service=replicas`);
    scale[match[1]!] = Number(match[2]);
  }
  return scale;
}

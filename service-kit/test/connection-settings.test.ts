import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { amqpCredentials, AmqpConnection } from '../src/events/connection';
import { postgresClientConfig } from '../src/postgres/pool';
import { TEST_AMQP_URL, silentLogger } from '../src/testing';

/** Every character that ends or splits part of a URL, and percent-encoding that must stay literal. */
const RESERVED_PASSWORD = `p/a+s=s#w@o:r?d%41-${randomBytes(4).toString('hex')}`;

describe('postgresClientConfig', () => {
  it('takes everything from the URL, as pg would, when no password is set apart', () => {
    expect(postgresClientConfig({ DATABASE_URL: 'postgres://auth:url%2Fpass@db.internal:6543/auth?application_name=x' })).toMatchObject({
      host: 'db.internal',
      port: 6543,
      user: 'auth',
      password: 'url/pass',
      database: 'auth',
      application_name: 'x',
    });
  });

  it('uses DATABASE_PASSWORD verbatim, over a password in the URL', () => {
    const config = postgresClientConfig({ DATABASE_URL: 'postgres://auth:ignored@db:5432/auth', DATABASE_PASSWORD: RESERVED_PASSWORD });
    expect(config).toMatchObject({ host: 'db', port: 5432, user: 'auth', database: 'auth', password: RESERVED_PASSWORD });
  });
});

describe('amqpCredentials', () => {
  it('leaves the credentials to the URL without a password', () => {
    expect(amqpCredentials('amqp://board:secret@mq:5672', undefined)).toBeUndefined();
  });

  it('sends the URL\'s user with AMQP_PASSWORD verbatim (SASL PLAIN: NUL user NUL password)', () => {
    const credentials = amqpCredentials('amqp://bo%40ard@mq:5672', RESERVED_PASSWORD)!;
    expect(credentials.mechanism).toBe('PLAIN');
    expect(credentials.response().toString('utf8')).toBe(`\u0000bo@ard\u0000${RESERVED_PASSWORD}`);
  });
});

/**
 * RabbitMQ checks passwords, so a wrong one is refused: a broker user of this test's own whose
 * password holds every URL-reserved character. `rabbitmqctl` manages users on the broker's host;
 * where the broker is a container, TEST_RABBITMQCTL says how to reach it (`docker exec <id> rabbitmqctl`).
 */
describe('AmqpConnection with AMQP_PASSWORD, against the real broker', () => {
  const rabbitmqctl = (process.env.TEST_RABBITMQCTL ?? 'rabbitmqctl').split(' ');
  const ctl = (...args: string[]) => execFileSync(rabbitmqctl[0]!, [...rabbitmqctl.slice(1), ...args], { stdio: 'pipe' });
  const user = `reserved-password-${randomBytes(4).toString('hex')}`;
  const broker = new URL(TEST_AMQP_URL);
  const url = `amqp://${user}@${broker.host}`;
  const connections: AmqpConnection[] = [];

  beforeAll(() => {
    ctl('add_user', user, RESERVED_PASSWORD);
    ctl('set_permissions', '-p', '/', user, '.*', '.*', '.*');
  });
  afterAll(async () => {
    await Promise.all(connections.map((connection) => connection.close()));
    ctl('delete_user', user);
  });

  const connect = (password: string) => {
    const connection = new AmqpConnection({ url, password, logger: silentLogger(), name: 'reserved-password-test', reconnectDelayMs: { initial: 50, max: 50 } });
    connections.push(connection);
    connection.start();
    return connection.waitForConnection(3_000);
  };

  it('connects with the password as given', async () => {
    await expect(connect(RESERVED_PASSWORD)).resolves.toBe(true);
  });

  it('is refused with any other password (so the password really is checked)', async () => {
    await expect(connect(`${RESERVED_PASSWORD}x`)).resolves.toBe(false);
  });
});

/** pg's own `connectionString` option would lose the password; the server proof is in stack/test/postgres-init.test.ts. */
describe('pg.Client from postgresClientConfig', () => {
  it('carries DATABASE_PASSWORD, where { connectionString, password } would let the URL\'s empty one win', () => {
    const settings = { DATABASE_URL: 'postgres://auth@127.0.0.1:5432/auth', DATABASE_PASSWORD: RESERVED_PASSWORD };
    const passwordOf = (client: pg.Client) => (client as unknown as { password: string | null }).password;
    expect(passwordOf(new pg.Client(postgresClientConfig(settings)))).toBe(RESERVED_PASSWORD);
    expect(passwordOf(new pg.Client({ connectionString: settings.DATABASE_URL, password: RESERVED_PASSWORD }))).not.toBe(RESERVED_PASSWORD);
  });
});

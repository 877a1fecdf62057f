import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { freePort } from '@board/service-kit/testing';

/** The machine's RabbitMQ server script (Debian's layout), or TEST_RABBITMQ_SERVER. */
const SERVER = process.env.TEST_RABBITMQ_SERVER ?? '/usr/lib/rabbitmq/bin/rabbitmq-server';

export interface ScratchRabbitMq {
  managementUrl: string;
  user: string;
  password: string;
  stop: () => Promise<void>;
}

/** Why no node of a test's own can start here, or undefined when one can. */
export function rabbitMqServerMissing(): string | undefined {
  if (!existsSync(SERVER)) return `no RabbitMQ server at ${SERVER} (set TEST_RABBITMQ_SERVER)`;
  if (userInfo().uid === 0 && spawnUserMissing()) return 'running as root, and there is no `rabbitmq` user to run RabbitMQ as';
  return undefined;
}

const spawnUserMissing = () => {
  try {
    execFileSync('id', ['-u', 'rabbitmq'], { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
};

/**
 * A RabbitMQ node of a test's own, with the management plugin, from the machine's RabbitMQ: its
 * own node name, ports, data and configuration in a temporary directory (the shared broker's
 * configuration and data are not read). It registers with the machine's epmd, as a second node
 * on one host does. As root, it runs as the `rabbitmq` system user.
 */
export async function startScratchRabbitMq(): Promise<ScratchRabbitMq> {
  const dir = mkdtempSync(path.join(tmpdir(), 'scratch-rabbitmq-'));
  const [amqpPort, managementPort, distributionPort] = [await freePort(), await freePort(), await freePort()];
  const user = 'scratch';
  const password = 'scratch-password';
  writeFileSync(path.join(dir, 'enabled_plugins'), '[rabbitmq_management].\n');
  writeFileSync(
    path.join(dir, 'rabbitmq.conf'),
    [`listeners.tcp.default = 127.0.0.1:${amqpPort}`, `management.tcp.port = ${managementPort}`, 'management.tcp.ip = 127.0.0.1', `default_user = ${user}`, `default_pass = ${password}`, ''].join('\n'),
  );
  const root = userInfo().uid === 0;
  if (root) for (const file of ['', 'enabled_plugins', 'rabbitmq.conf']) chownSync(path.join(dir, file), Number(execFileSync('id', ['-u', 'rabbitmq'])), Number(execFileSync('id', ['-g', 'rabbitmq'])));
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    // Not the machine's rabbitmq-env.conf, which names the shared node.
    RABBITMQ_CONF_ENV_FILE: '/dev/null',
    RABBITMQ_NODENAME: `scratch-${amqpPort}@localhost`,
    RABBITMQ_DIST_PORT: String(distributionPort),
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq.conf'),
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
  const [command, args] = root
    ? ['runuser', ['-u', 'rabbitmq', '--', 'env', '-i', ...Object.entries(env).map(([key, value]) => `${key}=${value}`), SERVER]]
    : [SERVER, []];
  // A process group of its own: the script, the Erlang VM and its helpers stop together.
  const server: ChildProcess = spawn(command, args, { cwd: dir, env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const managementUrl = `http://127.0.0.1:${managementPort}`;
  const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-server.pid!, signal);
    } catch {
      // already gone
    }
  };
  const stop = async () => {
    signalGroup('SIGTERM');
    const timedOut = await Promise.race([exited.then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 20_000).unref())]);
    if (timedOut) signalGroup('SIGKILL');
    // The VM outlives the script's exit for a moment; give the group its SIGKILL if any is left.
    await new Promise((resolve) => setTimeout(resolve, 500));
    signalGroup('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await fetch(`${managementUrl}/api/overview`, { headers: { authorization }, signal: AbortSignal.timeout(2_000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (server.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`scratch RabbitMQ did not start:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { managementUrl, user, password, stop };
}

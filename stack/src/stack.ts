import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { loadCompose, parseDotEnv, type Env } from './compose';
import { WEB_DIST, ensureCertificate, nginxBinary, renderNginx } from './edge';
import { planStack, type PlanOptions, type ServicePlan, type StackPlan } from './plan';

export const ROOT = path.resolve(__dirname, '..', '..');

export interface StackOptions extends PlanOptions {
  /** Where pid files, logs, the rendered nginx config and the certificate go. */
  runDir?: string;
  readyTimeoutMs?: number;
  /** Also print service logs to this process's stdout (the CLI does; tests read the files). */
  echoLogs?: boolean;
  /**
   * nginx template variables (nginx/templates/defaults.env) to change, e.g. a higher
   * NGINX_EVENTS_PER_IP for a benchmark whose every client has the same address.
   */
  edge?: Record<string, string>;
}

export interface RunningStack {
  plan: StackPlan;
  /** https://localhost:<port>: the public entry, through nginx. */
  baseUrl: string;
  /** The self-signed certificate nginx serves, for clients to trust. */
  certificate: string;
  runDir: string;
  serviceUrl: (name: string) => string;
  /** Process ids by name (each service replica and nginx), e.g. for benchmarks that read CPU time. */
  pids: Record<string, number>;
  /** Starts a service replica again (after a test killed it) and waits until it is ready. */
  restart: (name: string) => Promise<void>;
  /** Stops one replica with SIGTERM, as a deploy would, and resolves once it has exited. */
  stopReplica: (name: string) => Promise<void>;
  stop: () => Promise<void>;
}

interface Managed {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
}

/** Starts every Node service of docker-compose.yml plus nginx, and waits until all are ready. */
export async function startStack(options: StackOptions = {}): Promise<RunningStack> {
  const env = { ...dotEnv(), ...process.env };
  const plan = planStack(loadCompose(path.join(ROOT, 'docker-compose.yml'), env), options);
  const runDir = options.runDir ?? path.join(ROOT, '.run', options.namespace || 'local');
  mkdirSync(path.join(runDir, 'logs'), { recursive: true });
  const started: Managed[] = [];
  const stop = () => stopAll(started);
  try {
    for (const service of plan.services) started.push(spawnService(service, runDir, options.echoLogs));
    const certificate = ensureCertificate(path.join(runDir, 'certs'), plan.edge.serverName);
    if (!existsSync(path.join(WEB_DIST, 'index.html'))) throw new Error(`${WEB_DIST} is missing: run \`npm run build\` first`);
    const nginxConf = renderNginx(plan, runDir, options.edge);
    started.push(spawnLogged('nginx', nginxBinary(), ['-p', runDir, '-c', nginxConf, '-g', 'daemon off;'], {}, runDir, options.echoLogs));
    writeFileSync(path.join(runDir, 'pids'), started.map((item) => `${item.name} ${item.child.pid}`).join('\n') + '\n');
    const pids = Object.fromEntries(started.map((item) => [item.name, item.child.pid!]));

    const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
    await Promise.all(
      plan.services.map((service) => waitReady(`http://127.0.0.1:${service.port}/health/ready`, deadline, service.name, started, runDir)),
    );
    const baseUrl = `https://localhost:${plan.edge.httpsPort}`;
    await waitForPort(plan.edge.httpsPort, deadline, started, runDir);
    return {
      plan,
      baseUrl,
      certificate,
      runDir,
      serviceUrl: (name) => `http://127.0.0.1:${plan.services.find((service) => service.name === name)!.port}`,
      pids,
      restart: async (name) => {
        const service = plan.services.find((candidate) => candidate.name === name);
        if (!service) throw new Error(`no service replica named ${name}`);
        const previous = started.find((item) => item.name === name);
        if (previous && previous.child.exitCode === null && previous.child.signalCode === null) throw new Error(`${name} is still running`);
        const replacement = spawnService(service, runDir, options.echoLogs);
        started.splice(started.indexOf(previous!), 1, replacement);
        pids[name] = replacement.child.pid!;
        await waitReady(`http://127.0.0.1:${service.port}/health/ready`, Date.now() + (options.readyTimeoutMs ?? 60_000), name, started, runDir);
      },
      stopReplica: async (name) => {
        const running = started.find((item) => item.name === name);
        if (!running || !plan.services.some((service) => service.name === name)) throw new Error(`no service replica named ${name}`);
        if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGTERM');
        await running.exited;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function dotEnv(): Env {
  const file = path.join(ROOT, '.env');
  return existsSync(file) ? parseDotEnv(readFileSync(file, 'utf8')) : {};
}

function spawnService(service: ServicePlan, runDir: string, echo?: boolean): Managed {
  const entry = path.join(ROOT, service.workspace, 'dist', 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  return spawnLogged(service.name, process.execPath, [entry], { ...service.env }, runDir, echo);
}

function spawnLogged(name: string, command: string, args: string[], env: Env, runDir: string, echo = false): Managed {
  const log = createWriteStream(path.join(runDir, 'logs', `${name}.log`), { flags: 'a' });
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.pipe(log, { end: false });
    if (echo) stream.on('data', (chunk: Buffer) => process.stdout.write(`[${name}] ${chunk.toString()}`));
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => log.end());
  return { name, child, exited };
}

/** SIGTERM to every process we started (by pid), then SIGKILL to any still running after 15 s. */
async function stopAll(started: Managed[]): Promise<void> {
  const running = started.filter((item) => item.child.exitCode === null && item.child.signalCode === null);
  for (const item of running) item.child.kill('SIGTERM');
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 15_000).unref());
  const result = await Promise.race([Promise.all(running.map((item) => item.exited)), timeout]);
  if (result === 'timeout') {
    for (const item of running) if (item.child.exitCode === null) item.child.kill('SIGKILL');
    await Promise.all(running.map((item) => item.exited));
  }
}

async function waitReady(url: string, deadline: number, name: string, started: Managed[], runDir: string): Promise<void> {
  for (;;) {
    assertAlive(started, runDir);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} was not ready in time\n${tail(runDir, name)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function waitForPort(port: number, deadline: number, started: Managed[], runDir: string): Promise<void> {
  for (;;) {
    assertAlive(started, runDir);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nginx is not listening on ${port}\n${tail(runDir, 'nginx')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function assertAlive(started: Managed[], runDir: string): void {
  const dead = started.find((item) => item.child.exitCode !== null || item.child.signalCode !== null);
  if (dead) throw new Error(`${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode})\n${tail(runDir, dead.name)}`);
}

function tail(runDir: string, name: string): string {
  const file = path.join(runDir, 'logs', `${name}.log`);
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-30).join('\n') : '';
}

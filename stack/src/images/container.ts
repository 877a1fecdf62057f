import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Image } from './builder';
import type { Command, HealthCheck } from './dockerfile';
import { execArgv, spawnInRoot, tailOf, type RootedProcess, type Scratch } from './rootfs';
import { resolveUser } from './users';

export interface RunOptions {
  name: string;
  /** Variables set over the image's own (`docker run -e`). */
  env?: Readonly<Record<string, string>>;
  /** Replaces the image's CMD (what follows the image in `docker run`). */
  command?: readonly string[];
  /** compose's `read_only: true`: the container gets no writable layer. */
  readOnly?: boolean;
  /** compose's `tmpfs:`. */
  tmpfs?: readonly string[];
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

const asArgv = (command: Command) => (command.form === 'exec' ? command.argv : ['/bin/sh', '-c', command.script]);

/** What a container runs, by Docker's rules for ENTRYPOINT and CMD. */
function processArgv(image: Image, command: readonly string[] | undefined): string[] {
  const { entrypoint, cmd } = image.config;
  if (entrypoint?.form === 'shell') return asArgv(entrypoint);
  const argv = [...(entrypoint?.argv ?? []), ...(command ?? (cmd ? asArgv(cmd) : []))];
  if (argv.length === 0) throw new Error('the image has neither CMD nor ENTRYPOINT');
  return argv;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An image's tree run as a container would run it, without an engine: the image's layers over
 * the host, its environment, working directory and user, in a mount namespace of its own
 * (see rootfs.ts). It shares the host's network, so it listens on the host's ports.
 */
export class Container {
  private constructor(
    readonly name: string,
    readonly image: Image,
    private readonly rooted: RootedProcess,
    readonly env: Readonly<Record<string, string>>,
    readonly logFile: string,
    /** Where the container's writes went (its writable layer), if it has one. */
    readonly writableLayer: string | undefined,
  ) {}

  static start(scratch: Scratch, image: Image, options: RunOptions): Container {
    const user = resolveUser(image.config.user, image.base, image.layers);
    const env = { HOME: user.home, ...image.config.env, ...options.env };
    const writableLayer = options.readOnly ? undefined : scratch.directory('container');
    const logFile = path.join(scratch.directory('logs'), `${options.name}.log`);
    const rooted = spawnInRoot(
      scratch,
      { layers: image.layers, upper: writableLayer, tmpfs: options.tmpfs },
      { argv: processArgv(image, options.command), env, cwd: image.config.workdir, uid: user.uid, gid: user.gid },
      logFile,
    );
    return new Container(options.name, image, rooted, env, logFile, writableLayer);
  }

  get pid(): number {
    return this.rooted.child.pid!;
  }

  get exited(): RootedProcess['exited'] {
    return this.rooted.exited;
  }

  get running(): boolean {
    return this.rooted.child.exitCode === null && this.rooted.child.signalCode === null;
  }

  /** Runs `argv` inside this container's root, as its user, with its environment (`docker exec`). */
  async exec(argv: readonly string[], timeoutMs: number): Promise<ExecResult> {
    await this.insideItsRoot();
    const user = resolveUser(this.image.config.user, this.image.base, this.image.layers);
    const [command, ...args] = execArgv(this.pid, { argv, uid: user.uid, gid: user.gid });
    const child = spawn(command!, args, { env: { ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, output });
      });
    });
  }

  /** Resolves once the process has entered its root (until then its root is the host's). */
  private async insideItsRoot(): Promise<void> {
    const host = statSync('/').dev;
    const rootDevice = () => statSync(`/proc/${this.pid}/root/`, { throwIfNoEntry: false })?.dev;
    while (this.running && rootDevice() === host) await sleep(20);
    if (!this.running) throw new Error(`${this.name} exited\n${tailOf(this.logFile)}`);
  }

  /**
   * Runs the image's HEALTHCHECK until it passes, as Docker does, but without waiting a whole
   * interval between tries: it must pass within the start period plus `retries` intervals, each
   * try within the check's timeout. Resolves with the number of tries.
   */
  async waitHealthy(): Promise<number> {
    const check: HealthCheck | undefined = this.image.config.healthcheck;
    if (!check) throw new Error(`${this.name}: the image has no HEALTHCHECK`);
    const deadline = Date.now() + check.startPeriodMs + check.retries * check.intervalMs;
    for (let attempt = 1; ; attempt += 1) {
      if (!this.running) throw new Error(`${this.name} exited before it was healthy\n${tailOf(this.logFile)}`);
      const result = await this.exec(asArgv(check.test), check.timeoutMs);
      if (result.code === 0) return attempt;
      if (Date.now() > deadline) {
        throw new Error(`${this.name} stayed unhealthy: HEALTHCHECK ${result.signal ?? `exit ${result.code}`}: ${result.output}\n${tailOf(this.logFile)}`);
      }
      await sleep(500);
    }
  }

  /** The image's STOPSIGNAL (SIGTERM by default) by pid, as `docker stop` does; SIGKILL to the whole group after `graceMs`. */
  async stop(graceMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }> {
    if (this.running) this.rooted.child.kill(this.image.config.stopSignal ?? 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
    const outcome = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (outcome !== 'timeout') return { ...outcome, killed: false };
    this.killGroup();
    return { ...(await this.exited), killed: true };
  }

  /** Whether a process this container started is still running (its process group has members). */
  hasLeftovers(): boolean {
    try {
      process.kill(-this.pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGKILL to everything the container started (its own process group), for cleaning up. */
  killGroup(): void {
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // nothing left
    }
  }
}

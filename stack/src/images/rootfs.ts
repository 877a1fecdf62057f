import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, closeSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Runs a process in a scratch root the way a container runtime would, without one: inside a
 * private mount namespace (`unshare --mount --propagation private`), an overlayfs whose lower
 * layers are the image's layers over this host's `/` (the base image's stand-in, see
 * base-images.ts) and whose upper layer, if any, takes the writes; /dev bind-mounted, /proc
 * mounted, and the process `chroot`ed into it. Every mount belongs to the namespace and vanishes
 * with its last process, so nothing is left mounted on the host whatever happens to the caller.
 */

/**
 * overlayfs refuses a lower layer that lies inside another lower layer ("overlapping lowerdir
 * path", ELOOP), and every directory of the root filesystem lies inside `/`, the bottom layer. So
 * the layers live on another filesystem: /dev/shm, a tmpfs (the five service images take about
 * 650 MB there while the test runs).
 */
const LAYER_FILESYSTEM = '/dev/shm';

/** Where a replay keeps its layers, mount points and logs; removed whole at the end. */
export class Scratch {
  private next = 0;

  private constructor(readonly dir: string) {}

  static create(prefix = 'board-images-'): Scratch {
    if (statSync(LAYER_FILESYSTEM).dev === statSync('/').dev) throw new Error(`${LAYER_FILESYSTEM} is not a filesystem of its own, so it cannot hold layers over /`);
    return new Scratch(mkdtempSync(path.join(LAYER_FILESYSTEM, prefix)));
  }

  /** A fresh, empty directory for one purpose (`layer`, `work`, `root`, `context`, `logs`...). */
  directory(purpose: string): string {
    this.next += 1;
    const dir = path.join(this.dir, purpose, String(this.next));
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface RootSpec {
  /** The image's layer directories, top first; this host's `/` is always beneath them. */
  layers: readonly string[];
  /** The directory that takes this run's writes; without one the root is read-only. */
  upper?: string;
  /** Paths inside that get an empty tmpfs (compose's `tmpfs:`). */
  tmpfs?: readonly string[];
  /** Host directories mounted read-write at the same path inside (the npm cache, as a cache mount). */
  sharedHostDirs?: readonly string[];
  /** A directory tree mounted read-only at /mnt inside: a COPY's source. */
  source?: { layers: readonly string[] } | { hostDir: string };
}

export interface ProcessSpec {
  argv: readonly string[];
  env: Readonly<Record<string, string>>;
  cwd: string;
  uid: number;
  gid: number;
}

/** The mount point a COPY's source is seen at inside the root. */
export const SOURCE_MOUNT = '/mnt';

const quote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;

function overlayPath(dir: string): string {
  // overlayfs separates layers with ':' and options with ','.
  if (/[:,\s]/.test(dir)) throw new Error(`${dir}: a layer path may not contain ':', ',' or whitespace`);
  return dir;
}

/** Shell lines that mount `layers` (over the host's `/`) at `target`, read-only without `upper`. */
function mountLayers(target: string, layers: readonly string[], writable?: { upper: string; work: string }): string[] {
  const lower = [...layers.map(overlayPath), '/'].join(':');
  if (writable) {
    return [`mount -t overlay overlay -o ${quote(`lowerdir=${lower},upperdir=${overlayPath(writable.upper)},workdir=${overlayPath(writable.work)}`)} ${quote(target)}`];
  }
  // overlayfs wants two lower layers when it has no upper one; the bare host root is a read-only bind.
  if (layers.length === 0) return [`mount --bind / ${quote(target)}`, `mount -o remount,bind,ro ${quote(target)}`];
  return [`mount -t overlay overlay -o ${quote(`lowerdir=${lower}`)} ${quote(target)}`];
}

function script(root: RootSpec, mountpoint: string, work: string, program: ProcessSpec): string {
  const at = (inside: string) => path.join(mountpoint, inside);
  const lines = [
    'set -e',
    ...mountLayers(mountpoint, root.layers, root.upper ? { upper: root.upper, work } : undefined),
    `mount --bind /dev ${quote(at('/dev'))}`,
    `mount -t proc proc ${quote(at('/proc'))}`,
    ...(root.tmpfs ?? []).map((dir) => `mount -t tmpfs -o mode=1777 tmpfs ${quote(at(dir))}`),
    ...(root.sharedHostDirs ?? []).map((dir) => `mount --bind ${quote(dir)} ${quote(at(dir))}`),
  ];
  if (root.source && 'hostDir' in root.source) {
    lines.push(`mount --bind ${quote(root.source.hostDir)} ${quote(at(SOURCE_MOUNT))}`, `mount -o remount,bind,ro ${quote(at(SOURCE_MOUNT))}`);
  } else if (root.source) {
    lines.push(...mountLayers(at(SOURCE_MOUNT), root.source.layers));
  }
  // env --chdir: the process starts in WORKDIR, as in a container, with no shell in between.
  lines.push(`exec chroot --userspec=${program.uid}:${program.gid} ${quote(mountpoint)} /usr/bin/env --chdir=${quote(program.cwd)} -- "$@"`);
  return lines.join('\n');
}

export interface RootedProcess {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `program` in `root`; its output goes to `logFile`. The pid is the process's own (unshare,
 * sh, chroot and env each exec the next), so signals sent to it reach the program. It leads a
 * process group of its own, so anything it leaves running can be found.
 */
export function spawnInRoot(scratch: Scratch, root: RootSpec, program: ProcessSpec, logFile: string): RootedProcess {
  const mountpoint = scratch.directory('root');
  const work = scratch.directory('work');
  const log = openSync(logFile, 'a');
  const child = spawn(
    'unshare',
    ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script(root, mountpoint, work, program), 'replay', ...program.argv],
    { env: { ...program.env }, stdio: ['ignore', log, log], detached: true },
  );
  closeSync(log);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, exited };
}

/** Runs `program` in `root` to its end; rejects with the log's tail when it fails. */
export async function runInRoot(scratch: Scratch, root: RootSpec, program: ProcessSpec, logFile: string, what: string): Promise<void> {
  const { code, signal } = await spawnInRoot(scratch, root, program, logFile).exited;
  if (code !== 0) throw new Error(`${what} did not complete successfully: ${signal ?? `exit code ${code}`}\n${tailOf(logFile)}`);
}

export function tailOf(file: string, lines = 40): string {
  const result = spawnSync('tail', ['-n', String(lines), file], { encoding: 'utf8' });
  return result.stdout;
}

/**
 * Argv that runs `program` inside the root of the running process `pid` (its mount namespace
 * and its root), as `docker exec` does; the working directory is the target's.
 */
export function execArgv(pid: number, program: Pick<ProcessSpec, 'argv' | 'uid' | 'gid'>): string[] {
  return ['nsenter', `--target=${pid}`, '--mount', '--root', '--wd', `--setuid=${program.uid}`, `--setgid=${program.gid}`, '--', ...program.argv];
}

export type Isolation = { available: true } | { available: false; reason: string };

/**
 * Whether this machine lets us build scratch roots, tried for real: root, unshare, a layer stacked
 * on another over the host's `/`, chroot.
 */
export function probeIsolation(): Isolation {
  if (process.getuid?.() !== 0) {
    return { available: false, reason: 'it needs root (mount namespaces, overlayfs, chroot); the CI job builds the real images' };
  }
  let scratch: Scratch | undefined;
  try {
    scratch = Scratch.create('board-images-probe-');
    const root = { layers: [scratch.directory('layer')], upper: scratch.directory('layer') };
    const probe = script(root, scratch.directory('root'), scratch.directory('work'), { argv: [], env: {}, cwd: '/', uid: 0, gid: 0 });
    const result = spawnSync('unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', probe, 'probe', '/bin/true'], { encoding: 'utf8' });
    if (result.status === 0) return { available: true };
    return { available: false, reason: `overlayfs in a private mount namespace is unavailable here (${(result.stderr || String(result.error)).trim()})` };
  } catch (error) {
    return { available: false, reason: (error as Error).message };
  } finally {
    scratch?.remove();
  }
}

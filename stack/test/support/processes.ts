import { spawn } from 'node:child_process';

export interface Started {
  readonly pid: number;
  /** Everything it wrote to stdout and stderr so far, for failure messages. */
  readonly output: () => string;
  readonly exited: Promise<number | null>;
  /** SIGTERM to this process, by pid, and waits for it to exit. */
  readonly stop: () => Promise<number | null>;
}

/** A process of the test's own whose output is kept. */
export function startProcess(command: string, args: string[], env: NodeJS.ProcessEnv = { PATH: process.env.PATH }): Started {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.once('error', (error) => (text += String(error)));
  return {
    pid: child.pid ?? -1,
    output: () => text,
    exited,
    stop: async () => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGTERM');
      return exited;
    },
  };
}

/** Polls `url` until it answers 200, or fails naming the process's output. */
export async function waitUntilReady(url: string, started: Started, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not become ready:\n${started.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

import { spawn } from 'node:child_process';

/** How a command is started: e.g. as another user (PostgreSQL's tools refuse root), or as is. */
export type CommandWrapper = (command: string, args: string[]) => [string, string[]];

export const asIs: CommandWrapper = (command, args) => [command, args];

export interface CommandResult {
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${command} failed (${exitCode ?? 'killed'}): ${stderr.trim().split('\n').slice(-5).join('\n')}`);
    this.name = 'CommandError';
  }
}

/** Runs a command to its end; rejects with its stderr when it exits with anything but 0. */
export function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; wrap?: CommandWrapper } = {}): Promise<CommandResult> {
  const [file, argv] = (options.wrap ?? asIs)(command, args);
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve({ stdout, stderr }) : reject(new CommandError(`${command} ${args[0] ?? ''}`.trim(), code, stderr || stdout))));
  });
}

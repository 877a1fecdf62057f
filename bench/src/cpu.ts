import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSecondsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Every process of a local server (e.g. all PostgreSQL backends) by its executable name. */
function pidsOf(executable: string): number[] {
  try {
    return execFileSync('pgrep', ['-x', executable], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export type CpuGroups = Record<string, () => number[]>;

export const localServers: CpuGroups = {
  postgres: () => pidsOf('postgres'),
  redis: () => pidsOf('redis-server'),
};

/** Measures CPU seconds per group over `work`, including this process as `load generator`. */
export async function cpuDuring<T>(groups: CpuGroups, work: () => Promise<T>): Promise<{ result: T; cpuSeconds: Record<string, number> }> {
  const read = () => Object.fromEntries(Object.entries(groups).map(([name, pids]) => [name, pids().reduce((sum, pid) => sum + cpuSecondsOf(pid), 0)]));
  const before = read();
  const self = process.cpuUsage();
  const result = await work();
  const after = read();
  const selfUsage = process.cpuUsage(self);
  const cpuSeconds: Record<string, number> = { 'load generator': (selfUsage.user + selfUsage.system) / 1e6 };
  for (const name of Object.keys(groups)) cpuSeconds[name] = after[name]! - before[name]!;
  return { result, cpuSeconds };
}

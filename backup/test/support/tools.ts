import { spawnSync } from 'node:child_process';
import { userInfo } from 'node:os';

/**
 * Why this machine cannot run a cluster of a test's own, or undefined when it can. PostgreSQL
 * refuses to run as root, so as root the cluster runs as the `postgres` system user (which
 * Debian's PostgreSQL packages create); a non-root runner runs it as itself.
 */
export function serverUserMissing(): string | undefined {
  if (userInfo().uid !== 0) return undefined;
  if (spawnSync('id', ['-u', 'postgres']).status === 0) return undefined;
  return 'running as root, and there is no `postgres` user to run PostgreSQL as';
}

import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { parseTime } from './pgbackrest';

/**
 * `npm run backup` and `npm run restore -- <backup> [--to <time>]`: an operator's commands for
 * the production compose stack, run from the repository on the server. Each is a list of
 * `docker compose` steps (printed as they run), so the procedure in docs/operations.md is exactly
 * what runs; the work itself is the backup container's CLI (backup/src/cli.ts).
 */

export const COMPOSE = ['docker', 'compose', '-f', 'docker-compose.yml', '-f', 'docker-compose.prod.yml'];
/** What writes to the databases; stopped during a restore. Started again in dependency order. */
export const APPLICATION_SERVICES = ['auth-service', 'user-service', 'message-service', 'realtime-service', 'api-gateway'];
const CLI = ['node', 'backup/dist/cli.js'];

export interface Step {
  /** What the step is for, printed before it runs. */
  why: string;
  command: string[];
  /** A failure is reported and the procedure goes on (e.g. the server is down already). */
  mayFail?: boolean;
}

const compose = (...args: string[]) => [...COMPOSE, ...args];

export function backupPlan(options: { full?: boolean } = {}): Step[] {
  return [{ why: 'a physical and a logical backup, now', command: compose('exec', '-T', 'backup', ...CLI, 'now', ...(options.full ? ['--full'] : [])) }];
}

const LOGICAL_DUMP = /^\d{8}T\d{6}Z$/;
const PHYSICAL_SET = /^\d{8}-\d{6}F(?:_\d{8}-\d{6}[DI])?$/;

/**
 * The restore of `backup`: a logical dump's name (e.g. 20261201T020000Z) restores every database
 * from it; a pgBackRest set label (e.g. 20261129-020000F or 20261129-020000F_20261201-020000I), or
 * `latest`, restores the whole cluster from it, replaying the archived WAL to `to` (a time) or to
 * the end of the archive.
 */
export function restorePlan(backup: string, to?: string): Step[] {
  if (LOGICAL_DUMP.test(backup)) {
    if (to !== undefined) throw new Error(`--to applies to a physical backup (a pgBackRest set or "latest"); ${backup} is a logical dump, restored as it was taken`);
    return [
      { why: 'stop what writes to the databases', command: compose('stop', ...APPLICATION_SERVICES) },
      { why: `recreate each database from dump ${backup}, and load its RabbitMQ definitions`, command: compose('exec', '-T', 'backup', ...CLI, 'restore', backup, '--replace') },
      { why: 'start the services on the restored databases', command: compose('up', '-d', '--no-deps', ...APPLICATION_SERVICES) },
    ];
  }
  if (backup !== 'latest' && !PHYSICAL_SET.test(backup)) {
    throw new Error(`"${backup}" is neither a logical dump (e.g. 20261201T020000Z), a pgBackRest set label (e.g. 20261129-020000F) nor "latest": \`docker compose exec backup node backup/dist/cli.js list\` shows them`);
  }
  const target = to === undefined ? [] : ['--to', parseTime(to).toISOString()];
  const set = backup === 'latest' ? [] : ['--set', backup];
  return [
    { why: 'send the WAL written so far to the repository (skipped when PostgreSQL is down already)', command: compose('exec', '-T', 'backup', ...CLI, 'flush-archive'), mayFail: true },
    { why: 'stop everything that uses the cluster, and the cluster', command: compose('stop', ...APPLICATION_SERVICES, 'backup', 'postgres') },
    { why: `rewrite the data directory from ${backup}${to ? `, to recover to ${to}` : ''}`, command: compose('run', '--rm', '--no-deps', 'backup', ...CLI, 'restore-physical', ...set, ...target) },
    { why: 'start PostgreSQL: it replays the archived WAL, then promotes', command: compose('up', '-d', '--wait', 'postgres') },
    { why: 'start the backup service and the services', command: compose('up', '-d', '--no-deps', 'backup', ...APPLICATION_SERVICES) },
    { why: 'a full backup on the new timeline, the base of later restores', command: compose('exec', '-T', 'backup', ...CLI, 'now', '--full') },
  ];
}

function execute(steps: Step[]): number {
  for (const [index, step] of steps.entries()) {
    process.stdout.write(`\n[${index + 1}/${steps.length}] ${step.why}\n$ ${step.command.join(' ')}\n`);
    const result = spawnSync(step.command[0]!, step.command.slice(1), { stdio: 'inherit' });
    if (result.status === 0) continue;
    if (step.mayFail) {
      process.stdout.write(`(failed with ${result.status ?? result.signal}; going on)\n`);
      continue;
    }
    console.error(`step ${index + 1} failed (${result.error?.message ?? result.status ?? result.signal}); the steps after it did not run`);
    return 1;
  }
  return 0;
}

function main(argv: string[]): number {
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: { to: { type: 'string' }, full: { type: 'boolean', default: false } } });
  const [command, backup] = positionals;
  if (command === 'backup') return execute(backupPlan({ full: values.full }));
  if (command === 'restore') {
    if (!backup) throw new Error('npm run restore -- <backup> [--to <time>]: which backup? (`docker compose exec backup node backup/dist/cli.js list`)');
    return execute(restorePlan(backup, values.to));
  }
  throw new Error(`unknown command "${command ?? ''}": backup or restore`);
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}

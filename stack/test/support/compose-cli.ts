import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { parseDotEnv, type Env } from '../../src/compose';
import { ROOT } from '../../src/stack';

export const PRODUCTION_FILES = ['docker-compose.yml', 'docker-compose.prod.yml'];
export const DEVELOPMENT_FILES = ['docker-compose.yml', 'docker-compose.override.yml'];

/**
 * Test secrets holding every URL-reserved character; with them (and .env.example's settings), the
 * production files are complete.
 */
export const TEST_SECRETS: Record<string, string> = {
  POSTGRES_PASSWORD: 'pg/+=#@:?superuser',
  AUTH_DATABASE_PASSWORD: 'auth/+=#@:?database',
  USERS_DATABASE_PASSWORD: 'users/+=#@:?database',
  MESSAGES_DATABASE_PASSWORD: 'messages/+=#@:?database',
  MONITORING_DATABASE_PASSWORD: 'monitoring/+=#@:?database',
  RABBITMQ_PASSWORD: 'rabbit/+=#@:?broker',
  GRAFANA_ADMIN_PASSWORD: 'grafana/+=#@:?admin',
  KEY_ENCRYPTION_SECRET: 'key/+=#@:?encryption-secret-of-at-least-32-characters',
  MEMBER_PASSCODE: 'member/+=#@:?passcode',
  ADMIN_EMAIL: 'admin@example.com',
  ADMIN_PASSWORD: 'admin/+=#@:?password',
  SERVER_NAME: 'board.example.com',
};

export const envExample = (): Env => parseDotEnv(readFileSync(path.join(ROOT, '.env.example'), 'utf8'));

/**
 * Runs Debian's docker-compose 1.29 on `files` with exactly `env` as the environment it
 * interpolates (no .env of the developer's, none of this process's variables).
 */
export function composeCli(files: string[], env: Env, args: string[]) {
  const variables = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
  // An empty env file in place of the project's .env (docker-compose 1.29 wants a regular file).
  const dir = mkdtempSync(path.join(tmpdir(), 'compose-env-'));
  const envFile = path.join(dir, 'empty.env');
  writeFileSync(envFile, '');
  try {
    return spawnSync('docker-compose', ['--env-file', envFile, ...files.flatMap((file) => ['-f', file]), ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...variables },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface MergedService {
  image?: string;
  build?: { args?: Record<string, string> };
  container_name?: string;
  environment?: Record<string, string | null>;
  ports?: (string | { target: number; published: number | string; host_ip?: string })[];
  volumes?: (string | { source?: string; target: string })[];
  logging?: { driver: string; options?: Record<string, string> };
  deploy?: { replicas?: number; resources?: { limits?: { cpus?: string | number; memory?: string } } };
  healthcheck?: { test: string[] | string };
  hostname?: string;
  restart?: string;
}

/** The configuration compose runs: `files` merged and interpolated with `env`. */
export function mergedConfig(files: string[], env: Env): Record<string, MergedService> {
  const result = composeCli(files, env, ['config']);
  if (result.status !== 0) throw new Error(`docker-compose config failed: ${result.stderr}`);
  return (parse(result.stdout) as { services: Record<string, MergedService> }).services;
}

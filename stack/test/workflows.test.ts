import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { ROOT } from '../src/stack';

const WORKFLOWS = path.join(ROOT, '.github', 'workflows');
const validate = (file: string) => spawnSync(path.join(ROOT, 'node_modules', '.bin', 'action-validator'), [file], { encoding: 'utf8' });

describe('GitHub Actions workflows', () => {
  const files = readdirSync(WORKFLOWS).filter((file) => file.endsWith('.yml'));

  it.each(files)('%s is valid (action-validator: the workflow schema, offline)', (file) => {
    const result = validate(path.join(WORKFLOWS, file));
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('the validator refuses a workflow with a misspelt key', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'workflow-'));
    try {
      const broken = readFileSync(path.join(WORKFLOWS, 'compose.yml'), 'utf8').replace('timeout-minutes:', 'timeout-minute:');
      writeFileSync(path.join(dir, 'broken.yml'), broken);
      const result = validate(path.join(dir, 'broken.yml'));
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/Additional property 'timeout-minute' is not allowed/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the compose workflow', () => {
  interface Step {
    name?: string;
    run?: string;
    if?: string;
  }
  interface Job {
    'runs-on': string;
    strategy: { matrix: { include: { stack: string; compose: string; url: string }[] } };
    steps: Step[];
  }
  const job = (parse(readFileSync(path.join(WORKFLOWS, 'compose.yml'), 'utf8')) as { jobs: Record<string, Job> }).jobs.stack!;
  const runs = job.steps.map((step) => step.run ?? '');
  const indexOf = (pattern: RegExp) => runs.findIndex((run) => pattern.test(run));

  it('runs on ubuntu-24.04, once as `docker compose up` runs and once with the production file', () => {
    expect(job['runs-on']).toBe('ubuntu-24.04');
    expect(job.strategy.matrix.include.map(({ stack, compose }) => [stack, compose])).toEqual([
      ['development', 'docker compose'],
      ['production', 'docker compose -f docker-compose.yml -f docker-compose.prod.yml'],
    ]);
  });

  it('builds, starts and waits for health, walks the smoke journey over HTTPS, then removes everything', () => {
    const order = [/compose \}\} build$/, /compose \}\} up --detach --wait /, /npm run smoke -- "\$\{\{ matrix\.url \}\}" --ca /, /compose \}\} down --volumes/];
    const positions = order.map(indexOf);
    expect(positions.every((position) => position >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(job.steps[positions[3]!]!.if).toBe('always()');
    expect(job.strategy.matrix.include.every(({ url }) => url.startsWith('https://'))).toBe(true);
  });

  it('gives the production run every secret the production file requires, a self-signed certificate and localhost', () => {
    const secrets = job.steps.find((step) => step.if === "matrix.stack == 'production'" && /> \.env/.test(step.run ?? ''))!.run!;
    const required = [...readFileSync(path.join(ROOT, 'docker-compose.prod.yml'), 'utf8').matchAll(/\$\{([A-Z_][A-Z0-9_]*):\?/g)].map((match) => match[1]!);
    for (const name of new Set(required)) expect(secrets).toMatch(new RegExp(`\\b${name}\\b`));
    expect(secrets).toMatch(/TLS_MODE=self-signed/);
    // Alertmanager's entrypoint refuses to start in production without a receiver.
    expect(secrets).toMatch(/ALERT_WEBHOOK_URL=|ALERT_EMAIL_TO=/);
    expect(secrets).toMatch(/SERVER_NAME=localhost/);
  });

  it('prints every container\'s logs when a step fails', () => {
    const step = job.steps.find((candidate) => candidate.if === 'failure()');
    expect(step?.run).toMatch(/compose \}\} logs/);
  });
});

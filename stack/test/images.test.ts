import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { parse } from 'yaml';
import { removeNamespace } from '../src/cleanup';
import { loadCompose } from '../src/compose';
import { DEFAULT_LOCAL_SERVERS, planStack, type StackPlan } from '../src/plan';
import { freePortOffset } from '../src/ports';
import { ROOT } from '../src/stack';
import { fileInImage, ImageBuilder, type Image } from '../src/images/builder';
import { Container } from '../src/images/container';
import { stageContext } from '../src/images/context';
import { expand, parseDockerfile, type Step } from '../src/images/dockerfile';
import { probeIsolation, Scratch, tailOf } from '../src/images/rootfs';

/**
 * Every image recipe replayed without a Docker engine (see stack/src/images/): the build context
 * through .dockerignore, each stage's COPY and RUN steps in a scratch root over this host, then
 * each service's runtime tree started in production and health-checked by its own HEALTHCHECK,
 * and the nginx image's entrypoint run with `nginx -t`.
 */

const compose = loadCompose(path.join(ROOT, 'docker-compose.yml'), {});
const services = [...compose.values()].filter((service) => service.workspace !== undefined).map((service) => service.name);

/** What production refuses to start without (each service's src/config.ts); compose passes them from .env. */
const productionSecrets = () => ({
  KEY_ENCRYPTION_SECRET: randomBytes(32).toString('base64url'),
  MEMBER_PASSCODE: randomBytes(16).toString('base64url'),
});

/** compose's `read_only` and `tmpfs` for a service: the container runs under the same constraints. */
function composeRuntime(name: string): { readOnly: boolean; tmpfs: string[] } {
  const document = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { read_only?: boolean; tmpfs?: string | string[] }>;
  };
  const service = document.services[name]!;
  return { readOnly: service.read_only === true, tmpfs: [service.tmpfs ?? []].flat() };
}

async function createDatabases(plan: StackPlan): Promise<void> {
  const adminUrl = new URL(DEFAULT_LOCAL_SERVERS.postgres);
  adminUrl.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  try {
    for (const database of plan.databases) await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  } finally {
    await admin.end();
  }
}

async function waitReady(url: string, container: Container, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!container.running) throw new Error(`${container.name} exited\n${tailOf(container.logFile)}`);
    const status = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`${url} answered ${status}\n${tailOf(container.logFile)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The effective uid of a running process, from /proc. */
const uidOf = (pid: number) => Number(/^Uid:\s+\d+\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

describe('reading a Dockerfile (dockerfile-ast)', () => {
  const steps = (text: string) => parseDockerfile(`FROM debian:bookworm-slim\n${text}`).stages[0]!.steps;
  const only = <K extends Step['kind']>(text: string, kind: K) => {
    const [step] = steps(text);
    expect(step?.kind).toBe(kind);
    return step as Step & { kind: K };
  };

  it('expands references with the build arguments and environment in scope', () => {
    const env = only('ENV A=${SERVICE} B=${MISSING:-fallback} C=${SERVICE:+set} D=/app/$SERVICE E=\\$SERVICE', 'ENV');
    const scope = { SERVICE: 'auth-service' };
    expect(env.variables.map(({ name, value }) => [name, expand(value, scope)])).toEqual([
      ['A', 'auth-service'],
      ['B', 'fallback'],
      ['C', 'set'],
      ['D', '/app/auth-service'],
      ['E', '$SERVICE'],
    ]);
  });

  it('reads the exec form as JSON, spaces and escaped quotes included', () => {
    expect(only('CMD ["sh", "-c", "exec node \\"$SERVICE/dist/main.js\\""]', 'CMD').command).toEqual({ form: 'exec', argv: ['sh', '-c', 'exec node "$SERVICE/dist/main.js"'] });
    expect(only('RUN echo one \\\n && echo two', 'RUN').command).toEqual({ form: 'shell', script: 'echo one  && echo two' });
  });

  it('reads HEALTHCHECK options and its command', () => {
    expect(only('HEALTHCHECK --interval=10s --timeout=1m30s --retries=2 CMD node -e "x"', 'HEALTHCHECK').check).toEqual({
      test: { form: 'shell', script: 'node -e "x"' },
      intervalMs: 10_000,
      timeoutMs: 90_000,
      startPeriodMs: 0,
      retries: 2,
    });
  });

  it.each([
    ['ADD', 'ADD x /x', /ADD is not supported/],
    ['VOLUME', 'VOLUME /data', /VOLUME is not supported/],
    ['RUN --mount', 'RUN --mount=type=cache,target=/root/.npm npm ci', /flags .* are not supported/],
    ['COPY --link', 'COPY --link a /a', /--link is not supported/],
    ['${A-b}', 'ENV A=${B-c}', /this form of substitution is not supported/],
    ['a reference inside single quotes', "ENV A='$B'", /inside single quotes is not supported/],
    ['a comment line inside a continued RUN', 'RUN echo a \\\n  # note\n  b', /comment line inside its continuation/],
  ])('refuses what it would not replay faithfully: %s', (_what, text, message) => {
    expect(() => steps(text)).toThrow(message);
  });
});

describe('the service images\' build context', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'board-context-'));
    stageContext(ROOT, dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('holds every workspace the root manifest lists, with its manifest, sources and tsconfig', () => {
    const workspaces = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
    for (const workspace of workspaces) {
      for (const file of ['package.json', 'tsconfig.json', 'src']) expect([workspace, file, existsSync(path.join(dir, workspace, file))]).toEqual([workspace, file, true]);
    }
    expect(existsSync(path.join(dir, 'package-lock.json'))).toBe(true);
  });

  it('leaves out what no image needs (.dockerignore)', () => {
    const unwanted = ['.git', 'node_modules', 'stack', 'bench', 'e2e', 'docs', 'nginx', 'docker-compose.yml', '.env.example'];
    expect(readdirSync(dir).filter((entry) => unwanted.includes(entry))).toEqual([]);
    for (const workspace of ['service-kit', 'auth-service']) {
      expect(readdirSync(path.join(dir, workspace)).filter((entry) => ['test', 'dist', 'node_modules', 'README.md'].includes(entry))).toEqual([]);
    }
  });
});

const isolation = probeIsolation();
const replay = isolation.available ? describe : describe.skip;
if (!isolation.available) console.warn(`The image replay is SKIPPED: ${isolation.reason}`);

replay(`image recipes replayed without a Docker engine${isolation.available ? '' : ` (SKIPPED: ${isolation.reason})`}`, () => {
  let scratch: Scratch;
  let builder: ImageBuilder;

  beforeAll(() => {
    scratch = Scratch.create();
    // npm's cache is shared with RUN steps as a BuildKit cache mount would be: npm ci still
    // installs from the lock file and fetches from the registry what the cache lacks.
    builder = new ImageBuilder(scratch, { sharedHostDirs: [path.join(homedir(), '.npm')] });
  });
  afterAll(() => scratch?.remove());

  describe('service images (Dockerfile, one per --build-arg SERVICE)', () => {
    const images = new Map<string, Image>();
    const imageOf = (service: string) => {
      const image = images.get(service);
      if (!image) throw new Error(`the ${service} image did not build`);
      return image;
    };

    it('build for every service, the shared stages replayed once as the build cache does', async () => {
      for (const service of services) {
        const workspace = compose.get(service)!.workspace!;
        images.set(service, await builder.build({ contextDir: ROOT, dockerfile: path.join(ROOT, 'Dockerfile'), buildArgs: { SERVICE: workspace } }));
      }
      const ran = (fragment: string) => builder.executed.filter((step) => step.text.includes(fragment)).length;
      expect(ran('npm ci')).toBe(1);
      expect(ran('npm run build:services')).toBe(1);
      expect(new Set(services.map((service) => imageOf(service).key)).size).toBe(services.length);
    }, 480_000);

    it.each(services)('%s: the runtime tree carries its compiled code and production dependencies only', (service) => {
      const image = imageOf(service);
      const workspace = compose.get(service)!.workspace!;
      const present = (file: string) => fileInImage(image, file) !== undefined;
      expect(image.config).toMatchObject({ user: 'node', workdir: '/app', env: { NODE_ENV: 'production', SERVICE: workspace } });
      expect(image.config.healthcheck).toBeDefined();
      for (const file of [`/app/${workspace}/dist/main.js`, '/app/service-kit/dist/index.js', '/app/service-kit/migrations', '/app/node_modules/express']) {
        expect([file, present(file)]).toEqual([file, true]);
      }
      const others = services.filter((other) => other !== service).map((other) => `/app/${compose.get(other)!.workspace!}`);
      for (const file of [`/app/${workspace}/src`, `/app/${workspace}/test`, '/app/node_modules/typescript', '/app/node_modules/jest', ...others]) {
        expect([file, present(file)]).toEqual([file, false]);
      }
    });

    describe('started from their runtime trees, in production, against the local servers', () => {
      const namespace = `img_${randomBytes(4).toString('hex')}`;
      const containers = new Map<string, Container>();
      let plan: StackPlan;

      beforeAll(async () => {
        plan = planStack(compose, { namespace, portOffset: await freePortOffset([3000, 3001, 3002, 3003, 3004], 10_000, 90), overrides: { NODE_ENV: 'production', ...productionSecrets() } });
        await createDatabases(plan);
        for (const service of plan.services) {
          containers.set(service.name, Container.start(scratch, imageOf(service.name), { name: service.name, env: service.env, ...composeRuntime(service.name) }));
        }
      }, 60_000);

      afterAll(async () => {
        for (const container of containers.values()) container.killGroup();
        await Promise.all([...containers.values()].map((container) => container.exited));
        if (plan) await removeNamespace(plan, namespace);
      }, 60_000);

      it.each(services)('%s passes its HEALTHCHECK inside its root and is ready, running as the image user (uid 1000)', async (service) => {
        const container = containers.get(service)!;
        // The check runs in the container's own root: the compiled service is there, not on the host.
        expect(await container.exec(['test', '-f', `/app/${compose.get(service)!.workspace!}/dist/main.js`], 5_000)).toMatchObject({ code: 0 });
        await container.waitHealthy();
        await waitReady(`http://127.0.0.1:${plan.services.find((candidate) => candidate.name === service)!.port}/health/ready`, container, 30_000);
        expect(uidOf(container.pid)).toBe(1000);
      }, 90_000);

      it('each stops on SIGTERM with exit code 0 and leaves no process behind', async () => {
        const outcomes = await Promise.all(
          [...containers.values()].map(async (container) => ({
            name: container.name,
            sent: container.image.config.stopSignal ?? 'SIGTERM',
            ...(await container.stop(20_000)),
            leftovers: container.hasLeftovers(),
          })),
        );
        expect(outcomes).toEqual([...containers.keys()].map((name) => ({ name, sent: 'SIGTERM', code: 0, signal: null, killed: false, leftovers: false })));
      }, 60_000);
    });
  });

  // Its runtime stage starts FROM postgres:16-alpine (pg_dump and pgBackRest of the production
  // server's image), which this Debian host cannot stand in for (base-images.ts): the replay
  // covers the build stage, the CI's compose job builds and runs the whole image.
  describe('backup image (backup/Dockerfile), its build stage', () => {
    it('compiles the backup service and leaves a runtime tree of compiled code and production dependencies', async () => {
      const image = await builder.build({ contextDir: ROOT, dockerfile: path.join(ROOT, 'backup', 'Dockerfile'), target: 'build' });
      const present = (file: string) => fileInImage(image, file) !== undefined;
      for (const file of ['/out/backup/dist/main.js', '/out/backup/dist/cli.js', '/out/service-kit/dist/index.js', '/out/node_modules/prom-client', '/out/node_modules/pg']) {
        expect([file, present(file)]).toEqual([file, true]);
      }
      for (const file of ['/out/backup/src', '/out/backup/test', '/out/node_modules/typescript', '/out/node_modules/jest', '/out/auth-service']) {
        expect([file, present(file)]).toEqual([file, false]);
      }
    }, 480_000);
  });

  describe('nginx image (nginx/Dockerfile)', () => {
    it('renders its templates, makes a certificate and passes `nginx -t` through its entrypoint', async () => {
      const image = await builder.build({ contextDir: ROOT, dockerfile: path.join(ROOT, 'nginx', 'Dockerfile') });
      expect(image.config.entrypoint).toEqual({ form: 'exec', argv: ['/usr/local/bin/board-nginx-entrypoint'] });
      // The web client, built in its own stage: its static files only, where WEB_ROOT points.
      const served = image.layers.map((layer) => path.join(layer, 'usr/share/board-web')).find((dir) => existsSync(path.join(dir, 'index.html')));
      expect(served).toBeDefined();
      expect(readdirSync(path.join(served!, 'assets')).filter((file) => /^index-[\w-]+\.js$/.test(file))).toHaveLength(1);
      expect(image.layers.some((layer) => existsSync(path.join(layer, 'app')))).toBe(false);
      // No compose DNS here: the gateway's address is one the entrypoint can resolve on this host.
      const container = Container.start(scratch, image, { name: 'nginx-t', command: ['nginx', '-t'], env: { GATEWAY_UPSTREAM: '127.0.0.1:3000' } });
      const outcome = await container.exited;
      const log = readFileSync(container.logFile, 'utf8');
      expect([outcome, log]).toEqual([{ code: 0, signal: null }, expect.stringContaining('test is successful')]);
      const certificates = path.join(container.writableLayer!, image.config.env.TLS_CERT_DIR ?? '/etc/nginx/certs');
      expect(['tls.crt', 'tls.key'].map((file) => existsSync(path.join(certificates, file)))).toEqual([true, true]);
      expect(container.hasLeftovers()).toBe(false);
    }, 180_000);
  });
});

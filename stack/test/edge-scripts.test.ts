import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { freePort, sleep, waitFor } from '@board/service-kit/testing';
import { installNginxFiles, NGINX_DIR } from '../src/edge';
import { fingerprintOf, removeDir, scratchDir, servedFingerprint, startProcess, StandInGateway, waitForPort, type Started } from './support/edge';

/**
 * The image's own scripts (nginx/bin/), run here as they run in the container, around a real
 * nginx: a directory laid out as the image's /etc/nginx (NGINX_CONF_DIR), the entrypoint as the
 * process that becomes nginx, the watcher it starts, real getent and openssl.
 */
const ENTRYPOINT = path.join(NGINX_DIR, 'bin', 'board-nginx-entrypoint');

/** A directory as the image's /etc/nginx is before the entrypoint runs, with local process paths. */
function imageLayout(): string {
  const dir = scratchDir('edge-image');
  installNginxFiles(dir);
  cpSync(path.join(NGINX_DIR, 'templates'), path.join(dir, 'templates'), { recursive: true });
  return dir;
}

function imageEnv(dir: string, httpsPort: number, extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    NGINX_CONF_DIR: dir,
    TLS_CERT_DIR: path.join(dir, 'certs'),
    ACME_WEBROOT: path.join(dir, 'acme'),
    NGINX_HTTPS_LISTEN: `127.0.0.1:${httpsPort}`,
    ...extra,
  };
}

/** Pids of watchers started for the nginx (or other command) that replaced entrypoint `pid`. */
function watchersOf(pid: number): number[] {
  return processes()
    .filter(({ argv }) => argv.some((argument) => argument.endsWith('board-nginx-watcher')) && argv.includes(String(pid)))
    .map((process) => process.pid);
}

const isRunning = (pid: number) => existsSync(`/proc/${pid}`);

/** The nginx master serving `conf`, found by its command line whatever started it. */
function masterOf(conf: string): number | undefined {
  const found = processes().find(({ argv }) => argv[0]!.startsWith('nginx: master process') && argv.join(' ').includes(conf));
  return found?.pid;
}

function processes(): { pid: number; argv: string[] }[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        return [{ pid: Number(entry), argv: readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0') }];
      } catch {
        return [];
      }
    });
}

/** Pids of the processes whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        return readFileSync(`/proc/${entry}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1] === String(pid);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/**
 * Runs the entrypoint with a one-off command; `watchers` are those running the moment it exited
 * (a watcher would sleep NGINX_WATCH_SECONDS first, so it cannot have ended yet). Any such
 * watcher is stopped by its pid, with its sleep.
 */
function runOnce(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stderr: string; watchers: number[] }> {
  return new Promise((resolve) => {
    const child = spawn(ENTRYPOINT, args, { env: { ...env, NGINX_WATCH_SECONDS: '60' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let watchers: number[] = [];
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', () => {
      watchers = watchersOf(child.pid!);
      for (const pid of watchers.flatMap((watcher) => [...childrenOf(watcher), watcher])) process.kill(pid, 'SIGTERM');
    });
    child.on('close', (status) => resolve({ status, stderr, watchers }));
  });
}

/** A certificate/key pair for localhost, made with openssl. */
function newPair(dir: string, name: string): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name}`,
    '-addext', 'subjectAltName=DNS:localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}

/** Replaces a file the way certbot's deploy hook does: a temp file, then a rename. */
function replaceFile(file: string, content: string): void {
  writeFileSync(`${file}.new`, content);
  renameSync(`${file}.new`, file);
}

describe('board-nginx-entrypoint with a one-off command', () => {
  let dir: string;
  beforeEach(() => {
    dir = imageLayout();
  });
  afterEach(() => removeDir(dir));

  it('renders the production configuration, makes a certificate and the upstream, passes nginx -t, and leaves nothing running', async () => {
    const result = await runOnce(
      ['nginx', '-t', '-c', path.join(dir, 'nginx.conf')],
      imageEnv(dir, await freePort(), { HSTS_MAX_AGE: '31536000', HTTPS_PORT: '443', SERVER_NAME: 'board.example.com', GATEWAY_UPSTREAM: 'localhost:3999' }),
    );
    expect(result.stderr).toMatch(/test is successful/);
    expect(result.status).toBe(0);
    expect(readFileSync(path.join(dir, 'conf.d', 'edge.conf'), 'utf8')).toContain('"max-age=31536000"');
    expect(readFileSync(path.join(dir, 'upstream', 'gateway.conf'), 'utf8')).toContain('server 127.0.0.1:3999;');
    expect(execFileSync('openssl', ['x509', '-in', path.join(dir, 'certs', 'tls.crt'), '-noout', '-subject'], { encoding: 'utf8' })).toMatch(/CN ?= ?board\.example\.com/);
    expect(result.watchers).toEqual([]);
  });

  it('starts nginx with a placeholder upstream when the gateway does not resolve yet', async () => {
    const result = await runOnce(['nginx', '-t', '-c', path.join(dir, 'nginx.conf')], imageEnv(dir, await freePort(), { GATEWAY_UPSTREAM: 'no-such-gateway.invalid:3000' }));
    expect(result.status).toBe(0);
    expect(readFileSync(path.join(dir, 'upstream', 'gateway.conf'), 'utf8')).toMatch(/^server 127\.0\.0\.1:3000 down;$/m);
  });

  it.each([
    ['HSTS_MAX_AGE', '1; add_header X-Evil 1'],
    ['HSTS_MAX_AGE', '-1'],
    ['NGINX_AUTH_RATE', 'fast'],
    ['SERVER_NAME', 'a.example b.example'],
    ['GATEWAY_UPSTREAM', 'api-gateway'],
  ])('refuses %s=%j, naming it, before running anything', async (name, value) => {
    const result = await runOnce(['nginx', '-t', '-c', path.join(dir, 'nginx.conf')], imageEnv(dir, await freePort(), { [name]: value }));
    expect(result.status).toBe(64);
    expect(result.stderr).toContain(`${name}=`);
    expect(existsSync(path.join(dir, 'conf.d', 'edge.conf'))).toBe(false);
  });
});

/**
 * The server command, with the watcher. The gateway's name resolves through a hosts file of the
 * test's own (bind-mounted over /etc/hosts in a private mount namespace, so getent is the real
 * one and the machine's /etc/hosts is untouched); rewriting that file is a replica replaced.
 */
describe('board-nginx-entrypoint as the server, with its watcher', () => {
  const NAME = 'board-gateway-under-test';
  let dir: string;
  let hostsFile: string;
  let httpsPort: number;
  let replicas: StandInGateway[];
  let nginx: Started;
  let master: number;
  let watcher: number;
  let pairs: Record<'second' | 'third' | 'fourth', { cert: string; key: string }>;
  let trusted: string[];

  beforeAll(async () => {
    dir = imageLayout();
    // Made here, so the test can replace certificates in it even when nginx runs through sudo.
    mkdirSync(path.join(dir, 'certs'));
    hostsFile = path.join(dir, 'hosts');
    writeFileSync(hostsFile, `127.0.0.1 localhost\n127.0.0.1 ${NAME}\n`);
    const port = await freePort();
    replicas = [await StandInGateway.start('first', '127.0.0.1', port), await StandInGateway.start('second', '127.0.0.2', port)];
    httpsPort = await freePort();
    pairs = { second: newPair(dir, 'second'), third: newPair(dir, 'third'), fourth: newPair(dir, 'fourth') };

    const env = imageEnv(dir, httpsPort, { GATEWAY_UPSTREAM: `${NAME}:${port}`, NGINX_WATCH_SECONDS: '1' });
    const command = ['env', '-i', ...Object.entries(env).map(([name, value]) => `${name}=${value}`),
      'unshare', '--mount', 'sh', '-c', 'mount --bind "$0" /etc/hosts && exec "$@"', hostsFile,
      ENTRYPOINT, 'nginx', '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'];
    // A private mount namespace takes root; anyone else goes through passwordless sudo (as on CI runners).
    nginx = process.getuid?.() === 0 ? startProcess(command[0]!, command.slice(1)) : startProcess('sudo', ['-n', ...command]);
    await waitForPort(httpsPort, nginx);
    trusted = [readFileSync(path.join(dir, 'certs', 'tls.crt'), 'utf8'), ...Object.values(pairs).map((pair) => pair.cert)];
    master = await waitFor(() => masterOf(path.join(dir, 'nginx.conf')), { what: 'the nginx master' });
    watcher = await waitFor(() => watchersOf(master)[0], { what: 'the watcher' });
  });

  afterAll(async () => {
    await nginx?.stop();
    for (const replica of replicas ?? []) await replica.stop();
    removeDir(dir);
  });

  const get = (requestPath: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port: httpsPort, path: requestPath, servername: 'localhost', ca: trusted, agent: false }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      }).on('error', reject);
    });
  const answeringReplica = async () => (JSON.parse((await get('/api/which')).body) as { upstream: string }).upstream;

  /** An event stream through nginx that records what arrives and whether it closed. */
  const openStream = () =>
    new Promise<{ received: () => string; closed: () => boolean; close: () => void }>((resolve, reject) => {
      let received = '';
      let closed = false;
      const request = https.get({ host: '127.0.0.1', port: httpsPort, path: '/api/events', servername: 'localhost', ca: trusted, agent: false }, (res) => {
        res.on('data', (chunk: Buffer) => (received += chunk.toString()));
        res.on('close', () => (closed = true));
        resolve({ received: () => received, closed: () => closed, close: () => request.destroy() });
      });
      request.on('error', reject);
    });

  it('forwards to what the gateway name resolves to', async () => {
    expect(await answeringReplica()).toBe('first');
    expect(readFileSync(path.join(dir, 'upstream', 'gateway.conf'), 'utf8')).toContain(`server 127.0.0.1:${replicas[0]!.port};`);
  });

  it('follows the gateway to its new address, without cutting a stream that is open', async () => {
    const stream = await openStream();
    await waitFor(() => replicas[0]!.streams.size === 1);
    writeFileSync(hostsFile, `127.0.0.1 localhost\n127.0.0.2 ${NAME}\n`);

    await waitFor(async () => (await answeringReplica()) === 'second', { what: 'nginx to reach the new address' });
    expect(readFileSync(path.join(dir, 'upstream', 'gateway.conf'), 'utf8')).not.toContain('127.0.0.1');
    replicas[0]!.broadcast('after-the-move');
    await waitFor(() => stream.received().includes('data: after-the-move'), { what: 'the event on the old stream' });
    expect(stream.closed()).toBe(false);
    stream.close();
  });

  it('serves a replaced certificate (key first, then certificate) without cutting a stream that is open', async () => {
    const before = servedFingerprint(httpsPort);
    const stream = await openStream();
    await waitFor(() => replicas[1]!.streams.size === 1);

    replaceFile(path.join(dir, 'certs', 'tls.key'), pairs.second.key);
    replaceFile(path.join(dir, 'certs', 'tls.crt'), pairs.second.cert);
    await waitFor(() => servedFingerprint(httpsPort) === fingerprintOf(pairs.second.cert), { what: 'the new certificate', intervalMs: 200 });
    expect(fingerprintOf(pairs.second.cert)).not.toBe(before);

    replicas[1]!.broadcast('after-the-renewal');
    await waitFor(() => stream.received().includes('data: after-the-renewal'), { what: 'the event on the old stream' });
    expect(stream.closed()).toBe(false);
    stream.close();
  });

  it('keeps the served certificate while the key and certificate do not match, and takes them once they do', async () => {
    replaceFile(path.join(dir, 'certs', 'tls.key'), pairs.third.key);
    await waitFor(() => /not reloading yet/.test(nginx.output()), { what: 'the watcher to refuse the mismatched pair' });
    await sleep(1_500);
    expect(servedFingerprint(httpsPort)).toBe(fingerprintOf(pairs.second.cert));
    expect(await answeringReplica()).toBe('second');

    replaceFile(path.join(dir, 'certs', 'tls.crt'), pairs.third.cert);
    await waitFor(() => servedFingerprint(httpsPort) === fingerprintOf(pairs.third.cert), { what: 'the matching pair', intervalMs: 200 });
  });

  it('ends the watcher when nginx stops', async () => {
    expect(isRunning(watcher)).toBe(true);
    await nginx.stop();
    expect(isRunning(master)).toBe(false);
    await waitFor(() => !isRunning(watcher), { what: 'the watcher to exit', timeoutMs: 5_000 });
  });
});

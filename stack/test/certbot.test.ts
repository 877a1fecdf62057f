import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from '../src/stack';
import { freePort } from '@board/service-kit/testing';

const ENTRYPOINT = path.join(ROOT, 'certbot', 'entrypoint.sh');
const DEPLOY_HOOK = path.join(ROOT, 'certbot', 'deploy-hook.sh');

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'certbot-test-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const newDir = (name: string) => {
  const dir = path.join(scratch, name);
  mkdirSync(dir, { recursive: true });
  return dir;
};

/** A key and certificate pair as certbot keeps them in live/<name>/. */
function makeLineage(dir: string, commonName: string): { key: string; chain: string } {
  mkdirSync(dir, { recursive: true });
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${commonName}`,
    '-keyout', path.join(dir, 'privkey.pem'), '-out', path.join(dir, 'fullchain.pem')], { stdio: 'ignore' });
  return { key: readFileSync(path.join(dir, 'privkey.pem'), 'utf8'), chain: readFileSync(path.join(dir, 'fullchain.pem'), 'utf8') };
}

const subjectOf = (certificate: string) => execFileSync('openssl', ['x509', '-noout', '-subject', '-serial', '-in', certificate]).toString();

async function waitUntil(condition: () => boolean, what: string, timeoutMs: number, describeFailure: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${describeFailure()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A process of the test's own whose output is kept; stopped with SIGTERM, by pid. */
function start(command: string, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { text: '' };
  child.stdout!.on('data', (chunk: Buffer) => (output.text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output.text += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM');
    return exited;
  };
  return { child, output, exited, stop };
}

describe('certbot/deploy-hook.sh', () => {
  const hook = (env: Record<string, string>) => spawnSync('sh', [DEPLOY_HOOK], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });

  it('installs the lineage\'s key and certificate for nginx, key private, nothing left half-written', () => {
    const certs = newDir('hook-certs');
    const lineage = makeLineage(path.join(scratch, 'hook-live', 'board.example.com'), 'board.example.com');
    const result = hook({ RENEWED_LINEAGE: path.join(scratch, 'hook-live', 'board.example.com'), TLS_CERT_DIR: certs });
    expect(result.status).toBe(0);
    expect(readFileSync(path.join(certs, 'tls.key'), 'utf8')).toBe(lineage.key);
    expect(readFileSync(path.join(certs, 'tls.crt'), 'utf8')).toBe(lineage.chain);
    expect(statSync(path.join(certs, 'tls.key')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(certs, 'tls.crt')).mode & 0o777).toBe(0o644);
    expect(readdirSync(certs).sort()).toEqual(['tls.crt', 'tls.key']);
  });

  it('leaves the files alone when they already hold that certificate (no needless nginx reload)', () => {
    const certs = newDir('hook-same');
    const lineageDir = path.join(scratch, 'hook-same-live');
    makeLineage(lineageDir, 'board.example.com');
    expect(hook({ RENEWED_LINEAGE: lineageDir, TLS_CERT_DIR: certs }).status).toBe(0);
    const installed = statSync(path.join(certs, 'tls.crt')).ino;
    const again = hook({ RENEWED_LINEAGE: lineageDir, TLS_CERT_DIR: certs });
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/already holds/);
    expect(statSync(path.join(certs, 'tls.crt')).ino).toBe(installed);
  });

  it('refuses to run without the lineage certbot names', () => {
    const result = hook({ TLS_CERT_DIR: newDir('hook-none') });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/RENEWED_LINEAGE/);
  });
});

describe('certbot/entrypoint.sh', () => {
  const base = () => ({ PATH: process.env.PATH, TLS_CERT_DIR: newDir('entry-certs'), SERVER_NAME: 'board.test' });

  it('TLS_MODE=self-signed: does nothing, writes nothing, and stops at once on SIGTERM', async () => {
    const env = base();
    const entry = start('sh', [ENTRYPOINT], { ...env, TLS_MODE: 'self-signed' });
    await waitUntil(() => /nothing to obtain/.test(entry.output.text), 'the idle message', 5_000);
    const stoppedAt = Date.now();
    expect(await entry.stop()).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(2_000);
    expect(readdirSync(env.TLS_CERT_DIR)).toEqual([]);
  });

  it.each([
    [{ TLS_MODE: 'lets-encrypt' }, /TLS_MODE must be letsencrypt or self-signed/],
    [{ TLS_MODE: 'letsencrypt' }, /ACME_EMAIL is required with TLS_MODE=letsencrypt/],
  ])('refuses %j, saying why', (extra, message) => {
    const result = spawnSync('sh', [ENTRYPOINT], { encoding: 'utf8', env: { ...base(), ...extra }, timeout: 5_000 });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(message);
  });
});

/**
 * The letsencrypt mode for real: the certbot the image runs (Debian's, here), against Pebble
 * (Let's Encrypt's ACME test server) with its DNS answering every name with 127.0.0.1, and the
 * webroot served on the port Pebble validates HTTP-01 on, as nginx serves it on port 80.
 */
describe('certbot/entrypoint.sh with TLS_MODE=letsencrypt, against an ACME server', () => {
  const processes: { stop: () => Promise<unknown> }[] = [];
  let webroot: http.Server | undefined;
  let env: NodeJS.ProcessEnv;
  let dirs: { certs: string; letsencrypt: string; webroot: string };

  beforeAll(async () => {
    const [acmePort, managementPort, httpPort, dnsPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const pebbleDir = newDir('pebble');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', path.join(pebbleDir, 'key.pem'), '-out', path.join(pebbleDir, 'cert.pem')], { stdio: 'ignore' });
    writeFileSync(path.join(pebbleDir, 'config.json'), JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: path.join(pebbleDir, 'cert.pem'),
        privateKey: path.join(pebbleDir, 'key.pem'),
        httpPort,
        tlsPort: 0,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }));
    const dns = start('pebble-challtestsrv', ['-dns01', `127.0.0.1:${dnsPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', '',
      '-defaultIPv6', ''], { PATH: process.env.PATH });
    processes.push(dns);
    // Pebble would otherwise sleep before validating and reject a share of nonces at random.
    const pebble = start('pebble', ['-config', path.join(pebbleDir, 'config.json'), '-dnsserver', `127.0.0.1:${dnsPort}`],
      { PATH: process.env.PATH, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' });
    processes.push(pebble);
    await waitUntil(() => /Listening on/.test(pebble.output.text), 'Pebble', 10_000, () => pebble.output.text);

    dirs = { certs: newDir('le-certs'), letsencrypt: newDir('le-state'), webroot: newDir('le-webroot') };
    webroot = http.createServer((request, response) => {
      const file = path.join(dirs.webroot, path.normalize(new URL(request.url!, 'http://x').pathname));
      if (!file.startsWith(path.join(dirs.webroot, '.well-known', 'acme-challenge')) || !existsSync(file)) return void response.writeHead(404).end();
      createReadStream(file).pipe(response);
    });
    await new Promise<void>((resolve) => webroot!.listen(httpPort, '127.0.0.1', resolve));

    // certbot's own settings file: force each renewal (Pebble's certificates are years from expiry),
    // and no random wait before renewing (meant to spread real hosts' load over time).
    const xdg = newDir('xdg');
    mkdirSync(path.join(xdg, 'letsencrypt'));
    writeFileSync(path.join(xdg, 'letsencrypt', 'cli.ini'), 'force-renewal = true\nno-random-sleep-on-renew = true\n');
    env = {
      PATH: process.env.PATH,
      HOME: scratch,
      XDG_CONFIG_HOME: xdg,
      REQUESTS_CA_BUNDLE: path.join(pebbleDir, 'cert.pem'),
      TLS_MODE: 'letsencrypt',
      SERVER_NAME: 'board.test',
      ACME_EMAIL: 'ops@example.com',
      ACME_SERVER: `https://127.0.0.1:${acmePort}/dir`,
      ACME_WEBROOT: dirs.webroot,
      TLS_CERT_DIR: dirs.certs,
      LETSENCRYPT_DIR: dirs.letsencrypt,
      CERTBOT_WORK_DIR: newDir('le-work'),
      CERTBOT_LOGS_DIR: newDir('le-logs'),
      RENEW_INTERVAL_SECONDS: '3',
    };
  }, 30_000);

  afterAll(async () => {
    for (const item of processes.reverse()) await item.stop();
    await new Promise((resolve) => (webroot ? webroot.close(resolve) : resolve(undefined)));
  });

  const installed = () => path.join(dirs.certs, 'tls.crt');
  const live = () => path.join(dirs.letsencrypt, 'live', 'board.test', 'fullchain.pem');

  it('obtains a certificate for SERVER_NAME, installs it, and installs each renewal', async () => {
    const entry = start('sh', [ENTRYPOINT], env);
    processes.push(entry);
    await waitUntil(() => existsSync(installed()), 'the first certificate', 60_000, () => entry.output.text);
    const first = subjectOf(installed());
    expect(first).toMatch(/board\.test/);
    expect(readFileSync(installed(), 'utf8')).toBe(readFileSync(live(), 'utf8'));
    expect(statSync(path.join(dirs.certs, 'tls.key')).mode & 0o777).toBe(0o600);

    await waitUntil(() => subjectOf(installed()) !== first, 'a renewed certificate', 60_000, () => entry.output.text);
    expect(subjectOf(installed())).toMatch(/board\.test/);
    await waitUntil(() => !/\.new$/.test(readdirSync(dirs.certs).join(' ')), 'the hook to finish', 10_000);
    expect(await entry.stop()).toBe(0);
  }, 150_000);

  it('keeps trying, without exiting, while the challenge cannot be validated (first start before DNS or nginx is ready)', async () => {
    const unserved = newDir('le-unserved-webroot');
    const entry = start('sh', [ENTRYPOINT], { ...env, SERVER_NAME: 'not-yet.test', ACME_WEBROOT: unserved, ACME_FIRST_RETRY_SECONDS: '1', ACME_RETRY_SECONDS: '1' });
    processes.push(entry);
    const attempts = () => entry.output.text.match(/could not obtain a certificate for not-yet\.test/g)?.length ?? 0;
    await waitUntil(() => attempts() >= 2, 'two failed attempts', 60_000, () => entry.output.text);
    expect(entry.child.exitCode).toBeNull();
    expect(existsSync(path.join(dirs.letsencrypt, 'live', 'not-yet.test'))).toBe(false);
    expect(await entry.stop()).toBe(0);
  }, 90_000);

  it('on a later start, installs the certificate it holds (a recreated certificate volume) without asking for a new one', async () => {
    rmSync(dirs.certs, { recursive: true, force: true });
    mkdirSync(dirs.certs);
    const entry = start('sh', [ENTRYPOINT], { ...env, RENEW_INTERVAL_SECONDS: '3600' });
    processes.push(entry);
    await waitUntil(() => existsSync(installed()), 'the certificate installed again', 20_000, () => entry.output.text);
    expect(readFileSync(installed(), 'utf8')).toBe(readFileSync(live(), 'utf8'));
    expect(entry.output.text).not.toMatch(/Requesting a certificate/);
    expect(await entry.stop()).toBe(0);
  }, 30_000);
});

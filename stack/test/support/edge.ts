import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { freePort, waitFor } from '@board/service-kit/testing';
import { loadCompose } from '../../src/compose';
import { ensureCertificate, nginxBinary, renderNginx } from '../../src/edge';
import { planStack, type StackPlan } from '../../src/plan';
import { ROOT } from '../../src/stack';

/** The local plan with its edge on free ports, forwarding to `gatewayUpstreams`. */
export async function edgePlan(gatewayUpstreams: string[]): Promise<StackPlan> {
  const plan = planStack(loadCompose(path.join(ROOT, 'docker-compose.yml'), {}));
  return { ...plan, edge: { ...plan.edge, httpPort: await freePort(), httpsPort: await freePort(), gatewayUpstreams } };
}

export const scratchDir = (name: string) => mkdtempSync(path.join(tmpdir(), `${name}-`));
export const removeDir = (dir: string) => rmSync(dir, { recursive: true, force: true });

/** A process the test started, stopped by its pid. */
export interface Started {
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

export function startProcess(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Started {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function waitForPort(port: number, started: Started): Promise<void> {
  await waitFor(
    async () => {
      if (started.child.exitCode !== null) throw new Error(`exited early:\n${started.output()}`);
      return new Promise<boolean>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      });
    },
    { what: `port ${port}` },
  );
}

export interface LocalEdge {
  plan: StackPlan;
  runDir: string;
  /** The certificate nginx serves, for clients to trust. */
  ca: string;
  nginx: Started;
  stop: () => Promise<void>;
}

/** nginx as the local runner renders it, with `overrides` for the template variables. */
export async function startLocalEdge(gatewayUpstreams: string[], overrides: Record<string, string> = {}): Promise<LocalEdge> {
  const plan = await edgePlan(gatewayUpstreams);
  const runDir = scratchDir('edge');
  // Run as root, nginx's workers drop to nobody, who must reach the ACME webroot inside.
  chmodSync(runDir, 0o755);
  const ca = ensureCertificate(path.join(runDir, 'certs'), plan.edge.serverName);
  const conf = renderNginx(plan, runDir, overrides);
  const nginx = startProcess(nginxBinary(), ['-p', runDir, '-c', conf, '-g', 'daemon off;']);
  await waitForPort(plan.edge.httpsPort, nginx);
  return {
    plan,
    runDir,
    ca,
    nginx,
    stop: async () => {
      await nginx.stop();
      removeDir(runDir);
    },
  };
}

/** What a stand-in gateway saw of one request. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/**
 * A stand-in for the gateway behind nginx: answers JSON describing the request (with the headers
 * helmet adds, so the edge's handling of them shows), holds /api/events streams open, and can be
 * told to drop requests without answering, as a replica that dies under a request would.
 */
export class StandInGateway {
  readonly seen: SeenRequest[] = [];
  readonly streams = new Set<http.ServerResponse>();
  connections = 0;
  dropRequests = false;
  private readonly server: http.Server;

  private constructor(
    readonly name: string,
    readonly host: string,
    readonly port: number,
  ) {
    this.server = http.createServer((req, res) => this.answer(req, res));
    this.server.on('connection', () => (this.connections += 1));
  }

  static async start(name: string, host = '127.0.0.1', port?: number): Promise<StandInGateway> {
    const gateway = new StandInGateway(name, host, port ?? (await freePort()));
    await new Promise<void>((resolve, reject) => {
      gateway.server.once('error', reject);
      gateway.server.listen(gateway.port, host, () => resolve());
    });
    return gateway;
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** Sends one event to every open stream. */
  broadcast(data: string): void {
    for (const stream of this.streams) stream.write(`data: ${data}\n\n`);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.seen.push({ method: req.method!, url: req.url!, headers: req.headers });
    if (this.dropRequests) {
      req.socket.destroy();
      return;
    }
    res.setHeader('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (/^\/api\/events/i.test(req.url!)) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(`: ${this.name}\n\n`);
      this.streams.add(res);
      res.on('close', () => this.streams.delete(res));
      return;
    }
    const padding = req.url!.includes('large') ? 'x'.repeat(4096) : '';
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ upstream: this.name, method: req.method, url: req.url, requestId: req.headers['x-request-id'], padding }));
  }
}

/** A raw HTTP/1.1 exchange over TLS (for requests no HTTP client would send), read until close. */
export function rawTls(port: number, ca: string, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => socket.end(request));
    let response = '';
    socket.on('data', (chunk: Buffer) => (response += chunk.toString()));
    socket.on('end', () => resolve(response));
    socket.on('error', reject);
  });
}

/** `openssl s_client` against 127.0.0.1:port with `args`, sending one request and reading until the server closes. */
export function sClient(port: number, args: string[]): string {
  const result = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-ign_eof', ...args], {
    input: 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
    encoding: 'utf8',
    timeout: 15_000,
  });
  return `${result.stdout}${result.stderr}`;
}

/** The SHA-256 fingerprint of the certificate a TLS server presents, as openssl s_client sees it. */
export function servedFingerprint(port: number): string {
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(sClient(port, []))?.[0];
  if (!pem) throw new Error(`no certificate served on ${port}`);
  return fingerprintOf(pem);
}

export function fingerprintOf(pem: string): string {
  return spawnSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256'], { input: pem, encoding: 'utf8' }).stdout.trim();
}

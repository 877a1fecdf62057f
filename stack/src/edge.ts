import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseDotEnv } from './compose';
import type { StackPlan } from './plan';

/** The edge image's sources: nginx.conf, board/, templates/, bin/. */
export const NGINX_DIR = path.resolve(__dirname, '..', '..', 'nginx');

/** The web client's build (`npm run build -w web`), which the edge serves at `/`. */
export const WEB_DIST = path.resolve(__dirname, '..', '..', 'web', 'dist');

/** The edge's template variables with their defaults, from the file the image's entrypoint reads. */
export function edgeDefaults(): Record<string, string> {
  const env = parseDotEnv(readFileSync(path.join(NGINX_DIR, 'templates', 'defaults.env'), 'utf8'));
  return Object.fromEntries(Object.entries(env).map(([name, value]) => [name, value ?? '']));
}

/**
 * envsubst restricted to the given names, as the entrypoint runs it: `${NAME}` and `$NAME` are
 * replaced for those names only, so nginx's own `$variables` stay as they are.
 */
export function renderTemplate(template: string, variables: Record<string, string>): string {
  return template.replace(/\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))/g, (whole, braced?: string, bare?: string) => variables[(braced ?? bare)!] ?? whole);
}

/** The local edge's certificate, made by the image's own script when there is none yet. */
export function ensureCertificate(dir: string, serverName: string): string {
  execFileSync(path.join(NGINX_DIR, 'bin', 'board-nginx-certificate'), {
    env: { PATH: process.env.PATH, TLS_CERT_DIR: dir, SERVER_NAME: serverName },
    stdio: 'ignore',
  });
  return readFileSync(path.join(dir, 'tls.crt'), 'utf8');
}

/**
 * Lays out `runDir` the way the image lays out /etc/nginx: the shipped nginx.conf and board/
 * snippets unchanged, the templates rendered into conf.d/, the gateway's upstream servers from the
 * plan, and paths/ (pid, logs, temp files) inside `runDir`. `overrides` replaces template
 * variables (tests lower the limits or render production's HSTS and port 443). Returns the path
 * of nginx.conf.
 */
export function renderNginx(plan: StackPlan, runDir: string, overrides: Record<string, string> = {}): string {
  const defaults = edgeDefaults();
  const unknown = Object.keys(overrides).filter((name) => !(name in defaults));
  if (unknown.length > 0) throw new Error(`not variables of the nginx templates: ${unknown.join(', ')}`);
  const variables = {
    ...defaults,
    SERVER_NAME: plan.edge.serverName,
    HTTPS_PORT: String(plan.edge.httpsPort),
    NGINX_HTTP_LISTEN: `127.0.0.1:${plan.edge.httpPort}`,
    NGINX_HTTPS_LISTEN: `127.0.0.1:${plan.edge.httpsPort}`,
    NGINX_STATUS_LISTEN: `127.0.0.1:${plan.edge.statusPort}`,
    TLS_CERT_DIR: path.join(runDir, 'certs'),
    ACME_WEBROOT: path.join(runDir, 'acme'),
    WEB_ROOT: WEB_DIST,
    ...overrides,
  };
  const conf = installNginxFiles(runDir);
  mkdirSync(path.join(runDir, 'conf.d'), { recursive: true });
  mkdirSync(path.join(runDir, 'upstream'), { recursive: true });
  mkdirSync(variables.ACME_WEBROOT, { recursive: true });
  for (const file of readdirSync(path.join(NGINX_DIR, 'templates')).filter((name) => name.endsWith('.conf.template'))) {
    const template = readFileSync(path.join(NGINX_DIR, 'templates', file), 'utf8');
    writeFileSync(path.join(runDir, 'conf.d', file.replace(/\.template$/, '')), renderTemplate(template, variables));
  }
  writeFileSync(path.join(runDir, 'upstream', 'gateway.conf'), gatewayServers(plan.edge.gatewayUpstreams));
  return conf;
}

/**
 * What the image carries in /etc/nginx before its entrypoint runs, with paths/ of this run:
 * nginx.conf and board/ as shipped, paths/ pointing into `dir`. Returns the path of nginx.conf.
 */
export function installNginxFiles(dir: string): string {
  for (const sub of ['board', 'paths', 'logs', 'nginx-temp']) mkdirSync(path.join(dir, sub), { recursive: true });
  copyFileSync(path.join(NGINX_DIR, 'nginx.conf'), path.join(dir, 'nginx.conf'));
  for (const file of readdirSync(path.join(NGINX_DIR, 'board'))) copyFileSync(path.join(NGINX_DIR, 'board', file), path.join(dir, 'board', file));
  writeFileSync(path.join(dir, 'paths', 'main.conf'), localMainPaths(dir));
  writeFileSync(path.join(dir, 'paths', 'http.conf'), localHttpPaths(dir));
  return path.join(dir, 'nginx.conf');
}

const gatewayServers = (upstreams: string[]) =>
  ['# Every gateway replica of the plan, written by the local stack runner.', ...upstreams.map((upstream) => `server ${upstream};`), ''].join('\n');

/**
 * Workers run as the runner's user. As root, nginx would otherwise drop them to nobody, who may
 * not read a checkout under a private directory (mktemp -d makes one 0700): the client's files
 * and the temp paths would be out of its reach.
 */
const workerUser = () => (process.getuid?.() === 0 ? 'user root;\n' : '');

const localMainPaths = (runDir: string) => `# The local stack runner's process paths (the image's are nginx/paths/main.conf).
${workerUser()}pid ${path.join(runDir, 'nginx.pid')};
error_log ${path.join(runDir, 'logs', 'nginx-error.log')} warn;
`;

const localHttpPaths = (runDir: string) => {
  const temp = path.join(runDir, 'nginx-temp');
  return `# The local stack runner's access log and temp paths (the image's are nginx/paths/http.conf).
access_log ${path.join(runDir, 'logs', 'nginx-access.log')} board_json;
${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `${kind}_temp_path ${temp}/${kind};`).join('\n')}
`;
};

/** Debian's nginx, wherever this machine keeps it. */
export function nginxBinary(): string {
  for (const candidate of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) if (existsSync(candidate)) return candidate;
  return 'nginx';
}

import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export type Env = Record<string, string | undefined>;

export interface ComposeService {
  name: string;
  environment: Record<string, string>;
  /** The workspace a Node service is built from (build.args.SERVICE); undefined for images. */
  workspace?: string;
  dependsOn: string[];
}

/** Reads KEY=value lines the way compose reads `.env` (no export, # comments, optional quotes). */
export function parseDotEnv(text: string): Env {
  const env: Env = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match) continue;
    const [, key, raw] = match as unknown as [string, string, string];
    env[key] = raw.replace(/^(['"])(.*)\1$/, '$2');
  }
  return env;
}

/** Compose variable interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, $$. */
export function interpolate(value: string, env: Env): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g, (whole, name?: string, colon?: string, op?: string, arg?: string) => {
    if (whole === '$$') return '$';
    const current = env[name!];
    const missing = current === undefined || (colon === ':' && current === '');
    if (op === '-') return missing ? arg! : current!;
    if (op === '?' && missing) throw new Error(`${name}: ${arg || 'is required'}`);
    return current ?? '';
  });
}

interface RawService {
  environment?: Record<string, string | number | boolean | null>;
  build?: { args?: Record<string, string> };
  depends_on?: string[] | Record<string, unknown>;
}

/** The services of a compose file, with merge keys resolved and variables interpolated. */
export function loadCompose(file: string, env: Env): Map<string, ComposeService> {
  const document = parse(readFileSync(file, 'utf8'), { merge: true }) as { services: Record<string, RawService> };
  const services = new Map<string, ComposeService>();
  for (const [name, raw] of Object.entries(document.services)) {
    const environment: Record<string, string> = {};
    for (const [key, value] of Object.entries(raw.environment ?? {})) {
      environment[key] = interpolate(value === null ? '' : String(value), env);
    }
    const dependsOn = Array.isArray(raw.depends_on) ? raw.depends_on : Object.keys(raw.depends_on ?? {});
    services.set(name, { name, environment, workspace: raw.build?.args?.SERVICE, dependsOn });
  }
  return services;
}

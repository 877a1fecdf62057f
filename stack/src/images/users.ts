import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT_USER, type BaseImage, type ImageUser } from './base-images';

/** An account database (/etc/passwd or /etc/group) as the image sees it: its own layers first, then the host's. */
function accounts(file: 'passwd' | 'group', layers: readonly string[]): string[][] {
  const found = [...layers.map((layer) => path.join(layer, 'etc', file)), path.join('/etc', file)].find((candidate) => existsSync(candidate));
  return readFileSync(found!, 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split(':'));
}

const numeric = (value: string) => /^\d+$/.test(value);

/**
 * The uid/gid (and home) of a USER or --chown spec (`name`, `uid`, `name:group`, `uid:gid`), looked
 * up as Docker does in the image's /etc/passwd and /etc/group, the base image's own accounts first.
 */
export function resolveUser(spec: string, base: BaseImage, layers: readonly string[]): ImageUser {
  if (spec === '') return ROOT_USER;
  const [name, group] = spec.split(':') as [string, string | undefined];
  const entry = accounts('passwd', layers).find((fields) => fields[0] === name || fields[2] === name);
  const user: ImageUser | undefined =
    base.users[name] ??
    (entry ? { uid: Number(entry[2]), gid: Number(entry[3]), home: entry[5] ?? '/' } : undefined) ??
    (numeric(name) ? { uid: Number(name), gid: 0, home: '/' } : undefined);
  if (!user) throw new Error(`user ${name}: no such user in the image`);
  if (group === undefined) return user;
  const groupEntry = accounts('group', layers).find((fields) => fields[0] === group);
  return { ...user, gid: groupGid(group, base, groupEntry) };
}

function groupGid(group: string, base: BaseImage, entry: string[] | undefined): number {
  if (numeric(group)) return Number(group);
  // The base images name each account's primary group after it (node:node).
  const own = base.users[group];
  if (own) return own.gid;
  if (entry) return Number(entry[2]);
  throw new Error(`group ${group}: no such group in the image`);
}

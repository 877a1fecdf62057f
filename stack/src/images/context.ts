import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import ignore, { type Ignore } from '@balena/dockerignore';

/**
 * Copies the build context as `docker build` sends it into `into`: the context directory less what
 * its ignore file excludes, matched by Docker's own rules (@balena/dockerignore is a port of
 * them). A COPY then reaches only what the daemon would have received.
 */
export function stageContext(contextDir: string, into: string, dockerfile?: string): void {
  const ignoreFile = ignoreFileFor(contextDir, dockerfile);
  const rules = existsSync(ignoreFile) ? readFileSync(ignoreFile, 'utf8') : '';
  // With an exception rule (`!path`), something inside an excluded directory may come back, so
  // excluded directories are searched too; without one they are skipped whole (node_modules).
  const hasExceptions = rules.split('\n').some((line) => line.trim().startsWith('!'));
  mkdirSync(into, { recursive: true });
  copyIncluded({ from: contextDir, to: into, rules: ignore().add(rules), hasExceptions }, '');
}

/**
 * BuildKit's rule: `<Dockerfile>.dockerignore` beside the Dockerfile, when there is one, replaces
 * the context's `.dockerignore` (so images that share a context can each have their own).
 */
export function ignoreFileFor(contextDir: string, dockerfile?: string): string {
  const own = dockerfile === undefined ? undefined : `${dockerfile}.dockerignore`;
  return own !== undefined && existsSync(own) ? own : path.join(contextDir, '.dockerignore');
}

interface Walk {
  from: string;
  to: string;
  rules: Ignore;
  hasExceptions: boolean;
}

function copyIncluded(walk: Walk, directory: string): void {
  for (const entry of readdirSync(path.join(walk.from, directory), { withFileTypes: true })) {
    const relative = directory === '' ? entry.name : `${directory}/${entry.name}`;
    const excluded = walk.rules.ignores(relative);
    const source = path.join(walk.from, relative);
    const target = path.join(walk.to, relative);
    if (entry.isDirectory()) {
      if (!excluded) makeDirectoryLike(source, target);
      if (!excluded || walk.hasExceptions) copyIncluded(walk, relative);
      continue;
    }
    if (excluded) continue;
    mkdirSync(path.dirname(target), { recursive: true });
    if (entry.isSymbolicLink()) symlinkSync(readlinkSync(source), target);
    else {
      copyFileSync(source, target);
      chmodSync(target, lstatSync(source).mode & 0o7777);
    }
  }
}

function makeDirectoryLike(source: string, target: string): void {
  mkdirSync(target, { recursive: true });
  chmodSync(target, lstatSync(source).mode & 0o7777);
}

/** A digest of the files under `paths` (names, modes, contents, link targets): what a COPY's cache key depends on. */
export function digestOf(paths: readonly string[]): string {
  const hash = createHash('sha256');
  const visit = (file: string, name: string) => {
    const stat = lstatSync(file);
    hash.update(`${name}\0${stat.mode}\0`);
    if (stat.isSymbolicLink()) hash.update(readlinkSync(file));
    else if (stat.isDirectory()) {
      for (const child of readdirSync(file).sort()) visit(path.join(file, child), `${name}/${child}`);
    } else hash.update(readFileSync(file));
  };
  for (const file of paths) visit(file, path.basename(file));
  return hash.digest('hex');
}

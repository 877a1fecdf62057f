/**
 * The base images our Dockerfiles start FROM, and how this machine stands in for each. A replayed
 * stage's bottom layer is this host's own root (Debian bookworm, like every image below), so what
 * the host has and the image lacks, or has in another version, is noted here: the replay cannot
 * prove those points, the CI job's real `docker build` does.
 */

export interface ImageUser {
  uid: number;
  gid: number;
  home: string;
}

export interface BaseImage {
  reference: string;
  /** The image's configured environment (its `Config.Env`), as far as our steps depend on it. */
  env: Readonly<Record<string, string>>;
  /** Accounts the image has that this host lacks under that name; other names come from /etc/passwd. */
  users: Readonly<Record<string, ImageUser>>;
}

const DEBIAN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Everywhere: the host root carries far more than a slim image (compilers, Python, nginx...), so a
 * step relying on a tool the image lacks passes here; and the host's own npm configuration
 * (/root/.npmrc) is seen by RUN steps.
 */
const BASE_IMAGES: readonly BaseImage[] = [
  {
    // Differs: Node 20 and npm 11 here, Node 22 and npm 10 in the image. npm 11 skips dependencies'
    // install scripts unless allowed, npm 10 runs them (bcrypt's only looks for the prebuilt binary
    // it ships). The image also sets NODE_VERSION and YARN_VERSION, which nothing of ours reads.
    reference: 'node:22-bookworm-slim',
    env: { PATH: DEBIAN_PATH },
    // The image creates `node` (uid/gid 1000, home /home/node). This host has no `node` account
    // (its uid 1000 is another one), so the same numbers stand for it: what a process may read and
    // write depends on them, not on the name.
    users: { node: { uid: 1000, gid: 1000, home: '/home/node' } },
  },
  {
    // Differs: the host already has the packages our nginx image installs (nginx 1.22.1, openssl,
    // gettext-base), so apt-get finds them current instead of unpacking them.
    reference: 'debian:bookworm-slim',
    env: { PATH: DEBIAN_PATH },
    users: {},
  },
];

export const ROOT_USER: ImageUser = { uid: 0, gid: 0, home: '/root' };

/** The stand-in for `reference`, or an error naming the ones this host can stand in for. */
export function baseImage(reference: string): BaseImage {
  const found = BASE_IMAGES.find((image) => image.reference === reference);
  if (found) return found;
  throw new Error(
    `FROM ${reference}: this host cannot stand in for that base image (it can for ${BASE_IMAGES.map((image) => image.reference).join(', ')}; ` +
      'see stack/src/images/base-images.ts)',
  );
}

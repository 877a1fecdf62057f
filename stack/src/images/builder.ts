import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { baseImage, type BaseImage } from './base-images';
import { digestOf, ignoreFileFor, stageContext } from './context';
import { expand, parseDockerfile, type Command, type HealthCheck, type Recipe, type Stage, type Step } from './dockerfile';
import { runInRoot, SOURCE_MOUNT, type RootSpec, type Scratch } from './rootfs';
import { resolveUser } from './users';

/** What `docker image inspect` calls Config, as far as our images set it. */
export interface ImageConfig {
  env: Record<string, string>;
  workdir: string;
  /** As written in USER (empty: root). */
  user: string;
  cmd?: Command;
  entrypoint?: Command;
  healthcheck?: HealthCheck;
  /** What `docker stop` sends (STOPSIGNAL; SIGTERM when unset). */
  stopSignal?: NodeJS.Signals;
  exposedPorts: string[];
}

export interface Image {
  /** Layer directories, top first; this host's root stands beneath them for the base image. */
  layers: string[];
  config: ImageConfig;
  base: BaseImage;
  /** The cache key of its last step: two images with one key have the same tree and config. */
  key: string;
}

export interface BuildRequest {
  contextDir: string;
  dockerfile: string;
  buildArgs?: Readonly<Record<string, string>>;
  /** The stage to build (default: the last), as `docker build --target`. */
  target?: string;
}

/** A step that made a layer (RUN, COPY, WORKDIR) and really ran, i.e. was not taken from the cache. */
export interface ExecutedStep {
  dockerfile: string;
  line: number;
  instruction: 'RUN' | 'COPY' | 'WORKDIR';
  text: string;
}

export interface BuilderOptions {
  /** Host directories RUN steps share read-write (the npm cache, as a BuildKit cache mount would). */
  sharedHostDirs?: readonly string[];
}

const key = (...parts: unknown[]) => createHash('sha256').update(JSON.stringify(parts)).digest('hex');
const GLOB = /[*?[]/;

/**
 * Replays Dockerfiles step by step into layer directories. Like Docker's build cache, a step whose
 * inputs (the parent's key, the instruction with its expanded values, a COPY's file contents, a
 * RUN's environment) were seen before reuses that step's layer instead of running again, so the
 * stages every service image shares run once.
 */
export class ImageBuilder {
  readonly executed: ExecutedStep[] = [];
  private readonly layers = new Map<string, string | null>();
  private readonly contexts = new Map<string, string>();

  constructor(
    private readonly scratch: Scratch,
    private readonly options: BuilderOptions = {},
  ) {}

  async build(request: BuildRequest): Promise<Image> {
    const file = path.relative(process.cwd(), request.dockerfile);
    const recipe = parseDockerfile(readFileSync(request.dockerfile, 'utf8'), file);
    const build = new RecipeBuild(this, recipe, file, this.context(request.contextDir, request.dockerfile), request.buildArgs ?? {});
    const target = request.target === undefined ? recipe.stages.at(-1)! : build.stageNamed(request.target.toLowerCase(), recipe.stages.length);
    return build.stage(target);
  }

  /** The context directory as the daemon would receive it, staged once per builder. */
  private context(dir: string, dockerfile: string): string {
    const key = `${dir}\0${ignoreFileFor(dir, dockerfile)}`;
    let staged = this.contexts.get(key);
    if (!staged) {
      staged = this.scratch.directory('context');
      stageContext(dir, staged, dockerfile);
      this.contexts.set(key, staged);
    }
    return staged;
  }

  /** Runs `work` into a new layer unless `stepKey` was built before; returns the layer (null: no change). */
  async layer(stepKey: string, executed: ExecutedStep, work: (layer: string, log: string) => Promise<void>): Promise<string | null> {
    if (this.layers.has(stepKey)) return this.layers.get(stepKey)!;
    const layer = this.scratch.directory('layer');
    const log = path.join(this.scratch.directory('logs'), 'step.log');
    try {
      await work(layer, log);
    } catch (error) {
      rmSync(layer, { recursive: true, force: true });
      throw error;
    }
    this.executed.push(executed);
    const kept = readdirSync(layer).length > 0 ? layer : null;
    if (!kept) rmSync(layer, { recursive: true });
    this.layers.set(stepKey, kept);
    return kept;
  }

  /** Runs one step's program in `root`, as `user` (a USER spec) in `cwd`. */
  run(root: RootSpec, program: StepProgram, image: Image, log: string, what: string): Promise<void> {
    const user = resolveUser(program.user, image.base, image.layers);
    return runInRoot(
      this.scratch,
      root,
      { argv: program.argv, env: { HOME: user.home, ...program.env }, cwd: program.cwd, uid: user.uid, gid: user.gid },
      log,
      what,
    );
  }

  /** The shared host directories that exist, for RUN steps. */
  get sharedHostDirs(): string[] {
    return (this.options.sharedHostDirs ?? []).filter((dir) => existsSync(dir));
  }
}

interface StepProgram {
  argv: string[];
  env: Record<string, string>;
  user: string;
  cwd: string;
}

/** A failed step, already naming its Dockerfile line. */
class BuildError extends Error {}

/** One `docker build`: its build arguments, and the stages built so far. */
class RecipeBuild {
  private readonly built = new Map<number, Promise<Image>>();
  private readonly globals: Record<string, string | undefined> = {};

  constructor(
    private readonly builder: ImageBuilder,
    private readonly recipe: Recipe,
    private readonly file: string,
    private readonly context: string,
    private readonly buildArgs: Readonly<Record<string, string>>,
  ) {
    for (const arg of recipe.globalArgs) {
      this.globals[arg.name] = buildArgs[arg.name] ?? (arg.defaultValue ? expand(arg.defaultValue, this.globals) : undefined);
    }
  }

  stage(stage: Stage): Promise<Image> {
    let image = this.built.get(stage.index);
    if (!image) {
      image = this.replay(stage);
      this.built.set(stage.index, image);
    }
    return image;
  }

  /** A stage referred to by name or index from before `beforeIndex` (FROM, COPY --from). */
  stageNamed(name: string, beforeIndex: number): Stage {
    const stage = this.recipe.stages.find((candidate) => candidate.index < beforeIndex && (candidate.name === name || String(candidate.index) === name));
    if (!stage) throw new Error(`${this.file}: no stage "${name}" before this point`);
    return stage;
  }

  private async replay(stage: Stage): Promise<Image> {
    const reference = expand(stage.base, this.globals);
    const parent = this.recipe.stages.find((candidate) => candidate.index < stage.index && candidate.name === reference.toLowerCase());
    let image: Image;
    if (parent) {
      const from = await this.stage(parent);
      image = { ...from, layers: [...from.layers], config: { ...from.config, env: { ...from.config.env }, exposedPorts: [...from.config.exposedPorts] } };
    } else {
      const base = await this.located(stage.line, () => baseImage(reference));
      image = { layers: [], base, key: key('FROM', reference), config: { env: { ...base.env }, workdir: '/', user: '', exposedPorts: [] } };
    }
    const args: Record<string, string | undefined> = {};
    const setHere = new Set<string>();
    for (const step of stage.steps) await this.located(step.line, () => this.apply(step, image, args, setHere, stage.index));
    return image;
  }

  /** `work`, with a failure naming the Dockerfile line (once: a failure in another stage keeps its own). */
  private async located<T>(line: number, work: () => T | Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw error instanceof BuildError ? error : new BuildError(`${this.file}:${line}: ${(error as Error).message}`);
    }
  }

  private async apply(step: Step, image: Image, args: Record<string, string | undefined>, setHere: Set<string>, stageIndex: number): Promise<void> {
    // References see build arguments declared in this stage and the environment; ENV wins.
    const scope = { ...args, ...image.config.env };
    const config = image.config;
    switch (step.kind) {
      case 'ARG':
        args[step.name] = this.buildArgs[step.name] ?? (step.defaultValue ? expand(step.defaultValue, scope) : this.globals[step.name]);
        return;
      case 'ENV': {
        const values = step.variables.map(({ name, value }) => [name, expand(value, scope)] as const);
        for (const [name, value] of values) config.env[name] = value;
        image.key = key(image.key, 'ENV', values);
        return;
      }
      case 'USER':
        config.user = expand(step.user, scope);
        image.key = key(image.key, 'USER', config.user);
        return;
      case 'EXPOSE':
        config.exposedPorts.push(...step.ports.map((port) => expand(port, scope)));
        image.key = key(image.key, 'EXPOSE', config.exposedPorts);
        return;
      case 'HEALTHCHECK':
        config.healthcheck = step.check === 'NONE' ? undefined : step.check;
        image.key = key(image.key, 'HEALTHCHECK', step.check);
        return;
      case 'STOPSIGNAL':
        config.stopSignal = step.signal;
        image.key = key(image.key, 'STOPSIGNAL', step.signal);
        return;
      case 'CMD':
        config.cmd = step.command;
        setHere.add('CMD');
        image.key = key(image.key, 'CMD', step.command);
        return;
      case 'ENTRYPOINT':
        config.entrypoint = step.command;
        // Docker: a new ENTRYPOINT drops a CMD inherited from the base.
        if (!setHere.has('CMD')) config.cmd = undefined;
        image.key = key(image.key, 'ENTRYPOINT', step.command);
        return;
      case 'WORKDIR': {
        const workdir = path.posix.resolve(config.workdir, expand(step.path, scope));
        config.workdir = workdir;
        const program = { argv: ['mkdir', '-p', workdir], env: config.env, user: '', cwd: '/' };
        return this.addLayer(image, key(image.key, 'WORKDIR', workdir), 'WORKDIR', step.line, workdir, (layer, log) =>
          this.builder.run({ layers: image.layers, upper: layer }, program, image, log, `WORKDIR ${workdir}`),
        );
      }
      case 'RUN': {
        const argv = step.command.form === 'exec' ? step.command.argv : ['/bin/sh', '-c', step.command.script];
        // A RUN sees the build arguments in scope as environment variables, and ENV over them.
        const program = { argv, env: { ...definedOnly(args), ...config.env }, user: config.user, cwd: config.workdir };
        const root = { layers: image.layers, sharedHostDirs: this.builder.sharedHostDirs };
        const text = argv.join(' ');
        return this.addLayer(image, key(image.key, 'RUN', program), 'RUN', step.line, text, (layer, log) =>
          this.builder.run({ ...root, upper: layer }, program, image, log, `RUN ${text}`),
        );
      }
      case 'COPY':
        return this.copy(step, image, scope, stageIndex);
    }
  }

  private async copy(step: Extract<Step, { kind: 'COPY' }>, image: Image, scope: Record<string, string | undefined>, stageIndex: number): Promise<void> {
    const sources = step.sources.map((source) => expand(source, scope));
    const written = expand(step.destination, scope);
    if (sources.some((source) => GLOB.test(source))) throw new Error(`COPY ${sources.join(' ')}: wildcards are not supported by the replay`);
    const intoDirectory = written.endsWith('/') || sources.length > 1;
    if (sources.length > 1 && !written.endsWith('/')) throw new Error(`COPY with several sources needs a destination ending in /`);
    const destination = path.posix.resolve(image.config.workdir, written);
    // Sources are relative to the context root (or the source stage's root) and cannot leave it.
    const inside = sources.map((source) => path.posix.join(SOURCE_MOUNT, path.posix.normalize(`/${source}`)));

    let sourceRoot: RootSpec['source'];
    let inputs: string;
    if (step.from) {
      const from = await this.stage(this.stageNamed(step.from, stageIndex));
      sourceRoot = { layers: from.layers };
      inputs = from.key;
    } else {
      const onHost = inside.map((file) => path.join(this.context, path.posix.relative(SOURCE_MOUNT, file)));
      const missing = sources.filter((_, index) => !existsOrLink(onHost[index]!));
      if (missing.length > 0) throw new Error(`COPY ${missing.join(' ')}: not found in the build context (see .dockerignore)`);
      sourceRoot = { hostDir: this.context };
      inputs = digestOf(onHost);
    }
    const owner = step.chown === undefined ? '' : ownerOf(step.chown, image);
    const text = `${step.from ? `--from=${step.from} ` : ''}${sources.join(' ')} ${written}`;
    const stepKey = key(image.key, 'COPY', inputs, inside, destination, intoDirectory, owner, step.chmod);
    const program = {
      argv: ['/bin/sh', '-c', COPY_SCRIPT, 'copy', destination, intoDirectory ? 'dir' : 'auto', owner, step.chmod ?? '', ...inside],
      env: { PATH: image.config.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
      user: '',
      cwd: '/',
    };
    return this.addLayer(image, stepKey, 'COPY', step.line, text, (layer, log) =>
      this.builder.run({ layers: image.layers, upper: layer, source: sourceRoot }, program, image, log, `COPY ${text}`),
    );
  }

  private async addLayer(image: Image, stepKey: string, instruction: ExecutedStep['instruction'], line: number, text: string, work: (layer: string, log: string) => Promise<void>): Promise<void> {
    const layer = await this.builder.layer(stepKey, { dockerfile: this.file, line, instruction, text }, work);
    if (layer) image.layers.unshift(layer);
    image.key = stepKey;
  }
}

/**
 * COPY inside the root, so that the destination's symlinks resolve within the image: a directory
 * source copies its contents, a file goes into the destination when that is (or must be) a
 * directory. New files belong to root unless --chown says otherwise; modes are kept unless --chmod.
 * Arguments: destination, dir|auto, owner (uid:gid or empty), mode (or empty), sources...
 */
const COPY_SCRIPT = `set -e
dest=$1 kind=$2 owner=$3 mode=$4; shift 4
apply() {
  if [ -n "$owner" ]; then chown -R -h "$owner" "$1"; fi
  if [ -n "$mode" ]; then chmod -R "$mode" "$1"; fi
}
for src in "$@"; do
  if [ -d "$src" ] && [ ! -L "$src" ]; then
    mkdir -p "$dest"
    cp -a --no-preserve=ownership "$src/." "$dest/"
    find "$src" -mindepth 1 -maxdepth 1 -printf '%f\\n' | while IFS= read -r name; do apply "$dest/$name"; done
  else
    if [ "$kind" = dir ] || [ -d "$dest" ]; then mkdir -p "$dest"; target="$dest/$(basename "$src")"; else mkdir -p "$(dirname "$dest")"; target=$dest; fi
    cp -a --no-preserve=ownership "$src" "$target"
    apply "$target"
  fi
done`;

function ownerOf(spec: string, image: Image): string {
  const user = resolveUser(spec, image.base, image.layers);
  return `${user.uid}:${user.gid}`;
}

function definedOnly(values: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

function existsOrLink(file: string): boolean {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

/** Where `file` (absolute, inside the image) is in the image's own layers, top first; undefined if only the host has it. */
export function fileInImage(image: Image, file: string): string | undefined {
  return image.layers.map((layer) => path.join(layer, file)).find((candidate) => existsOrLink(candidate));
}

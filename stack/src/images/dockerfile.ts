import { constants } from 'node:os';
import {
  Arg,
  Copy,
  DockerfileParser,
  Env,
  From,
  Healthcheck,
  Run,
  type Argument,
  type Instruction,
  type Variable,
} from 'dockerfile-ast';

/**
 * A Dockerfile as the replay needs it, read with dockerfile-ast. Only what our Dockerfiles use is
 * modelled; anything else (another instruction, a flag, a heredoc, a quoted argument) is an error
 * naming the line, so the replay never quietly does less than `docker build` would.
 */

/** `$NAME` or `${NAME}`; with `:-` the word stands in when NAME is unset or empty, with `:+` when it is set. */
export interface Reference {
  name: string;
  modifier?: ':-' | ':+';
  word?: string;
}

/** Text with references to build arguments and environment variables, expanded at build time. */
export type Word = readonly (string | Reference)[];

export type Command = { form: 'exec'; argv: string[] } | { form: 'shell'; script: string };

export interface HealthCheck {
  test: Command;
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  retries: number;
}

interface Located {
  /** 1-based, as `docker build` reports it. */
  line: number;
}

export type ArgStep = Located & { kind: 'ARG'; name: string; defaultValue?: Word };
export type Step =
  | ArgStep
  | (Located & { kind: 'ENV'; variables: { name: string; value: Word }[] })
  | (Located & { kind: 'WORKDIR'; path: Word })
  | (Located & { kind: 'COPY'; from?: string; chown?: string; chmod?: string; sources: Word[]; destination: Word })
  | (Located & { kind: 'RUN'; command: Command })
  | (Located & { kind: 'USER'; user: Word })
  | (Located & { kind: 'EXPOSE'; ports: Word[] })
  | (Located & { kind: 'HEALTHCHECK'; check: HealthCheck | 'NONE' })
  | (Located & { kind: 'STOPSIGNAL'; signal: NodeJS.Signals })
  | (Located & { kind: 'CMD' | 'ENTRYPOINT'; command: Command });

export interface Stage extends Located {
  /** The `AS` name, if any (stage names are case-insensitive, kept lower-case). */
  name?: string;
  index: number;
  base: Word;
  steps: Step[];
}

export interface Recipe {
  /** ARGs before the first FROM: usable in FROM lines, and in a stage that declares them again. */
  globalArgs: ArgStep[];
  stages: Stage[];
}

/** Docker's HEALTHCHECK defaults. */
const HEALTHCHECK_DEFAULTS = { intervalMs: 30_000, timeoutMs: 30_000, startPeriodMs: 0, retries: 3 };

export function parseDockerfile(text: string, file = 'Dockerfile'): Recipe {
  const recipe: Recipe = { globalArgs: [], stages: [] };
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    const line = instruction.getRange().start.line + 1;
    const fail = (problem: string): never => {
      throw new Error(`${file}:${line}: ${instruction.getKeyword()} ${problem}`);
    };
    if (instruction instanceof From) {
      recipe.stages.push(stageOf(instruction, recipe.stages.length, line, fail));
      continue;
    }
    const step = stepOf(instruction, line, fail);
    const stage = recipe.stages.at(-1);
    if (stage) stage.steps.push(step);
    else if (step.kind === 'ARG') recipe.globalArgs.push(step);
    else fail('comes before the first FROM');
  }
  if (recipe.stages.length === 0) throw new Error(`${file}: no FROM`);
  return recipe;
}

type Fail = (problem: string) => never;

function stageOf(from: From, index: number, line: number, fail: Fail): Stage {
  if (from.getFlags().length > 0) fail(`flags (${from.getFlags().join(' ')}) are not supported by the replay`);
  const args = from.getArguments();
  const image = args[0] ?? fail('names no image');
  const name = from.getBuildStage() ?? undefined;
  if (args.length !== 1 && args.length !== 3) fail('must be `FROM image [AS name]`');
  return { line, index, name: name?.toLowerCase(), base: argumentWord(from, image, fail), steps: [] };
}

function stepOf(instruction: Instruction, line: number, fail: Fail): Step {
  switch (instruction.getKeyword()) {
    case 'ARG':
      return argStep(instruction as Arg, line, fail);
    case 'ENV':
      return {
        kind: 'ENV',
        line,
        variables: (instruction as Env).getProperties().map((property) => ({
          name: property.getName(),
          value: propertyWord(instruction, property.getValue() ?? '', property.getUnescapedValue() ?? '', property.getValueRange(), fail),
        })),
      };
    case 'WORKDIR':
      return { kind: 'WORKDIR', line, path: soleArgument(instruction, fail) };
    case 'USER':
      return { kind: 'USER', line, user: soleArgument(instruction, fail) };
    case 'EXPOSE':
      return { kind: 'EXPOSE', line, ports: instruction.getArguments().map((argument) => argumentWord(instruction, argument, fail)) };
    case 'COPY':
      return copyStep(instruction as Copy, line, fail);
    case 'RUN':
      return { kind: 'RUN', line, command: commandOf(runScript(instruction as Run, fail)) };
    case 'CMD':
    case 'ENTRYPOINT':
      return { kind: instruction.getKeyword() as 'CMD' | 'ENTRYPOINT', line, command: commandOf(instruction.getArgumentsContent() ?? fail('has no command')) };
    case 'HEALTHCHECK':
      return { kind: 'HEALTHCHECK', line, check: healthCheckOf(instruction as Healthcheck, fail) };
    case 'STOPSIGNAL':
      return { kind: 'STOPSIGNAL', line, signal: stopSignalOf(instruction, fail) };
    default:
      return fail('is not supported by the replay (stack/src/images/dockerfile.ts)');
  }
}

function argStep(arg: Arg, line: number, fail: Fail): ArgStep {
  const property = arg.getProperty() ?? fail('declares nothing');
  const value = property.getValue();
  if (value === null) return { kind: 'ARG', line, name: property.getName() };
  return {
    kind: 'ARG',
    line,
    name: property.getName(),
    defaultValue: propertyWord(arg, value, property.getUnescapedValue() ?? '', property.getValueRange(), fail),
  };
}

const COPY_FLAGS = new Set(['from', 'chown', 'chmod']);

function copyStep(copy: Copy, line: number, fail: Fail): Step {
  if (copy.getHeredocs().length > 0) fail('with a heredoc is not supported by the replay');
  if (copy.getOpeningBracket()) fail('in JSON form is not supported by the replay');
  const flags = new Map<string, string>();
  for (const flag of copy.getFlags()) {
    if (!COPY_FLAGS.has(flag.getName())) fail(`--${flag.getName()} is not supported by the replay`);
    flags.set(flag.getName(), flag.getValue() ?? fail(`--${flag.getName()} needs a value`));
  }
  const words = copy.getArguments().map((argument) => argumentWord(copy, argument, fail));
  if (words.length < 2) fail('needs a source and a destination');
  const chmod = flags.get('chmod');
  if (chmod !== undefined && !/^[0-7]{3,4}$/.test(chmod)) fail(`--chmod=${chmod}: only octal modes are supported by the replay`);
  for (const [name, value] of flags) if (value.includes('$')) fail(`--${name}=${value}: substitution in flags is not supported by the replay`);
  return {
    kind: 'COPY',
    line,
    from: flags.get('from')?.toLowerCase(),
    chown: flags.get('chown'),
    chmod,
    sources: words.slice(0, -1),
    destination: words.at(-1)!,
  };
}

/**
 * The shell-form script with line continuations joined. dockerfile-ast keeps a comment line found
 * inside a continuation (Docker drops it), so such a line is refused rather than run.
 */
function runScript(run: Run, fail: Fail): string {
  if (run.getFlags().length > 0) fail(`flags (${run.getFlags().join(' ')}) are not supported by the replay`);
  if (run.getHeredocs().length > 0) fail('with a heredoc is not supported by the replay');
  const content = run.getArgumentsContent() ?? fail('has no command');
  if (content.includes('\n')) fail('with a comment line inside its continuation is not supported by the replay');
  return content;
}

function healthCheckOf(healthcheck: Healthcheck, fail: Fail): HealthCheck | 'NONE' {
  const subcommand = healthcheck.getSubcommand()?.getValue().toUpperCase() ?? fail('needs CMD or NONE');
  if (subcommand === 'NONE') return 'NONE';
  if (subcommand !== 'CMD') fail(`${subcommand}: expected CMD or NONE`);
  const content = healthcheck.getArgumentsContent() ?? '';
  const options = { ...HEALTHCHECK_DEFAULTS };
  for (const flag of healthcheck.getFlags()) {
    const value = flag.getValue() ?? fail(`--${flag.getName()} needs a value`);
    if (flag.getName() === 'interval') options.intervalMs = durationMs(value, fail);
    else if (flag.getName() === 'timeout') options.timeoutMs = durationMs(value, fail);
    else if (flag.getName() === 'start-period') options.startPeriodMs = durationMs(value, fail);
    else if (flag.getName() === 'retries') options.retries = Number(value);
    else fail(`--${flag.getName()} is not supported by the replay`);
  }
  // The arguments start with the subcommand itself; the command is what follows it.
  return { ...options, test: commandOf(content.trimStart().slice('CMD'.length)) };
}

/** A signal name as `kill -l` spells it, with or without SIG (numbers are not supported by the replay). */
function stopSignalOf(instruction: Instruction, fail: Fail): NodeJS.Signals {
  const [signal, ...rest] = instruction.getArguments().map((argument) => argument.getValue());
  if (!signal || rest.length > 0 || signal.includes('$')) fail('takes one signal name here');
  const name = signal!.toUpperCase().startsWith('SIG') ? signal!.toUpperCase() : `SIG${signal!.toUpperCase()}`;
  if (!(name in constants.signals)) fail(`${signal}: not a signal`);
  return name as NodeJS.Signals;
}

/** A Go duration as HEALTHCHECK takes it: `10s`, `1m30s`, `500ms`. */
function durationMs(value: string, fail: Fail): number {
  const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== value) fail(`${value} is not a duration`);
  return parts.reduce((total, [, amount, unit]) => total + Number(amount) * units[unit!]!, 0);
}

/** Docker's rule: a JSON array of strings is the exec form, anything else is run by `/bin/sh -c`. */
export function commandOf(text: string): Command {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (Array.isArray(parsed) && parsed.every((item) => typeof item === 'string')) return { form: 'exec', argv: parsed };
    } catch {
      // not JSON: the shell form, as Docker falls back to it
    }
  }
  return { form: 'shell', script: trimmed };
}

function soleArgument(instruction: Instruction, fail: Fail): Word {
  const args = instruction.getArguments();
  if (args.length !== 1) fail('takes exactly one argument here');
  return argumentWord(instruction, args[0]!, fail);
}

function argumentWord(instruction: Instruction, argument: Argument, fail: Fail): Word {
  const value = argument.getValue();
  if (/["']/.test(value)) fail(`${value}: quoted arguments are not supported by the replay`);
  return wordOf(instruction, value, argument.getRange(), fail);
}

function propertyWord(instruction: Instruction, value: string, raw: string, range: ReturnType<Argument['getRange']> | null, fail: Fail): Word {
  if (range === null) return [value];
  const word = wordOf(instruction, value, range, fail);
  // Docker expands nothing inside single quotes; dockerfile-ast reports the reference anyway.
  if (raw.includes("'") && word.some((part) => typeof part !== 'string')) fail(`${raw}: a reference inside single quotes is not supported by the replay`);
  return word;
}

type Range = ReturnType<Argument['getRange']>;

const before = (a: Range['start'], b: Range['start']) => a.line < b.line || (a.line === b.line && a.character <= b.character);
const within = (inner: Range, outer: Range) => before(outer.start, inner.start) && before(inner.end, outer.end);

/** Splits `value` at the references dockerfile-ast found inside `range` (escaped `\$` is not one). */
function wordOf(instruction: Instruction, value: string, range: Range, fail: Fail): Word {
  const parts: (string | Reference)[] = [];
  let rest = value;
  for (const variable of instruction.getVariables().filter((candidate) => within(candidate.getRange(), range))) {
    const text = variable.toString();
    const at = rest.indexOf(text);
    if (at < 0) fail(`${value}: cannot place ${text}`);
    if (at > 0) parts.push(rest.slice(0, at));
    parts.push(referenceOf(variable, fail));
    rest = rest.slice(at + text.length);
  }
  if (rest !== '' || parts.length === 0) parts.push(rest);
  return parts;
}

function referenceOf(variable: Variable, fail: Fail): Reference {
  const name = variable.getName();
  const text = variable.toString();
  const modifier = variable.getModifier();
  // dockerfile-ast takes `${A-b}` (a form it does not know) for a variable named `A-b`.
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(`${text}: this form of substitution is not supported by the replay`);
  if (modifier === null) {
    if (text !== `$${name}` && text !== `\${${name}}`) fail(`${text}: this form of substitution is not supported by the replay`);
    return { name };
  }
  const word = variable.getSubstitutionParameter() ?? '';
  if (word.includes('$')) fail(`${text}: nested substitution is not supported by the replay`);
  if (modifier === '-') return { name, modifier: ':-', word };
  if (modifier === '+') return { name, modifier: ':+', word };
  return fail(`${text}: the :${modifier} substitution is not supported by the replay`);
}

/** A word with its references replaced by their values in `scope`; an unset reference is empty, as in Docker. */
export function expand(word: Word, scope: Readonly<Record<string, string | undefined>>): string {
  return word
    .map((part) => {
      if (typeof part === 'string') return part;
      const value = scope[part.name];
      if (part.modifier === ':-') return value === undefined || value === '' ? part.word! : value;
      if (part.modifier === ':+') return value === undefined || value === '' ? '' : part.word!;
      return value ?? '';
    })
    .join('');
}

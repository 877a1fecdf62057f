import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../src/stack';

/**
 * The docs name files and folders of the repository (`service-kit/src/events/outbox-relay.ts`,
 * `nginx/board/`, [chaos/README.md](chaos/README.md)) and the functions in them
 * (`OutboxRelay.nudge()`); a file that moved or a function that was renamed leaves them pointing
 * nowhere. Every such name must exist.
 */

/** The documents whose references are checked. */
function documents(): string[] {
  const docsDir = path.join(ROOT, 'docs');
  const docs = readdirSync(docsDir).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`);
  const readmes = readdirSync(ROOT, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== 'node_modules' && existsSync(path.join(ROOT, entry.name, 'README.md')))
    .map((entry) => `${entry.name}/README.md`);
  return ['README.md', ...docs, ...readmes];
}

/** Folders with their own package.json: a path such as `src/main.ts` describes each of them. */
const workspaces = (root: string): string[] =>
  readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== 'node_modules' && existsSync(path.join(root, entry.name, 'package.json')))
    .map((entry) => entry.name);

interface Reference {
  /** As written, after trimming the punctuation around it. */
  text: string;
  line: number;
}

/** Characters that make a word a pattern, a placeholder, a URL or a host:port rather than a path. */
const NOT_A_PATH = /[<>{}$*|=@:?%]|^[/~-]|^\.\.?$/;
const FILE_NAME = /\.[A-Za-z0-9]+$/;

/** Files that exist only once something runs, named by what writes them. */
const RUNTIME_FILES = new Map([['upstream/gateway.conf', 'nginx/bin/board-nginx-upstream, into the configuration folder of the running nginx']]);

/** Folders .gitignore keeps out of the repository (outputs such as .run/ and dist/): never a reference to check. */
const ignoredFolders = (root: string): Set<string> =>
  new Set(
    readFileSync(path.join(root, '.gitignore'), 'utf8')
      .split('\n')
      .filter((line) => /^[\w.-]+\/$/.test(line.trim()))
      .map((line) => line.trim().slice(0, -1)),
  );

/** The folders a line names in backticks (`api-gateway/src/auth/`). */
const foldersOn = (line: string): string[] => [...line.matchAll(/`([\w./-]+\/)`/g)].map((match) => match[1]!);

function normalise(word: string): string {
  return word
    .replace(/^[(["'`]+/, '')
    .replace(/[)\]"'`,;:!?]+$/, '')
    .replace(/\/\.\.\.$/, '/')
    .replace(/\.$/, '')
    .replace(/^\.\//, '');
}

/**
 * The repository paths a Markdown document names: link targets, and words that start with a
 * folder or file of the repository (or of the document's own folder). Inside backticks, a word
 * of two or more segments ending in a file name (`events/handlers.ts`) is a path too, and must
 * be one from the repository root, from the document's folder, or from a workspace (the layout
 * every service shares: `src/main.ts`).
 */
function referencesIn(markdown: string, isTopLevel: (name: string) => boolean, isInDocFolder: (name: string) => boolean) {
  const links: Reference[] = [];
  const paths: Reference[] = [];
  const templatePaths: Reference[] = [];
  const bareNames: (Reference & { folders: string[] })[] = [];
  markdown.split('\n').forEach((rawLine, index) => {
    const line = index + 1;
    const withoutLinks = rawLine.replace(/\]\(([^)\s]+)\)/g, (_match, target: string) => {
      if (!/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#')) links.push({ text: target.replace(/#.*$/, ''), line });
      return '] ';
    });
    // Odd pieces are inside backticks.
    withoutLinks.split('`').forEach((piece, pieceIndex) => {
      const quoted = pieceIndex % 2 === 1;
      for (const rawWord of piece.split(/\s+/)) {
        const word = normalise(rawWord.replace(/^\[|\]$/g, ''));
        if (word === '' || NOT_A_PATH.test(word) || word.includes('://')) continue;
        const segments = word.replace(/\/$/, '').split('/');
        const first = segments[0]!;
        const looksLikeFolderOrPath = segments.length > 1 || word.endsWith('/');
        if (isTopLevel(first) && (looksLikeFolderOrPath || FILE_NAME.test(word))) {
          if (looksLikeFolderOrPath || quoted) paths.push({ text: word, line });
        } else if (quoted && isInDocFolder(first) && looksLikeFolderOrPath) {
          paths.push({ text: word, line });
        } else if (quoted && segments.length > 1 && (FILE_NAME.test(word) || word.endsWith('/'))) {
          templatePaths.push({ text: word, line });
        } else if (quoted && word.endsWith('.ts')) {
          bareNames.push({ text: word, line, folders: foldersOn(withoutLinks) });
        }
      }
    });
  });
  return { links, paths, templatePaths, bareNames };
}

/** What document `doc` (its text: `markdown`) names that is not in the repository, as `doc:line: reference`. */
function missingReferences(root: string, doc: string, markdown = readFileSync(path.join(root, doc), 'utf8')): string[] {
  const docDir = path.dirname(path.join(root, doc));
  const exists = (base: string, reference: string) => existsSync(path.join(base, reference));
  const topLevel = new Set(readdirSync(root).filter((name) => name !== 'node_modules'));
  const { links, paths, templatePaths, bareNames } = referencesIn(
    markdown,
    (name) => topLevel.has(name),
    (name) => docDir !== root && exists(docDir, name),
  );
  const spaces = workspaces(root);
  const ignored = ignoredFolders(root);
  const checked = (reference: Reference) => !ignored.has(reference.text.split('/')[0]!) && !RUNTIME_FILES.has(reference.text);
  const inRepository = (text: string) => exists(root, text) || exists(docDir, text);
  return [
    ...links.filter(({ text }) => !exists(docDir, text)),
    ...paths.filter(({ text }) => !inRepository(text)),
    ...templatePaths.filter(({ text }) => !inRepository(text) && !spaces.some((workspace) => exists(path.join(root, workspace), text))),
    // A bare `handlers.ts` must be in a folder its line names, or be a file every service has
    // (`main.ts`); a bare `identity.ts` says nothing about where it is.
    ...bareNames.filter(
      ({ text, folders }) =>
        !inRepository(text) &&
        !folders.some((folder) => exists(root, path.join(folder, text))) &&
        !spaces.some((workspace) => exists(path.join(root, workspace, 'src'), text)),
    ),
  ]
    .filter(checked)
    .sort((a, b) => a.line - b.line)
    .map((reference) => `${doc}:${reference.line}: ${reference.text}`);
}

const CALL = /^[A-Za-z_$][\w$]*(?:\.[\w$]+)*\(\)$/;

/**
 * Where a document names a function or method (`OutboxRelay.nudge()`) together with the files it
 * lives in, in one paragraph or list item: the names that none of those files holds, as
 * `doc:line: name`. A paragraph that names no file is not checked.
 */
function missingNames(root: string, doc: string, markdown = readFileSync(path.join(root, doc), 'utf8')): string[] {
  const missing: string[] = [];
  let block: { line: number; text: string }[] = [];
  const check = () => {
    const spans = block.flatMap(({ line, text }) => [...text.matchAll(/`([^`]+)`/g)].map((match) => ({ line, span: match[1]! })));
    const files = spans
      .map(({ span }) => span)
      .filter((span) => /\.[a-z]+$/.test(span) && span.includes('/') && existsSync(path.join(root, span)) && statSync(path.join(root, span)).isFile());
    if (files.length > 0) {
      const source = files.map((file) => readFileSync(path.join(root, file), 'utf8')).join('\n');
      for (const { line, span } of spans) {
        if (!CALL.test(span)) continue;
        const names = span.slice(0, -2).split('.');
        if (!names.every((name) => new RegExp(`\\b${name.replace(/\$/g, '\\$')}\\b`).test(source))) missing.push(`${doc}:${line}: ${span}`);
      }
    }
    block = [];
  };
  markdown.split('\n').forEach((text, index) => {
    if (text.trim() === '' || /^\s*(?:\d+\.|[-*]) /.test(text) || /^#/.test(text)) check();
    if (text.trim() !== '') block.push({ line: index + 1, text });
  });
  check();
  return missing;
}

describe('file references in the docs', () => {
  const docs = documents();

  it('covers the README, docs/ and every folder README', () => {
    expect(docs).toEqual(expect.arrayContaining(['README.md', 'docs/architecture.md', 'chaos/README.md', 'nginx/README.md', 'api-gateway/README.md']));
  });

  it.each(docs)('every repository path %s names exists', (doc) => {
    expect(missingReferences(ROOT, doc)).toEqual([]);
  });

  it.each(docs)('every function %s names next to its file is in that file', (doc) => {
    expect(missingNames(ROOT, doc)).toEqual([]);
  });

  it('finds the paths a document names and tells those that exist from those that do not', () => {
    const markdown = [
      'The relay is `service-kit/src/events/outbox-relay.ts` (`OutboxRelay.nudge()`), see [chaos](chaos/README.md#flags).',
      'Gone: `service-kit/src/db.ts`, service-kit/src/http.ts and [old](docs/old.md); the kit `events/catalog.ts`.',
      'Not paths: `/api/messages`, `amqp://guest@127.0.0.1:5672`, `<queue>.dlq`, `x-user-*`, https://example.com/a/b.ts.',
      'Every service: `src/main.ts`, `routes/`; the edge: `nginx/board/...`; kit `identity.ts`.',
    ].join('\n');
    const topLevel = (name: string) => existsSync(path.join(ROOT, name));
    const { links, paths, templatePaths, bareNames } = referencesIn(markdown, topLevel, () => false);
    expect(links.map(({ text }) => text)).toEqual(['chaos/README.md', 'docs/old.md']);
    expect(paths.map(({ text }) => text)).toEqual(['service-kit/src/events/outbox-relay.ts', 'service-kit/src/db.ts', 'service-kit/src/http.ts', 'nginx/board/']);
    expect(bareNames.map(({ text }) => text)).toEqual(['identity.ts']);
    expect(templatePaths.map(({ text }) => text)).toEqual(['events/catalog.ts', 'src/main.ts']);
    expect(missingReferences(ROOT, 'made-up.md', markdown)).toEqual([
      'made-up.md:2: docs/old.md',
      'made-up.md:2: service-kit/src/db.ts',
      'made-up.md:2: service-kit/src/http.ts',
      'made-up.md:2: events/catalog.ts',
      'made-up.md:4: identity.ts',
    ]);
  });

  it('tells a function that is in the file named beside it from one that is not', () => {
    const markdown = [
      '1. **Relay.** `OutboxRelay.nudge()` (`service-kit/src/events/outbox-relay.ts`) ends the sleep;',
      '   `OutboxRelay.wakeUp()` and `publishLater()` do not exist.',
      '2. `createHttpApp()` is named with no file here, so it is not checked.',
    ].join('\n');
    expect(missingNames(ROOT, 'made-up.md', markdown)).toEqual(['made-up.md:2: OutboxRelay.wakeUp()', 'made-up.md:2: publishLater()']);
  });
});

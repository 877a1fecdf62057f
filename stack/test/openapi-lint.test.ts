import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from '../src/stack';

const DOCUMENT = path.join(ROOT, 'docs', 'openapi.yaml');
const RULESET = path.join(ROOT, '.spectral.yaml');

interface Finding {
  code: string;
  message: string;
  path: string[];
  severity: number;
}

/** Spectral's findings on `document` at every severity (hints included), as `npm run lint:openapi` runs it. */
function lint(document: string): Finding[] {
  const result = spawnSync(
    path.join(ROOT, 'node_modules', '.bin', 'spectral'),
    ['lint', document, '--ruleset', RULESET, '--format', 'json', '--quiet', '--fail-severity', 'hint'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (result.error) throw result.error;
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout) as Finding[];
}

/** `text` with `part` replaced, which it must contain. */
function cut(text: string, part: string, replacement = ''): string {
  expect(text).toContain(part);
  return text.replace(part, replacement);
}

const described = (findings: Finding[]) => findings.map(({ code, path: where, message }) => `${code} at ${where.join('.')}: ${message}`);

describe('docs/openapi.yaml under Spectral (spectral:oas and the OWASP API security ruleset)', () => {
  it('has no finding at any severity', () => {
    expect(described(lint(DOCUMENT))).toEqual([]);
  }, 60_000);

  it('is refused when an operation loses its operationId and a string its maxLength', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'openapi-lint-'));
    try {
      const passcode = '    Passcode:\n      type: string\n      minLength: 1\n      maxLength: 256\n';
      const broken = cut(cut(readFileSync(DOCUMENT, 'utf8'), '      operationId: postMessage\n'), passcode, '    Passcode:\n      type: string\n');
      const copy = path.join(dir, 'openapi.yaml');
      writeFileSync(copy, broken);
      const codes = lint(copy).map(({ code, path: where }) => `${code} at ${where.join('.')}`);
      expect(codes).toEqual(
        expect.arrayContaining([
          'operation-operationId at paths./api/messages.post',
          'owasp:api4:2023-string-limit at components.schemas.Passcode',
        ]),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

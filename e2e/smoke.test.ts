import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { environment } from './support/client';

const SMOKE = path.resolve(__dirname, '..', 'stack', 'dist', 'smoke.js');
const run = (...args: string[]) =>
  promisify(execFile)(process.execPath, [SMOKE, ...args], { encoding: 'utf8' }).then(
    ({ stdout }) => ({ code: 0, stdout, stderr: '' }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );

/** The smoke journey CI runs against the compose stacks (`npm run smoke`), here against the e2e stack. */
describe('npm run smoke', () => {
  const certificate = path.join(environment.runDir, 'certs', 'tls.crt');

  it('walks register, log in, stream, post and receive through nginx, trusting the stack\'s certificate', async () => {
    const result = await run(environment.baseUrl, '--ca', certificate);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/register .* ok\n- log in \.\.\. ok\n- open the event stream .* ok\n- post a message \.\.\. ok\n- receive message \S+ on the stream \.\.\. ok\nThe journey worked\.\n$/);
  });

  it('fails, naming the step, when it cannot trust the certificate', async () => {
    const result = await run(environment.baseUrl);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^register \S+: fetch failed/);
  });
});

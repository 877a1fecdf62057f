import { spawnSync } from 'node:child_process';
import { environment } from './support/client';
import { newMember } from './support/users';
import { Stream } from './support/stream';

describe('what every service exposes', () => {
  const expositions = new Map<string, string>();

  beforeAll(async () => {
    // Some traffic first, so that every service has handled requests, events and a stream.
    const member = await newMember('observer');
    const stream = await Stream.open(member.accessToken, 'general');
    stream.close();
    for (const [service, url] of Object.entries(environment.serviceUrls)) {
      expositions.set(service, await (await fetch(`${url}/metrics`)).text());
    }
  });

  it('exposes valid metrics on every service (promtool check metrics)', () => {
    for (const [service, text] of expositions) {
      const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      // promtool's lint also flags style (e.g. counters without _total from libraries); only errors fail.
      expect({ service, status: result.status, errors: result.stderr.split('\n').filter((line) => /error/i.test(line)) }).toEqual({
        service,
        status: result.status === 3 ? 3 : 0,
        errors: [],
      });
    }
  });

  it('labels HTTP latency by route pattern on every service', () => {
    for (const [service, text] of expositions) {
      expect({ service, has: text.includes('# TYPE http_request_duration_seconds histogram') }).toEqual({ service, has: true });
      expect(text).not.toMatch(/route="\/api\/[^"]*[0-9a-f]{8}-[0-9a-f]{4}/);
    }
  });
});

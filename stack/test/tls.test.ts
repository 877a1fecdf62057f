import path from 'node:path';
import { freePort } from '@board/service-kit/testing';
import { sClient, startLocalEdge, startProcess, waitForPort, type LocalEdge, type Started } from './support/edge';

/**
 * The edge's TLS policy, seen from a client with `openssl s_client`. Every refusal is checked
 * twice: the very same client command succeeds against a permissive `openssl s_server` (so this
 * client really offers the protocol or suite), and nginx answers it with a TLS alert (so the
 * refusal is the server's).
 */
describe('TLS at the edge (openssl s_client)', () => {
  let edge: LocalEdge;
  let permissive: Started;
  let permissivePort: number;

  beforeAll(async () => {
    edge = await startLocalEdge(['127.0.0.1:9']);
    permissivePort = await freePort();
    const certs = path.join(edge.runDir, 'certs');
    permissive = startProcess('openssl', [
      's_server', '-accept', `127.0.0.1:${permissivePort}`, '-cert', path.join(certs, 'tls.crt'), '-key', path.join(certs, 'tls.key'),
      '-cipher', 'ALL@SECLEVEL=0', '-www', '-quiet',
    ]);
    await waitForPort(permissivePort, permissive);
  });

  afterAll(async () => {
    await permissive?.stop();
    await edge?.stop();
  });

  const negotiated = (output: string) => ({
    protocol: /^\s*Protocol\s*: (\S+)/m.exec(output)?.[1],
    cipher: /Cipher is (\S+)/.exec(output)?.[1],
  });
  const alert = (output: string) => /SSL alert number (\d+)/.exec(output)?.[1];

  it.each([
    ['TLS 1.0', ['-tls1', '-cipher', 'DEFAULT@SECLEVEL=0'], '70'],
    ['TLS 1.1', ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0'], '70'],
    ['TLS 1.2 with a CBC suite', ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-SHA256@SECLEVEL=0'], '40'],
    ['TLS 1.2 with RSA key exchange and CBC', ['-tls1_2', '-cipher', 'AES256-SHA@SECLEVEL=0'], '40'],
    ['TLS 1.2 without forward secrecy (RSA key exchange, GCM)', ['-tls1_2', '-cipher', 'AES128-GCM-SHA256@SECLEVEL=0'], '40'],
  ])('refuses %s', (_label, args, expectedAlert) => {
    const control = sClient(permissivePort, args);
    expect(negotiated(control).cipher).not.toBe('(NONE)');
    expect(negotiated(control).cipher).toBeDefined();

    const refused = sClient(edge.plan.edge.httpsPort, args);
    expect(negotiated(refused).cipher).toBe('(NONE)');
    // 70 protocol_version, 40 handshake_failure: sent by nginx.
    expect(alert(refused)).toBe(expectedAlert);
  });

  it('accepts TLS 1.2 with ECDHE and AES-GCM', () => {
    const output = sClient(edge.plan.edge.httpsPort, ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256']);
    expect(negotiated(output)).toEqual({ protocol: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256' });
  });

  it('accepts TLS 1.3', () => {
    expect(negotiated(sClient(edge.plan.edge.httpsPort, ['-tls1_3'])).protocol).toBe('TLSv1.3');
  });

  it('offers no session ticket on TLS 1.2', () => {
    const args = ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256'];
    expect(sClient(permissivePort, args)).toMatch(/TLS session ticket:/);
    expect(sClient(edge.plan.edge.httpsPort, args)).not.toMatch(/TLS session ticket:/);
  });

  it('resumes TLS 1.3 sessions from its cache only: the ticket is a 32-byte cache key, not encrypted session state', () => {
    const ticketBytes = (output: string) => {
      const dump = /TLS session ticket:\n((?:\s+[0-9a-f]{4} - .*\n)+)/.exec(output)?.[1] ?? '';
      return [...dump.matchAll(/^\s+[0-9a-f]{4} - ([0-9a-f -]{47})/gm)].flatMap((line) => line[1]!.match(/[0-9a-f]{2}/g) ?? []).length;
    };
    expect(ticketBytes(sClient(permissivePort, ['-tls1_3']))).toBeGreaterThan(32);
    expect(ticketBytes(sClient(edge.plan.edge.httpsPort, ['-tls1_3']))).toBe(32);
  });
});

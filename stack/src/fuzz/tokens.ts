import { createHmac, createPublicKey, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';

export interface Jwk {
  kid: string;
  kty: string;
  n: string;
  e: string;
}

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

export function decodeJwt(token: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [header = '', claims = ''] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Record<string, unknown>,
    claims: JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')) as Record<string, unknown>,
  };
}

let ownKey: KeyObject | undefined;
/** An RSA key the stack has never seen. */
const strangerKey = () => (ownKey ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);

const rs256 = (header: Record<string, unknown>, claims: Record<string, unknown>, key: KeyObject) => {
  const input = `${b64({ ...header, alg: 'RS256' })}.${b64(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
};

/**
 * Access tokens nobody issued, made from a real one (`template`): every one must be refused with
 * 401. Their claims escalate (admin role, someone else's id) so that a verifier that accepted one
 * would be caught by the database check too.
 */
export function forgedTokens(template: string, jwks: Jwk[], victimId: string): { label: string; token: string }[] {
  const { header, claims } = decodeJwt(template);
  const kid = String(header.kid ?? jwks[0]?.kid);
  const escalated = { ...claims, role: 'admin' };
  const impersonating = { ...claims, sub: victimId, role: 'admin' };
  const publicPem = jwks[0] ? createPublicKey({ key: { ...jwks[0] }, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString() : 'none';
  const [realHead = '', realClaims = '', realSignature = ''] = template.split('.');
  const now = Math.floor(Date.now() / 1000);
  const hs256 = (() => {
    const input = `${b64({ alg: 'HS256', typ: 'JWT', kid })}.${b64(escalated)}`;
    return `${input}.${createHmac('sha256', publicPem).update(input).digest('base64url')}`;
  })();
  return [
    { label: 'alg none', token: `${b64({ alg: 'none', typ: 'JWT', kid })}.${b64(escalated)}.` },
    { label: 'alg None, signature kept', token: `${b64({ alg: 'None', typ: 'JWT', kid })}.${b64(escalated)}.${realSignature}` },
    { label: 'HS256 keyed with the public key', token: hs256 },
    { label: 'wrong key, real kid', token: rs256({ typ: 'JWT', kid }, escalated, strangerKey()) },
    { label: 'unknown kid', token: rs256({ typ: 'JWT', kid: randomUUID() }, escalated, strangerKey()) },
    { label: 'kid path traversal', token: rs256({ typ: 'JWT', kid: '../../../../dev/null' }, escalated, strangerKey()) },
    { label: 'embedded jwk', token: rs256({ typ: 'JWT', kid, jwk: jwks[0] }, escalated, strangerKey()) },
    { label: 'expired, wrong key', token: rs256({ typ: 'JWT', kid }, { ...claims, iat: now - 7200, exp: now - 3600 }, strangerKey()) },
    { label: 'real signature, role changed', token: `${realHead}.${b64(escalated)}.${realSignature}` },
    { label: 'real signature, subject changed', token: `${realHead}.${b64(impersonating)}.${realSignature}` },
    { label: 'real token, signature cut', token: `${realHead}.${realClaims}.${realSignature.slice(0, -4)}` },
    { label: 'real token, no signature', token: `${realHead}.${realClaims}.` },
    { label: 'two dots only', token: '..' },
    { label: 'not a JWT', token: 'not-a-jwt' },
    { label: 'header not JSON', token: `${b64('{"alg":')}.${realClaims}.${realSignature}` },
    { label: 'claims not an object', token: `${realHead}.${b64('[1,2,3]')}.${realSignature}` },
    { label: 'oversized', token: `${realHead}.${'A'.repeat(12_000)}.${realSignature}` },
  ];
}

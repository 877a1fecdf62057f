import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Role } from '@board/service-kit/contracts';
import { SIGNING_ALGORITHM, type SigningKeys } from './signing-keys';

export interface AccessTokenSettings {
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

export interface IssuedAccessToken {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

/** Signs access tokens with the active key; `kid` in the header tells verifiers which JWKS key to use. */
export class AccessTokenIssuer {
  constructor(
    private readonly keys: SigningKeys,
    private readonly settings: AccessTokenSettings,
  ) {}

  issue(claims: { userId: string; role: Role; sessionId: string }): IssuedAccessToken {
    const { kid, privateKey } = this.keys.current();
    const accessToken = jwt.sign({ role: claims.role, sid: claims.sessionId }, privateKey, {
      algorithm: SIGNING_ALGORITHM,
      keyid: kid,
      issuer: this.settings.issuer,
      audience: this.settings.audience,
      subject: claims.userId,
      jwtid: randomUUID(),
      expiresIn: this.settings.ttlSeconds,
    });
    return { accessToken, tokenType: 'Bearer', expiresIn: this.settings.ttlSeconds };
  }
}

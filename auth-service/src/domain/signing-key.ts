/** The signing keys as auth-service keeps them; the private half stays encrypted until it is used. */
export interface PublicJwk {
  kty: string;
  kid: string;
  alg: string;
  use: string;
  n?: string;
  e?: string;
}

export interface StoredSigningKey {
  kid: string;
  privateKeyEncrypted: string;
  activatesAt: Date;
  /** True once activatesAt has passed: the key may sign. */
  activated: boolean;
  /** True when the key has signed long enough to be replaced. */
  due: boolean;
}

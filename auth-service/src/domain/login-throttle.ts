import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { FailureLimit } from '@board/service-kit';
import { sameSecret } from './tokens';

/** The failure counters a login attempt answers to. */
export interface LoginFailureLimits {
  /** Failures per account and address: one address guessing at one account. */
  perAddress: FailureLimit;
  /** Failures per account from devices it does not recognise, whatever their address. */
  perAccount: FailureLimit;
  /** Failures per recognised device: a stolen device token does not buy unbounded guesses. */
  perDevice: FailureLimit;
}

/** What the login handler knows about the caller besides the credentials. */
export interface LoginOrigin {
  address: string | undefined;
  /** The device token the browser sent back (see LoginThrottle), if any. */
  deviceToken: string | undefined;
}

type Counters = { kind: 'recognised'; device: string } | { kind: 'unrecognised'; account: string; accountAndAddress: string };

/**
 * Bounds password guessing without letting anyone lock a victim out by guessing wrong on purpose.
 *
 * A device that has logged in to an account gets a device token (an HMAC of the account's email
 * and a random id, kept in an HttpOnly cookie). An attempt from a recognised device is counted only
 * against that device, so strangers' failures never block the account's owner on a browser they
 * used before. Every other attempt is counted per account and address (an attacker locks out only
 * its own address) and per account across all addresses: that cap, well above what a person
 * mistypes, bounds a distributed brute force, and once it is spent only new devices wait.
 *
 * Checks happen before the password hash is compared, for known and unknown emails alike, so the
 * answers and their timing say nothing about which accounts exist.
 */
export class LoginThrottle {
  constructor(
    private readonly limits: LoginFailureLimits,
    private readonly deviceKey: Buffer,
  ) {}

  /** Throws 429 when the attempt's counters have no failures left. */
  async check(email: string, origin: LoginOrigin): Promise<void> {
    const counters = this.countersOf(email, origin);
    if (counters.kind === 'recognised') {
      await this.limits.perDevice.check(counters.device);
      return;
    }
    await this.limits.perAddress.check(counters.accountAndAddress);
    await this.limits.perAccount.check(counters.account);
  }

  async fail(email: string, origin: LoginOrigin): Promise<void> {
    const counters = this.countersOf(email, origin);
    if (counters.kind === 'recognised') {
      await this.limits.perDevice.fail(counters.device);
      return;
    }
    await Promise.all([this.limits.perAddress.fail(counters.accountAndAddress), this.limits.perAccount.fail(counters.account)]);
  }

  /** The device token to keep after a successful login: the presented one if it is this account's. */
  deviceTokenAfterLogin(email: string, presented: string | undefined): string {
    if (presented !== undefined && this.recognisedDevice(email, presented)) return presented;
    const deviceId = randomBytes(16).toString('base64url');
    return `${deviceId}.${this.mac(email, deviceId)}`;
  }

  private countersOf(email: string, { address, deviceToken }: LoginOrigin): Counters {
    const device = deviceToken === undefined ? undefined : this.recognisedDevice(email, deviceToken);
    if (device) return { kind: 'recognised', device };
    // Hashed, so Redis keys hold no email addresses.
    const account = createHash('sha256').update(email, 'utf8').digest('base64url');
    return { kind: 'unrecognised', account, accountAndAddress: `${account}:${address ?? 'unknown'}` };
  }

  /** The device id when `token` was issued by this service for `email`. */
  private recognisedDevice(email: string, token: string): string | undefined {
    const [deviceId, mac, ...rest] = token.split('.');
    if (!deviceId || !mac || rest.length > 0) return undefined;
    return sameSecret(mac, this.mac(email, deviceId)) ? deviceId : undefined;
  }

  private mac(email: string, deviceId: string): string {
    return createHmac('sha256', this.deviceKey).update(`${email}\0${deviceId}`, 'utf8').digest('base64url');
  }
}

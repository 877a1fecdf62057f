import request from 'supertest';
import { expectErrorResponse } from '@board/service-kit/testing';
import { createAuthWorld, newAccount, register, setCookies, type Account, type AuthWorld } from './support';

const PER_ADDRESS = 3;
const PER_ACCOUNT = 6;
const PER_DEVICE = 2;

let world: AuthWorld;
let url: string;
let addressNumber = 0;

beforeAll(async () => {
  world = await createAuthWorld('auth_login_throttle');
  url = (
    await world.start({
      LOGIN_FAILURES_PER_ADDRESS: String(PER_ADDRESS),
      LOGIN_FAILURES_PER_ACCOUNT: String(PER_ACCOUNT),
      LOGIN_FAILURES_PER_DEVICE: String(PER_DEVICE),
    })
  ).url;
});

afterAll(() => world.cleanUp());

/** A client address of its own (the gateway, the trusted hop, puts it in X-Forwarded-For). */
const newAddress = () => `203.0.113.${(addressNumber += 1)}`;

interface Attempt {
  address: string;
  password: string;
  deviceToken?: string;
}

const attempt = (email: string, { address, password, deviceToken }: Attempt) => {
  const req = request(url).post('/api/auth/login').set('X-Forwarded-For', address);
  if (deviceToken !== undefined) req.set('Cookie', `device_token=${deviceToken}`);
  return req.send({ email, password });
};

async function newRegistered(): Promise<Account> {
  const account = newAccount();
  await register(url, account);
  return account;
}

/** Logs in for real and returns the device token the browser would keep. */
async function deviceTokenOf(account: Account): Promise<string> {
  const res = await attempt(account.email, { address: newAddress(), password: account.password });
  expect(res.status).toBe(200);
  const cookie = setCookies(res).get('device_token');
  expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'strict', path: '/api/auth/login' });
  return cookie!.value ?? '';
}

async function statusesOf(email: string, attempts: Attempt[]): Promise<number[]> {
  const statuses: number[] = [];
  for (const one of attempts) statuses.push((await attempt(email, one)).status);
  return statuses;
}

const wrongFrom = (address: string, count: number, deviceToken?: string): Attempt[] =>
  Array.from({ length: count }, (_, index) => ({ address, password: `wrong-${index}`, deviceToken }));

describe('login throttle', () => {
  it('stops one address after its failures, with 429 and Retry-After, while the owner elsewhere logs in', async () => {
    const account = await newRegistered();
    const attacker = newAddress();
    expect(await statusesOf(account.email, wrongFrom(attacker, PER_ADDRESS + 1))).toEqual([
      ...Array<number>(PER_ADDRESS).fill(401),
      429,
    ]);
    const refused = await attempt(account.email, { address: attacker, password: account.password });
    expectErrorResponse(refused, 429, 'TOO_MANY_REQUESTS');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // The owner, from another address and on a browser that never logged in, is not affected.
    expect((await attempt(account.email, { address: newAddress(), password: account.password })).status).toBe(200);
  });

  it('counts the address with the account, so one address guessing at one account does not block its other accounts', async () => {
    const [target, own] = await Promise.all([newRegistered(), newRegistered()]);
    const shared = newAddress();
    await statusesOf(target.email, wrongFrom(shared, PER_ADDRESS));
    expect((await attempt(target.email, { address: shared, password: target.password })).status).toBe(429);
    expect((await attempt(own.email, { address: shared, password: own.password })).status).toBe(200);
  });

  it('bounds guesses spread over many addresses, whatever the case of the email', async () => {
    const account = await newRegistered();
    const spelled = (index: number) => (index % 2 === 0 ? account.email.toUpperCase() : ` ${account.email.toLowerCase()}`);
    const statuses: number[] = [];
    for (let index = 0; index < PER_ACCOUNT + 3; index += 1) {
      statuses.push((await attempt(spelled(index), { address: newAddress(), password: `guess-${index}` })).status);
    }
    expect(statuses).toEqual([...Array<number>(PER_ACCOUNT).fill(401), 429, 429, 429]);
    // Once the account's cap is spent, a browser it does not know waits, even with the password.
    expect((await attempt(account.email, { address: newAddress(), password: account.password })).status).toBe(429);
  });

  it('lets a device that logged in before through a distributed attack on its account', async () => {
    const account = await newRegistered();
    const deviceToken = await deviceTokenOf(account);
    for (let index = 0; index < PER_ACCOUNT; index += 1) {
      await attempt(account.email, { address: newAddress(), password: `guess-${index}` });
    }
    expect((await attempt(account.email, { address: newAddress(), password: account.password })).status).toBe(429);

    const again = await attempt(account.email, { address: newAddress(), password: account.password, deviceToken });
    expect(again.status).toBe(200);
    // The same token is kept (and its cookie renewed), so the browser stays recognised.
    expect(setCookies(again).get('device_token')?.value).toBe(deviceToken);
  });

  it('bounds guesses from a recognised device too, so a stolen device token buys few', async () => {
    const account = await newRegistered();
    const deviceToken = await deviceTokenOf(account);
    const statuses = await statusesOf(account.email, [
      ...wrongFrom(newAddress(), PER_DEVICE, deviceToken),
      { address: newAddress(), password: account.password, deviceToken },
    ]);
    expect(statuses).toEqual([...Array<number>(PER_DEVICE).fill(401), 429]);
    // Without the spent token the browser is a stranger again, counted per address.
    expect((await attempt(account.email, { address: newAddress(), password: account.password })).status).toBe(200);
  });

  it('recognises a device token only for the account it was issued for, and only untampered', async () => {
    const [owner, other] = await Promise.all([newRegistered(), newRegistered()]);
    const deviceToken = await deviceTokenOf(owner);
    for (let index = 0; index < PER_ACCOUNT; index += 1) {
      await attempt(other.email, { address: newAddress(), password: `guess-${index}` });
    }
    const [deviceId, mac] = deviceToken.split('.') as [string, string];
    const forged = [deviceToken, `${deviceId}.${mac.slice(0, -2)}AA`, `${deviceId}x.${mac}`, 'garbage', '.', `${deviceToken}.extra`];
    for (const token of forged) {
      expect((await attempt(other.email, { address: newAddress(), password: other.password, deviceToken: token })).status).toBe(429);
    }
  });

  it('answers unknown emails exactly as known ones, throttle included', async () => {
    const ghost = `nobody-${addressNumber}@example.com`;
    const address = newAddress();
    expect(await statusesOf(ghost, wrongFrom(address, PER_ADDRESS + 1))).toEqual([...Array<number>(PER_ADDRESS).fill(401), 429]);
  });
});

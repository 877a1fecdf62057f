import { randomUUID } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import request from 'supertest';
import { AVATAR_MAX_BYTES, ROLES } from '@board/service-kit/contracts';
import { expectErrorResponse, waitFor } from '@board/service-kit/testing';
import { startTestService, type TestContext, type TestUser } from './support';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await startTestService('user_avatars');
});

afterAll(async () => {
  await ctx.stop();
});

const AVATAR_PATH = '/api/users/me/avatar';
const put = (user: TestUser, type: string | undefined, body: Buffer | string) => {
  const req = request(ctx.service.url).put(AVATAR_PATH).set(ctx.as(user));
  if (type !== undefined) req.set('Content-Type', type);
  return req.send(body);
};
const getAvatar = (viewer: TestUser, id: string, query = '') => request(ctx.service.url).get(`/api/users/${id}/avatar${query}`).set(ctx.as(viewer));
/** The image bytes of a successful GET (supertest leaves unknown binary bodies unread otherwise). */
const imageOf = async (viewer: TestUser, id: string, query = '') => {
  const res = await getAvatar(viewer, id, query).buffer(true).parse((response, done) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => done(null, Buffer.concat(chunks)));
  });
  return { res, image: res.body as Buffer };
};

/** Everything an upload or removal could change: profiles, stored images and the outbox. */
async function snapshot() {
  const profiles = (await ctx.service.db.query('SELECT * FROM profiles ORDER BY id')).rows;
  const avatars = (await ctx.service.db.query("SELECT user_id, md5(image) AS digest FROM avatars ORDER BY user_id")).rows;
  const outbox = (await ctx.service.db.query('SELECT id FROM outbox ORDER BY seq')).rows;
  return { profiles, avatars, outbox };
}

async function expectNothingChanged(act: () => Promise<unknown>): Promise<void> {
  const before = await snapshot();
  await act();
  expect(await snapshot()).toEqual(before);
}

// Test images, made here rather than checked in, so what each one is stays visible.
const photo = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 90 } } });
let png: Buffer;
let jpegWithMetadata: Buffer;
let webp: Buffer;
let gif: Buffer;

beforeAll(async () => {
  png = await photo(640, 480).png().toBuffer();
  // EXIF with a camera and a place, and an ICC profile: none of it may survive.
  jpegWithMetadata = await photo(300, 500)
    .withExif({ IFD0: { Make: 'SecretCam', Copyright: 'Ada' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1' } })
    .withIccProfile('p3')
    .jpeg()
    .toBuffer();
  webp = await photo(256, 256).webp().toBuffer();
  gif = await photo(64, 64).gif().toBuffer();
});

/** A PNG of `width` x `height` grey pixels whose data is all zeros: a few kilobytes that decode to width*height bytes. */
function zeroPng(width: number, height: number, rows = height): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 0, 0, 0, 0], 8); // 8-bit greyscale, no interlace
  const scanlines = Buffer.alloc(rows * (width + 1)); // filter byte 0 + zeros, row after row
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(scanlines, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit += 1) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

const avatarVersionOf = async (id: string) =>
  (await ctx.service.db.query<{ avatar_version: string | null }>('SELECT avatar_version FROM profiles WHERE id = $1', [id])).rows[0]
    ?.avatar_version;

describe('PUT /api/users/me/avatar', () => {
  it.each(ROLES)('lets a %s upload a PNG, stored as a 256x256 WebP at a versioned URL, and announces it', async (role) => {
    const me = await ctx.seedUser(role);
    const res = await put(me, 'image/png', png);
    expect(res.status).toBe(200);
    const url = `/api/users/${me.id}/avatar?v=2`;
    expect(res.body.user).toMatchObject({ id: me.id, avatarUrl: url });
    const [event] = await waitFor(() => {
      const events = ctx.eventLog.about('user.updated', me.id);
      return events.length > 0 ? events : undefined;
    }, { what: `user.updated for ${me.id}` });
    expect(event).toMatchObject({ aggregateVersion: 2, data: { id: me.id, username: me.username, displayName: me.displayName, avatarUrl: url } });

    const { res: got, image } = await imageOf(me, me.id, '?v=2');
    expect(got.status).toBe(200);
    expect(got.headers['content-type']).toBe('image/webp');
    const stored = await sharp(image).metadata();
    expect({ format: stored.format, width: stored.width, height: stored.height }).toEqual({ format: 'webp', width: 256, height: 256 });
  });

  it('takes JPEG and WebP too, and strips every piece of metadata (EXIF, GPS, ICC)', async () => {
    const me = await ctx.seedUser('member');
    expect((await sharp(jpegWithMetadata).metadata()).exif).toBeDefined();
    expect((await put(me, 'image/jpeg', jpegWithMetadata)).status).toBe(200);
    const { image } = await imageOf(me, me.id);
    const stored = await sharp(image).metadata();
    expect(stored).toMatchObject({ format: 'webp', width: 256, height: 256 });
    expect({ exif: stored.exif, icc: stored.icc, xmp: stored.xmp }).toEqual({ exif: undefined, icc: undefined, xmp: undefined });
    expect(image.includes(Buffer.from('SecretCam'))).toBe(false);

    const res = await put(me, 'image/webp; charset=binary', webp);
    expect(res.status).toBe(200);
    expect(res.body.user.avatarUrl).toBe(`/api/users/${me.id}/avatar?v=3`);
  });

  it('accepts an upload of exactly 2 MiB', async () => {
    const me = await ctx.seedUser('user');
    // A PNG padded to the limit with a private ancillary chunk, which decoders skip.
    const padding = Buffer.alloc(AVATAR_MAX_BYTES - png.length - 12);
    const body = Buffer.concat([png.subarray(0, png.length - 12), pngChunk('prVt', padding), png.subarray(png.length - 12)]);
    expect(body.length).toBe(AVATAR_MAX_BYTES);
    expect((await put(me, 'image/png', body)).status).toBe(200);
  });

  const pngChunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'ascii'), data])));
    return Buffer.concat([length, Buffer.from(type, 'ascii'), data, crc]);
  };

  it.each([
    ['text/plain', () => Buffer.from('hello')],
    ['application/json', () => Buffer.from('{"avatar":"x"}')],
    ['image/gif', () => gif],
    ['image/svg+xml', () => Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')],
    ['application/octet-stream', () => png],
    [undefined, () => png],
  ] as [string | undefined, () => Buffer][])('is 415 for Content-Type %s, and nothing changes', async (type, body) => {
    const me = await ctx.seedUser('member');
    await expectNothingChanged(async () => expectErrorResponse(await put(me, type, body()), 415, 'UNSUPPORTED_MEDIA_TYPE'));
  });

  it.each([
    ['text declared as PNG', 'image/png', () => Buffer.from('definitely not an image')],
    ['a JPEG declared as PNG', 'image/png', () => jpegWithMetadata],
    ['a PNG declared as WebP', 'image/webp', () => png],
    ['a GIF declared as JPEG', 'image/jpeg', () => gif],
    ['an SVG declared as PNG', 'image/png', () => Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')],
    ['a truncated PNG', 'image/png', () => png.subarray(0, Math.floor(png.length / 2))],
    ['a PNG whose pixel data stops short', 'image/png', () => zeroPng(300, 300, 10)],
    ['an empty body', 'image/png', () => Buffer.alloc(0)],
  ] as [string, string, () => Buffer][])('is 400 INVALID_IMAGE for %s, and nothing changes', async (_what, type, body) => {
    const me = await ctx.seedUser('member');
    await expectNothingChanged(async () => expectErrorResponse(await put(me, type, body()), 400, 'INVALID_IMAGE'));
  });

  it('is 400 IMAGE_TOO_LARGE for a decompression bomb (36 megapixels in a few kilobytes), and nothing changes', async () => {
    const me = await ctx.seedUser('member');
    const bomb = zeroPng(6_000, 6_000);
    expect(bomb.length).toBeLessThan(100_000);
    await expectNothingChanged(async () => expectErrorResponse(await put(me, 'image/png', bomb), 400, 'IMAGE_TOO_LARGE'));
  });

  it('is 400 IMAGE_TOO_LARGE for a header that claims a gigapixel image', async () => {
    const me = await ctx.seedUser('member');
    await expectNothingChanged(async () => expectErrorResponse(await put(me, 'image/png', zeroPng(40_000, 40_000, 1)), 400, 'IMAGE_TOO_LARGE'));
  });

  it('is 413 for a body over 2 MiB, and nothing changes', async () => {
    const me = await ctx.seedUser('member');
    const body = Buffer.concat([png, Buffer.alloc(AVATAR_MAX_BYTES + 1 - png.length)]);
    await expectNothingChanged(async () => expectErrorResponse(await put(me, 'image/png', body), 413, 'PAYLOAD_TOO_LARGE'));
  });

  it('is 404 for a caller without a profile', async () => {
    await expectNothingChanged(async () =>
      expectErrorResponse(await put({ id: randomUUID(), role: 'member' } as TestUser, 'image/png', png), 404, 'NOT_FOUND'),
    );
  });

  it('is 401 without the gateway\'s identity, before the body is read', async () => {
    await expectNothingChanged(async () =>
      expectErrorResponse(await request(ctx.service.url).put(AVATAR_PATH).set('Content-Type', 'image/png').send(png), 401, 'UNAUTHORIZED'),
    );
    await expectNothingChanged(async () =>
      expectErrorResponse(await request(ctx.service.url).put(AVATAR_PATH).set('Content-Type', 'text/plain').send('x'), 401, 'UNAUTHORIZED'),
    );
  });

  it('offers no way to set someone else\'s avatar', async () => {
    const me = await ctx.seedUser('admin');
    const other = await ctx.seedUser('member');
    await expectNothingChanged(async () => {
      const res = await request(ctx.service.url).put(`/api/users/${other.id}/avatar`).set(ctx.as(me)).set('Content-Type', 'image/png').send(png);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    });
  });
});

describe('GET /api/users/:id/avatar', () => {
  let owner: TestUser;
  let version: number;

  beforeAll(async () => {
    owner = await ctx.seedUser('member');
    const res = await put(owner, 'image/png', png);
    version = Number(new URL(res.body.user.avatarUrl as string, 'http://x').searchParams.get('v'));
  });

  it.each(ROLES)('serves a %s anyone\'s avatar, cached for good at its versioned URL', async (role) => {
    const viewer = await ctx.seedUser(role);
    const { res, image } = await imageOf(viewer, owner.id, `?v=${version}`);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('private, max-age=31536000, immutable');
    expect(res.headers.etag).toBe(`"avatar-v${version}"`);
    expect(image.subarray(8, 12).toString('ascii')).toBe('WEBP');
  });

  it('asks caches to revalidate when the URL has no version or an old one', async () => {
    for (const query of ['', `?v=${version - 1}`]) {
      const { res } = await imageOf(owner, owner.id, query);
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('private, no-cache');
    }
  });

  it('answers 304 without a body to a matching If-None-Match, and 200 once the avatar changed', async () => {
    const me = await ctx.seedUser('user');
    const first = await put(me, 'image/png', png);
    const etag = (await imageOf(me, me.id)).res.headers.etag as string;
    const notModified = await getAvatar(me, me.id, '?v=2').set('If-None-Match', etag);
    expect(notModified.status).toBe(304);
    expect(notModified.headers.etag).toBe(etag);
    expect(notModified.text ?? '').toBe('');
    expect((await getAvatar(me, me.id).set('If-None-Match', `W/${etag}, "other"`)).status).toBe(304);
    expect((await getAvatar(me, me.id).set('If-None-Match', '"avatar-v1"')).status).toBe(200);

    const second = await put(me, 'image/webp', webp);
    expect(second.body.user.avatarUrl).not.toBe(first.body.user.avatarUrl);
    const changed = await imageOf(me, me.id);
    expect(changed.res.status).toBe(200);
    expect(changed.res.headers.etag).not.toBe(etag);
    expect((await getAvatar(me, me.id).set('If-None-Match', etag)).status).toBe(200);
  });

  it('is 404 for a user without an avatar and for an unknown user', async () => {
    const viewer = await ctx.seedUser('member');
    const plain = await ctx.seedUser('member');
    expectErrorResponse(await getAvatar(viewer, plain.id), 404, 'NOT_FOUND');
    expectErrorResponse(await getAvatar(viewer, randomUUID()), 404, 'NOT_FOUND');
    expectErrorResponse(await getAvatar(viewer, plain.id).set('If-None-Match', '*'), 404, 'NOT_FOUND');
  });

  it.each([
    ['a user id that is not a uuid', 'not-a-uuid', ''],
    ['a version that is not a number', '', '?v=latest'],
    ['a version of zero', '', '?v=0'],
  ])('is 400 for %s', async (_what, id, query) => {
    const viewer = await ctx.seedUser('member');
    expectErrorResponse(await getAvatar(viewer, id || owner.id, query), 400, 'VALIDATION_FAILED');
  });

  it('is 401 without the gateway\'s identity', async () => {
    expectErrorResponse(await request(ctx.service.url).get(`/api/users/${owner.id}/avatar`), 401, 'UNAUTHORIZED');
  });
});

describe('DELETE /api/users/me/avatar', () => {
  it.each(ROLES)('lets a %s remove their avatar: 204, the URL goes, user.updated says null, the image 404s', async (role) => {
    const me = await ctx.seedUser(role);
    await put(me, 'image/png', png);
    const res = await request(ctx.service.url).delete(AVATAR_PATH).set(ctx.as(me));
    expect(res.status).toBe(204);
    expect(await avatarVersionOf(me.id)).toBeNull();
    expect((await ctx.service.db.query('SELECT 1 FROM avatars WHERE user_id = $1', [me.id])).rowCount).toBe(0);
    expect((await request(ctx.service.url).get('/api/users/me').set(ctx.as(me))).body.user.avatarUrl).toBeNull();
    const events = await waitFor(() => {
      const seen = ctx.eventLog.about('user.updated', me.id);
      return seen.length >= 2 ? seen : undefined;
    }, { what: `two user.updated for ${me.id}` });
    expect(events.map((event) => ('avatarUrl' in event.data ? event.data.avatarUrl : 'absent'))).toEqual([`/api/users/${me.id}/avatar?v=2`, null]);
    expectErrorResponse(await getAvatar(me, me.id, '?v=2'), 404, 'NOT_FOUND');
  });

  it('is 204 and changes nothing (no version, no event) when there is no avatar', async () => {
    const me = await ctx.seedUser('member');
    await expectNothingChanged(async () => expect((await request(ctx.service.url).delete(AVATAR_PATH).set(ctx.as(me))).status).toBe(204));
  });

  it.each(ROLES)('offers a %s no way to delete someone else\'s avatar', async (role) => {
    const owner = await ctx.seedUser('member');
    await put(owner, 'image/png', png);
    const caller = await ctx.seedUser(role);
    await expectNothingChanged(async () => {
      const res = await request(ctx.service.url).delete(`/api/users/${owner.id}/avatar`).set(ctx.as(caller));
      expectErrorResponse(res, 404, 'NOT_FOUND');
    });
    expect(await avatarVersionOf(owner.id)).toBe('2');
  });

  it('is 401 without the gateway\'s identity', async () => {
    await expectNothingChanged(async () => expectErrorResponse(await request(ctx.service.url).delete(AVATAR_PATH), 401, 'UNAUTHORIZED'));
  });
});

describe('avatars and the rest of the profile', () => {
  it('carries avatarUrl in user.updated after a rename, and deleting the user deletes the image', async () => {
    const me = await ctx.seedUser('member');
    await put(me, 'image/png', png);
    expect((await request(ctx.service.url).patch('/api/users/me').set(ctx.as(me)).send({ displayName: 'Renamed' })).status).toBe(200);
    const events = await waitFor(() => {
      const seen = ctx.eventLog.about('user.updated', me.id);
      return seen.length >= 2 ? seen : undefined;
    }, { what: `two user.updated for ${me.id}` });
    expect(events[1]!.data).toEqual({ id: me.id, username: me.username, displayName: 'Renamed', avatarUrl: `/api/users/${me.id}/avatar?v=2` });
    expect((await request(ctx.service.url).delete('/api/users/me').set(ctx.as(me))).status).toBe(204);
    expect((await ctx.service.db.query('SELECT 1 FROM avatars WHERE user_id = $1', [me.id])).rowCount).toBe(0);
  });
});

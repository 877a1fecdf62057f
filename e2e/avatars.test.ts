import { deflateSync } from 'node:zlib';
import { api, call } from './support/client';
import { eventually, newMember, newUser, type Session } from './support/users';

/** A real PNG of `size` x `size` RGB pixels, made here: a diagonal gradient, so it is not blank. */
function gradientPng(size: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (data: Buffer) => {
    let crc = 0xffffffff;
    for (const byte of data) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
    return (crc ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const typed = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const framed = Buffer.alloc(data.length + 12);
    framed.writeUInt32BE(data.length, 0);
    typed.copy(framed, 4);
    framed.writeUInt32BE(crc32(typed), data.length + 8);
    return framed;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.alloc(size * (size * 3 + 1));
  for (let y = 0; y < size; y += 1) {
    for (let x = 0; x < size; x += 1) rows.set([x % 256, y % 256, (x + y) % 256], y * (size * 3 + 1) + 1 + x * 3);
  }
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

const upload = (session: Session, body: Buffer, type = 'image/png') =>
  api('/api/users/me/avatar', { method: 'PUT', headers: { authorization: `Bearer ${session.accessToken}`, 'content-type': type }, body });

interface Page {
  messages: { id: string; author: { id: string; avatarUrl: string | null } | null }[];
}

describe('avatars, end to end', () => {
  const channel = `avatars-${Date.now().toString(36)}`;

  it('An avatar uploaded through nginx appears with the author in a member\'s view of their message, never in a user\'s', async () => {
    const [author, member, user] = await Promise.all([newMember('painter'), newMember('viewer'), newUser('plain')]);
    const posted = await call<{ message: { id: string } }>('POST', '/api/messages', { token: author.accessToken, body: { channel, body: 'look at my face' } });
    expect(posted.status).toBe(201);
    const messageId = posted.body.message.id;

    const uploaded = await upload(author, gradientPng(400));
    expect(uploaded.status).toBe(200);
    const avatarUrl = ((await uploaded.json()) as { user: { avatarUrl: string } }).user.avatarUrl;
    expect(avatarUrl).toMatch(new RegExp(`^/api/users/${author.id}/avatar\\?v=\\d+$`));

    // user.updated travels to message-service, which then shows the URL with the author.
    const seenByMember = await eventually(async () => {
      const page = await call<Page>('GET', `/api/messages?channel=${channel}`, { token: member.accessToken });
      const message = page.body.messages.find((candidate) => candidate.id === messageId);
      return message?.author?.avatarUrl === avatarUrl ? message : undefined;
    }, 'the avatar in the member\'s view');
    expect(seenByMember.author).toMatchObject({ id: author.id, avatarUrl });

    const userPage = await call<Page>('GET', `/api/messages?channel=${channel}`, { token: user.accessToken });
    expect(userPage.status).toBe(200);
    expect(userPage.body.messages.find((candidate) => candidate.id === messageId)?.author).toBeNull();
    expect(JSON.stringify(userPage.body)).not.toContain('/avatar');
    expect(JSON.stringify(userPage.body)).not.toContain(author.id);

    // The image itself: WebP, cached for good at its versioned URL, 304 when unchanged.
    const image = await api(avatarUrl, { headers: { authorization: `Bearer ${member.accessToken}` } });
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/webp');
    expect(image.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
    const bytes = Buffer.from(await image.arrayBuffer());
    expect(bytes.subarray(8, 12).toString('ascii')).toBe('WEBP');
    const etag = image.headers.get('etag')!;
    const again = await api(avatarUrl, { headers: { authorization: `Bearer ${member.accessToken}`, 'if-none-match': etag } });
    expect(again.status).toBe(304);
    await again.arrayBuffer();
  });

  it('refuses what is not an avatar through nginx, in the error shape', async () => {
    const session = await newUser('refused');
    const expectError = async (response: Awaited<ReturnType<typeof api>>, status: number, code: string) => {
      expect(response.status).toBe(status);
      const body = (await response.json()) as { error: { code: string; requestId: string } };
      expect(body.error).toMatchObject({ code, requestId: expect.any(String) });
    };
    await expectError(await upload(session, Buffer.from('not an image at all')), 400, 'INVALID_IMAGE');
    await expectError(await upload(session, gradientPng(16), 'image/gif'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await expectError(await upload(session, Buffer.alloc(2 * 1024 * 1024 + 1)), 413, 'PAYLOAD_TOO_LARGE');
    expect((await call<{ user: { avatarUrl: string | null } }>('GET', '/api/users/me', { token: session.accessToken })).body.user.avatarUrl).toBeNull();
  });

  it('records lastActiveAt for a user who makes requests, shown to them', async () => {
    const session = await newUser('active');
    const me = await eventually(async () => {
      const response = await call<{ user: { lastActiveAt: string | null } }>('GET', '/api/users/me', { token: session.accessToken });
      return response.body.user.lastActiveAt ? response.body.user : undefined;
    }, 'lastActiveAt', 20_000);
    expect(Date.now() - Date.parse(me.lastActiveAt!)).toBeLessThan(60_000);
  });
});

import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { ActivityMarks } from '@board/service-kit';
import { sleep, waitFor } from '@board/service-kit/testing';
import { startTestService, type TestContext, type TestUser } from './support';

let ctx: TestContext;
let marks: ActivityMarks;

beforeAll(async () => {
  ctx = await startTestService('user_activity');
  // The gateway's side of the queue, on the service's Redis prefix.
  marks = new ActivityMarks(ctx.service.redis, ctx.redisPrefix);
});

afterAll(async () => {
  await ctx.stop();
});

const lastActiveAt = async (id: string) =>
  (await ctx.service.db.query<{ last_active_at: Date | null }>('SELECT last_active_at FROM profiles WHERE id = $1', [id])).rows[0]?.last_active_at;

/** users_activity_writes_total as the service exports it. */
async function writesCounted(): Promise<number> {
  const text = (await request(ctx.service.url).get('/metrics')).text;
  const line = text.split('\n').find((candidate) => /^users_activity_writes_total[{ ]/.test(candidate));
  if (line === undefined) throw new Error('users_activity_writes_total is not exported');
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Row updates PostgreSQL itself counted on profiles. */
async function profileUpdates(): Promise<number> {
  const { rows } = await ctx.service.db.query<{ n: string }>("SELECT n_tup_upd AS n FROM pg_stat_user_tables WHERE relname = 'profiles'");
  return Number(rows[0]!.n);
}

/**
 * Waits for PostgreSQL's count of profile updates to reach `expected`, then checks it stays there:
 * each backend reports its counts up to a second late (PostgreSQL 15), so a read right away could
 * see too few, and one more second shows whether any write came on top.
 */
async function expectProfileUpdates(expected: number): Promise<void> {
  await waitFor(async () => ((await profileUpdates()) >= expected ? true : undefined), { what: `${expected} profile updates in pg_stat` });
  await sleep(1_500);
  expect(await profileUpdates()).toBe(expected);
}

describe('lastActiveAt from the gateway\'s marks', () => {
  it('Given many marks of one user within a minute, Then the queue holds one and the flush makes one PostgreSQL write', async () => {
    const me = await ctx.seedUser('member');
    const writesBefore = await writesCounted();
    await sleep(1_100); // every earlier update reported
    const updatesBefore = await profileUpdates();
    const at = new Date(Date.now() - 1_000);
    const queued = await Promise.all(Array.from({ length: 100 }, (_, index) => marks.mark(me.id, new Date(at.getTime() + index))));
    expect(queued.filter(Boolean)).toHaveLength(1);
    expect(await marks.pending()).toBe(1);

    expect(await ctx.service.activity.flush()).toBe(1);
    expect(await marks.pending()).toBe(0);
    expect(await writesCounted()).toBe(writesBefore + 1);
    expect((await lastActiveAt(me.id))?.getTime()).toBe(at.getTime());
    // Nothing queued: a second flush writes nothing at all.
    expect(await ctx.service.activity.flush()).toBe(0);
    await expectProfileUpdates(updatesBefore + 1);
  });

  it('writes a batch of many users in batches of ACTIVITY_BATCH_SIZE, one UPDATE each, every user once', async () => {
    const users = await Promise.all(Array.from({ length: 30 }, () => ctx.seedUser('user')));
    const at = new Date();
    for (const user of users) await marks.mark(user.id, at);
    const writesBefore = await writesCounted();
    expect(await ctx.service.activity.flush()).toBe(30);
    expect(await writesCounted()).toBe(writesBefore + 30);
    for (const user of users) expect((await lastActiveAt(user.id))?.getTime()).toBe(at.getTime());
  });

  it('never moves lastActiveAt back, drops marks of deleted users and of ids that are no uuid', async () => {
    const me = await ctx.seedUser('member');
    await ctx.service.db.query("UPDATE profiles SET last_active_at = now() + interval '1 hour' WHERE id = $1", [me.id]);
    const later = await lastActiveAt(me.id);
    await marks.mark(me.id);
    await marks.mark(randomUUID());
    await marks.mark('not-a-uuid');
    expect(await ctx.service.activity.flush()).toBe(0);
    expect(await lastActiveAt(me.id)).toEqual(later);
    expect(await marks.pending()).toBe(0);
  });

  it('leaves a profile another transaction holds for the next run instead of waiting for it', async () => {
    const busy = await ctx.seedUser('member');
    const free = await ctx.seedUser('member');
    await marks.mark(busy.id);
    await marks.mark(free.id);
    const holder = await ctx.service.db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM profiles WHERE id = $1 FOR UPDATE', [busy.id]);
      const started = Date.now();
      expect(await ctx.service.activity.flush()).toBe(1);
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(await lastActiveAt(busy.id)).toBeNull();
      expect(await marks.pending()).toBe(1);
      await holder.query('COMMIT');
    } finally {
      holder.release();
    }
    expect(await ctx.service.activity.flush()).toBe(1);
    expect(await lastActiveAt(busy.id)).not.toBeNull();
  });

  it('runs by itself every ACTIVITY_FLUSH_INTERVAL_MS', async () => {
    // A service of its own: the one above runs on the default interval, so its flushes are the tests' own.
    const scheduled = await startTestService('user_activity_schedule', { ACTIVITY_FLUSH_INTERVAL_MS: '200' });
    try {
      const user = await scheduled.seedUser('member');
      const at = new Date();
      await new ActivityMarks(scheduled.service.redis, scheduled.redisPrefix).mark(user.id, at);
      await waitFor(async () => {
        const { rows } = await scheduled.service.db.query('SELECT last_active_at FROM profiles WHERE id = $1', [user.id]);
        return rows[0]?.last_active_at ? true : undefined;
      }, { what: 'the scheduled activity write' });
    } finally {
      await scheduled.stop();
    }
  });
});

describe('who sees lastActiveAt', () => {
  let me: TestUser;
  let at: Date;

  beforeAll(async () => {
    me = await ctx.seedUser('member');
    at = new Date(Date.now() - 5_000);
    await marks.mark(me.id, at);
    await ctx.service.activity.flush();
  });

  it('shows it to the user in /api/users/me and to admins, in the listing and the profile', async () => {
    const admin = await ctx.seedUser('admin');
    expect((await request(ctx.service.url).get('/api/users/me').set(ctx.as(me))).body.user.lastActiveAt).toBe(at.toISOString());
    expect((await request(ctx.service.url).get(`/api/users/${me.id}`).set(ctx.as(admin))).body.user.lastActiveAt).toBe(at.toISOString());
    let cursor: string | null = null;
    let listed: Record<string, unknown> | undefined;
    do {
      const page: request.Response = await request(ctx.service.url)
        .get('/api/users')
        .query(cursor ? { after: cursor, limit: 100 } : { limit: 100 })
        .set(ctx.as(admin));
      expect(page.status).toBe(200);
      listed ??= (page.body.users as Record<string, unknown>[]).find((user) => user.id === me.id);
      cursor = page.body.nextCursor as string | null;
    } while (cursor && !listed);
    expect(listed?.lastActiveAt).toBe(at.toISOString());
  });

  it.each(['user', 'member'] as const)('hides it from a %s looking at someone else', async (role) => {
    const other = await ctx.seedUser(role);
    const res = await request(ctx.service.url).get(`/api/users/${me.id}`).set(ctx.as(other));
    expect(res.status).toBe(200);
    expect(res.body.user).not.toHaveProperty('lastActiveAt');
    expect(res.body.user).not.toHaveProperty('email');
  });
});

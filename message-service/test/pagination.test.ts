import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { pageOfChannel } from '../src/data/messages';
import { startTestService, type TestContext, type TestUser } from './support';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await startTestService('message_pages');
});

afterAll(async () => {
  await ctx.stop();
});

const PAGE_SIZE = 7;

async function idsNewestFirst(channel: string): Promise<string[]> {
  const { rows } = await ctx.service.db.query<{ id: string }>(
    'SELECT id FROM messages WHERE channel = $1 ORDER BY created_at DESC, id DESC',
    [channel],
  );
  return rows.map((row) => row.id);
}

async function postMessage(author: TestUser, channel: string, body: string): Promise<string> {
  const res = await request(ctx.service.url).post('/api/messages').set(ctx.as(author)).send({ channel, body });
  expect(res.status).toBe(201);
  return res.body.message.id as string;
}

/** Reads the whole channel page by page, calling `between` after each page. */
async function readAllPages(reader: TestUser, channel: string, between: () => Promise<void>) {
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query: Record<string, string | number> = cursor === null ? { channel, limit: PAGE_SIZE } : { channel, limit: PAGE_SIZE, before: cursor };
    const res: request.Response = await request(ctx.service.url).get('/api/messages').query(query).set(ctx.as(reader));
    expect(res.status).toBe(200);
    expect(res.body.messages.length).toBeLessThanOrEqual(PAGE_SIZE);
    seen.push(...res.body.messages.map((message: { id: string }) => message.id));
    cursor = res.body.nextCursor;
    pages += 1;
    await between();
  } while (cursor !== null);
  return { seen, pages };
}

describe('keyset pagination', () => {
  it('shows every message that existed when paging began exactly once, in order, while others are being written', async () => {
    const channel = `flood-${randomUUID().slice(0, 8)}`;
    const writer = await ctx.seedUser('member');
    const reader = await ctx.seedUser('member');

    // Thirty messages from one statement share a created_at to the microsecond: only the id orders them.
    await ctx.service.db.query(
      `INSERT INTO messages (id, channel, author_id, body) SELECT gen_random_uuid(), $1, $2, 'twin ' || n FROM generate_series(1, 30) AS n`,
      [channel, writer.id],
    );
    for (let index = 0; index < 40; index += 1) await postMessage(writer, channel, `before paging ${index}`);
    const existing = await idsNewestFirst(channel);
    const { rows: bounds } = await ctx.service.db.query<{ oldest: Date }>('SELECT min(created_at) AS oldest FROM messages WHERE channel = $1', [channel]);
    const oldest = bounds[0]?.oldest;

    // While the reader pages: new posts land on top, and back-dated rows (a transaction that began
    // before others but committed after them) land among the pages already read and still to come.
    const written: string[] = [];
    const writeMore = async () => {
      written.push(await postMessage(writer, channel, 'during paging'));
      const backDated = await ctx.service.db.query<{ id: string }>(
        `INSERT INTO messages (id, channel, author_id, body, created_at)
         VALUES (gen_random_uuid(), $1, $2, 'back-dated', $3::timestamptz + random() * (now() - $3::timestamptz)) RETURNING id`,
        [channel, writer.id, oldest],
      );
      written.push(backDated.rows[0]!.id);
    };
    const concurrentWrites: Promise<void>[] = [];
    const { seen, pages } = await readAllPages(reader, channel, async () => {
      concurrentWrites.push(writeMore());
    });
    await Promise.all(concurrentWrites);

    expect(pages).toBeGreaterThanOrEqual(Math.ceil(existing.length / PAGE_SIZE));
    expect(written.length).toBeGreaterThanOrEqual(2 * pages);
    expect(new Set(seen).size).toBe(seen.length);
    const existingSet = new Set(existing);
    expect(seen.filter((id) => existingSet.has(id))).toEqual(existing);
    // Whatever else was seen came from the concurrent writers, never from nowhere.
    expect(seen.filter((id) => !existingSet.has(id)).every((id) => written.includes(id))).toBe(true);
  });

  it('walks a channel of identical timestamps one message at a time', async () => {
    const channel = `twins-${randomUUID().slice(0, 8)}`;
    const reader = await ctx.seedUser('user');
    await ctx.service.db.query(
      `INSERT INTO messages (id, channel, author_id, body) SELECT gen_random_uuid(), $1, $2, 'same time' FROM generate_series(1, 12)`,
      [channel, reader.id],
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: Record<string, string | number> = cursor === null ? { channel, limit: 1 } : { channel, limit: 1, before: cursor };
      const res: request.Response = await request(ctx.service.url).get('/api/messages').query(query).set(ctx.as(reader));
      seen.push(...res.body.messages.map((message: { id: string }) => message.id));
      cursor = res.body.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(await idsNewestFirst(channel));
  });

  it('reads pages with prepared statements whose generic plans walk the channel index without sorting', async () => {
    const plans = await ctx.service.db.transaction(async (tx) => {
      // The test table is small enough that the planner would rather scan it; forbid that to see
      // whether the index fits. A prepared statement switches to a generic plan (no parameter
      // values) after a few runs: plan that one.
      await tx.query('SET LOCAL enable_seqscan = off');
      await tx.query('SET LOCAL plan_cache_mode = force_generic_plan');
      const viewer = randomUUID();
      await pageOfChannel(tx, 'general', viewer, undefined, 51);
      await pageOfChannel(tx, 'general', viewer, { createdAt: '2030-01-01T00:00:00.000000Z', id: randomUUID() }, 51);
      const explain = async (execute: string) =>
        (await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${execute}`)).rows.map((row) => row['QUERY PLAN']).join('\n');
      return {
        latest: await explain(`EXECUTE "messages-latest-page"('general', 51, '${viewer}')`),
        before: await explain(`EXECUTE "messages-page-before"('general', '2030-01-01T00:00:00Z', '${randomUUID()}', 51, '${viewer}')`),
      };
    });
    for (const plan of Object.values(plans)) {
      expect(plan).toMatch(/Index (Only )?Scan using messages_page/);
      expect(plan).not.toMatch(/Sort/);
    }
    expect(plans.before).toMatch(/Index Cond: .*ROW\(created_at, id\) < ROW/);
  });
});

import { describe, expect, it } from 'vitest';
import { isAfter, LiveStream } from '../src/live/stream';

/** An EventSource whose server side the test plays: open, send frames, fail as a browser would. */
class ScriptedSource extends EventTarget {
  static instances: ScriptedSource[] = [];
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSED = 2;
  readyState = 0;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    super();
    ScriptedSource.instances.push(this);
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  send(type: string, id: string, data: unknown) {
    this.dispatchEvent(new MessageEvent(type, { data: JSON.stringify(data), lastEventId: id }));
  }
  /** The browser's own retry is under way (CONNECTING), or it gave up (CLOSED). */
  fail(gaveUp: boolean) {
    this.readyState = gaveUp ? 2 : 0;
    this.onerror?.();
  }
  close() {
    this.readyState = 2;
  }
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 5));

function start() {
  ScriptedSource.instances = [];
  const events: [string, unknown][] = [];
  let resyncs = 0;
  let tickets = 0;
  const stream = new LiveStream({
    channels: ['general', 'random'],
    ticket: async () => `ticket${++tickets}`,
    onEvent: (type, data) => events.push([type, data]),
    onResync: () => (resyncs += 1),
    EventSource: ScriptedSource as unknown as typeof EventSource,
    backoff: { baseMs: 1, maxMs: 4 },
  });
  stream.start();
  return { stream, events, resyncs: () => resyncs, tickets: () => tickets };
}

describe('LiveStream', () => {
  it('orders stream ids numerically', () => {
    expect(isAfter('10-0', '9-5')).toBe(true);
    expect(isAfter('10-1', '10-0')).toBe(true);
    expect(isAfter('10-0', '10-0')).toBe(false);
    expect(isAfter('9-9', '10-0')).toBe(false);
    expect(isAfter('1-0', undefined)).toBe(true);
  });

  it('opens with a ticket and the channels, and drops a repeated event', async () => {
    const { stream, events } = start();
    await flush();
    const source = ScriptedSource.instances[0];
    expect(source?.url).toBe('/api/events?ticket=ticket1&channels=general%2Crandom');
    source?.open();
    source?.send('message.created', '5-0', { id: 'a' });
    source?.send('message.created', '5-0', { id: 'a' });
    source?.send('message.deleted', '6-0', { id: 'a' });
    expect(events.map(([type]) => type)).toEqual(['message.created', 'message.deleted']);
    stream.stop();
  });

  it("leaves the browser's own reconnect alone, and takes over when the browser gives up", async () => {
    const { stream, tickets } = start();
    await flush();
    const first = ScriptedSource.instances[0];
    first?.open();
    first?.send('message.created', '7-1', { id: 'a' });
    first?.fail(false);
    await flush();
    expect(ScriptedSource.instances).toHaveLength(1);
    first?.fail(true);
    await flush();
    await flush();
    expect(ScriptedSource.instances).toHaveLength(2);
    expect(tickets()).toBe(2);
    expect(ScriptedSource.instances[1]?.url).toContain('ticket=ticket2');
    expect(ScriptedSource.instances[1]?.url).toContain('lastEventId=7-1');
    stream.stop();
  });

  it('asks for a reload on resync and resumes after its id', async () => {
    const { stream, events, resyncs } = start();
    await flush();
    const source = ScriptedSource.instances[0];
    source?.open();
    source?.send('resync', '20-0', { reason: 'too_old' });
    source?.send('message.created', '19-0', { id: 'old' });
    source?.send('message.created', '21-0', { id: 'new' });
    expect(resyncs()).toBe(1);
    expect(events).toEqual([['message.created', { id: 'new' }]]);
    stream.stop();
  });
});

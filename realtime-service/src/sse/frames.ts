import type { AnyEvent } from '@board/service-kit/contracts';
import { dataFor, type View } from '../domain/audience';

/** A comment line: keeps proxies and load balancers from closing an idle stream. */
export const HEARTBEAT_FRAME = Buffer.from(': ping\n\n');

export const retryFrame = (retryMs: number, comment?: string): string =>
  `retry: ${retryMs}\n${comment === undefined ? '' : `: ${comment}\n`}\n`;

export function eventFrame(type: string, data: object, id?: string): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * One event from the stream with its frames, rendered and encoded at most once per view however
 * many connections receive it: with thousands of streams, doing it per connection would dominate.
 */
export class StreamEvent {
  private readonly frames: Partial<Record<View, Buffer>> = {};

  constructor(
    readonly id: string,
    readonly event: AnyEvent,
  ) {}

  frame(view: View): Buffer {
    return (this.frames[view] ??= Buffer.from(eventFrame(this.event.type, dataFor(this.event, view), this.id)));
  }
}

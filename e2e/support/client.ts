import type { RequestInit, Response } from 'undici';
import type { EventSource } from 'eventsource';
import { BoardClient, type CallOptions, type JsonResponse } from '../../stack/src/board-client';
import { loadEnvironment } from './environment';

const environment = loadEnvironment();

/** Trusts exactly the stack's self-signed certificate; nothing is disabled. */
const client = new BoardClient(environment.baseUrl, { ca: environment.certificate });

export const dispatcher = client.dispatcher;
export const baseUrl = environment.baseUrl;
export { environment };
export type { JsonResponse };

export function api(path: string, init: RequestInit = {}): Promise<Response> {
  return client.api(path, init);
}

/** A JSON request through nginx; `cookies` is a Cookie header value. */
export function call<T = Record<string, unknown>>(method: string, path: string, options: CallOptions = {}): Promise<JsonResponse<T>> {
  return client.call<T>(method, path, options);
}

/** An SSE client that trusts the stack's certificate. */
export function openEventSource(path: string, headers: Record<string, string> = {}): EventSource {
  return client.openEventSource(path, headers);
}

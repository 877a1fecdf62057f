import { Agent, fetch as undiciFetch, type RequestInit, type Response } from 'undici';
import { EventSource } from 'eventsource';
import { loadEnvironment } from './environment';

const environment = loadEnvironment();

/** Trusts exactly the stack's self-signed certificate; nothing is disabled. */
export const dispatcher = new Agent({ connect: { ca: environment.certificate }, keepAliveTimeout: 1_000 });

export const baseUrl = environment.baseUrl;
export { environment };

export function api(path: string, init: RequestInit = {}): Promise<Response> {
  return undiciFetch(`${baseUrl}${path}`, { ...init, dispatcher });
}

export interface JsonResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

/** A JSON request through nginx; `cookies` is a Cookie header value. */
export async function call<T = Record<string, unknown>>(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string>; cookies?: string } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.cookies) headers.cookie = options.cookies;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  const response = await api(path, { method, headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers as unknown as Headers, body: (text ? JSON.parse(text) : {}) as T };
}

/** An SSE client (the `eventsource` package, as a browser's EventSource behaves) that trusts the stack's certificate. */
export function openEventSource(path: string, headers: Record<string, string> = {}): EventSource {
  return new EventSource(`${baseUrl}${path}`, {
    fetch: (input, init) =>
      undiciFetch(String(input), {
        ...(init as RequestInit),
        headers: { ...(init?.headers as Record<string, string>), ...headers },
        dispatcher,
      }) as unknown as Promise<globalThis.Response>,
  });
}

import { Agent, fetch as undiciFetch, type RequestInit, type Response } from 'undici';
import { EventSource } from 'eventsource';

export interface BoardClientOptions {
  /** The certificate (PEM) to trust, e.g. the stack's self-signed one; nothing else is trusted then. */
  ca?: string;
  /** Accepts any certificate: for a quick look at a host whose certificate is not at hand. */
  insecure?: boolean;
}

export interface JsonResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** A Cookie header value. */
  cookies?: string;
}

/** The board's public API through nginx over HTTPS: JSON requests and SSE streams. */
export class BoardClient {
  readonly dispatcher: Agent;

  constructor(
    readonly baseUrl: string,
    options: BoardClientOptions = {},
  ) {
    const connect = options.insecure ? { rejectUnauthorized: false } : options.ca ? { ca: options.ca } : {};
    this.dispatcher = new Agent({ connect, keepAliveTimeout: 1_000 });
  }

  api(path: string, init: RequestInit = {}): Promise<Response> {
    return undiciFetch(`${this.baseUrl}${path}`, { ...init, dispatcher: this.dispatcher });
  }

  /** A JSON request; the body is parsed as JSON when there is one. */
  async call<T = Record<string, unknown>>(method: string, path: string, options: CallOptions = {}): Promise<JsonResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.cookies) headers.cookie = options.cookies;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    }
    const response = await this.api(path, { method, headers, body });
    const text = await response.text();
    return { status: response.status, headers: response.headers as unknown as Headers, body: (text ? JSON.parse(text) : {}) as T };
  }

  /** An SSE client (the `eventsource` package, as a browser's EventSource behaves) over this client's connections. */
  openEventSource(path: string, headers: Record<string, string> = {}): EventSource {
    return new EventSource(`${this.baseUrl}${path}`, {
      fetch: (input, init) =>
        undiciFetch(String(input), {
          ...(init as RequestInit),
          headers: { ...(init?.headers as Record<string, string>), ...headers },
          dispatcher: this.dispatcher,
        }) as unknown as Promise<globalThis.Response>,
    });
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

import type { EventEmitter } from 'node:events';
import http, { type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { NextFunction, Request, Response } from 'express';
import { createProxyMiddleware, debugProxyErrorsPlugin, proxyEventsPlugin, type RequestHandler as ProxyHandler } from 'http-proxy-middleware';
import CircuitBreaker from 'opossum';
import { AppError, serviceUnavailable, type Logger } from '@board/service-kit';
import { bufferedBodyOf } from '../body';
import type { GatewayMetrics } from '../metrics';
import type { UpstreamName } from '../routes';

export interface UpstreamOptions {
  name: UpstreamName;
  /** The service's replicas; requests take them in turn. */
  urls: readonly string[];
  /** Time the upstream has to send its response headers (a stream may then run for hours). */
  timeoutMs: number;
  resetTimeoutMs: number;
  errorThresholdPercentage: number;
  volumeThreshold: number;
  rollingWindowMs: number;
}

export type BreakerState = 'closed' | 'halfOpen' | 'open';

const STATE_GAUGE_VALUE: Record<BreakerState, number> = { closed: 0, halfOpen: 1, open: 2 };
const BREAKER_EVENTS = ['success', 'failure', 'timeout', 'reject', 'open', 'halfOpen', 'close'] as const;
/**
 * Idle keep-alive sockets are dropped before Node's default 5 s server keep-alive timeout would
 * close them upstream, so a request is never sent on a socket the upstream is closing.
 */
const IDLE_SOCKET_TIMEOUT_MS = 4_000;

/** Each call gives the next URL, over and over. */
function roundRobin(urls: readonly string[]): () => string {
  let next = 0;
  return () => {
    const url = urls[next]!;
    next = (next + 1) % urls.length;
    return url;
  };
}

/** The upstream answered 5xx: a failure for the breaker, though its response is already on its way to the client. */
class UpstreamServerError extends Error {
  constructor(readonly status: number) {
    super(`upstream answered ${status}`);
  }
}

/** The client left before the upstream answered: nobody to answer, and not the upstream's fault. */
class ClientGone extends Error {
  constructor() {
    super('the client closed the connection');
  }
}

/** One request on its way through the breaker to the upstream. */
interface Exchange {
  settled: boolean;
  proxyReq?: ClientRequest;
  /** Ends the breaker's action: without an error when response headers arrive, with one otherwise. */
  settle(error?: Error): void;
}

/**
 * One upstream service: an http-proxy-middleware proxy wrapped in an opossum circuit breaker.
 * The breaker's action lasts from forwarding until the response headers arrive, so its timeout
 * bounds a hanging upstream without cutting a long response or an event stream short.
 * Connection errors, timeouts and 5xx count as failures; 4xx are the client's business.
 */
export class Upstream {
  readonly name: UpstreamName;
  readonly urls: readonly string[];
  private readonly breaker: CircuitBreaker<[Request, Response], void>;
  private readonly agent: http.Agent;
  private readonly proxy: ProxyHandler<IncomingMessage, ServerResponse, (error?: unknown) => void>;
  private readonly exchanges = new WeakMap<IncomingMessage, Exchange>();
  private openedAt = 0;

  constructor(
    private readonly options: UpstreamOptions,
    metrics: GatewayMetrics,
    private readonly logger: Logger,
  ) {
    this.name = options.name;
    this.urls = options.urls;
    const agentOptions = { keepAlive: true, timeout: IDLE_SOCKET_TIMEOUT_MS };
    this.agent = options.urls[0]!.startsWith('https:') ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.proxy = this.createProxy();
    this.breaker = new CircuitBreaker((req: Request, res: Response) => this.exchange(req, res), {
      name: options.name,
      timeout: options.timeoutMs,
      resetTimeout: options.resetTimeoutMs,
      errorThresholdPercentage: options.errorThresholdPercentage,
      volumeThreshold: options.volumeThreshold,
      rollingCountTimeout: options.rollingWindowMs,
      errorFilter: (error: unknown) => error instanceof ClientGone,
    });
    this.instrument(metrics);
  }

  /** Express handler: forwards the request, or answers 502/503/504 in the error shape. */
  readonly forward = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      await this.breaker.fire(req, res);
    } catch (error) {
      this.answerFailure(error, req, res, next);
    }
  };

  get state(): BreakerState {
    if (this.breaker.opened) return 'open';
    return this.breaker.halfOpen ? 'halfOpen' : 'closed';
  }

  /** Stops the breaker's timers and closes idle upstream connections. */
  close(): void {
    this.breaker.shutdown();
    this.agent.destroy();
  }

  private exchange(req: Request, res: Response): Promise<void> {
    return new Promise((resolve, reject) => {
      const exchange: Exchange = {
        settled: false,
        settle: (error) => {
          if (exchange.settled) return;
          exchange.settled = true;
          if (error) reject(error);
          else resolve();
        },
      };
      this.exchanges.set(req, exchange);
      // http-proxy only notices a client that leaves mid-upload; one that leaves while the
      // upstream thinks must not leave the upstream request running.
      res.once('close', () => {
        if (exchange.settled) return;
        exchange.settle(new ClientGone());
        exchange.proxyReq?.destroy();
      });
      void this.proxy(req, res, (error?: unknown) => {
        exchange.settle(error instanceof Error ? error : new Error('the proxy did not forward the request'));
      });
    });
  }

  private createProxy(): ProxyHandler<IncomingMessage, ServerResponse, (error?: unknown) => void> {
    return createProxyMiddleware<IncomingMessage, ServerResponse, (error?: unknown) => void>({
      target: this.urls[0],
      // A single URL needs no router (the common case: one DNS name for every replica).
      router: this.urls.length > 1 ? roundRobin(this.urls) : undefined,
      agent: this.agent,
      // X-Forwarded-* are set from what `trust proxy` made of them, not appended to.
      xfwd: false,
      // Without the default logger plugin, which formats a line for every response (logged or not);
      // requests are logged once, by the kit's request logger.
      ejectPlugins: true,
      plugins: [debugProxyErrorsPlugin, proxyEventsPlugin],
      on: {
        proxyReq: (proxyReq, req) => {
          const exchange = this.exchanges.get(req);
          if (exchange?.settled) {
            proxyReq.destroy();
            return;
          }
          if (exchange) exchange.proxyReq = proxyReq;
          // The original stream was spent reading it; http-proxy ends proxyReq once it sees that.
          const body = bufferedBodyOf(req);
          if (body) proxyReq.write(body);
        },
        proxyRes: (proxyRes, req, res) => {
          const status = proxyRes.statusCode ?? 502;
          this.exchanges.get(req)?.settle(status >= 500 ? new UpstreamServerError(status) : undefined);
          // An upstream that dies mid-response must not leave the client waiting for the rest.
          proxyRes.once('close', () => {
            if (!proxyRes.complete) res.destroy();
          });
          if (String(proxyRes.headers['content-type']).startsWith('text/event-stream')) {
            // Send the headers now (http-proxy copies them right after this event), not with the first event.
            process.nextTick(() => res.flushHeaders());
          }
        },
        error: (error, req) => {
          this.exchanges.get(req)?.settle(error);
        },
        econnreset: (_error, req) => {
          this.exchanges.get(req)?.settle(new ClientGone());
        },
      },
    });
  }

  private answerFailure(error: unknown, req: Request, res: Response, next: NextFunction): void {
    // The upstream's own 5xx is on its way; a departed client needs no answer.
    if (error instanceof UpstreamServerError || error instanceof ClientGone) return;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const code = error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
    const ours = error instanceof Error && CircuitBreaker.isOurError(error);
    if (ours && code === 'ETIMEDOUT') {
      this.exchanges.get(req)?.proxyReq?.destroy();
      next(new AppError(504, 'GATEWAY_TIMEOUT', `The ${this.name} service did not answer in time`));
      return;
    }
    if (ours) {
      next(serviceUnavailable(`The ${this.name} service is unavailable; try again later`, this.retryAfterSeconds()));
      return;
    }
    this.logger.warn({ err: error, upstream: this.name }, 'upstream request failed');
    next(new AppError(502, 'BAD_GATEWAY', `The ${this.name} service could not be reached`));
  }

  /** Seconds until an open breaker lets a probe through (at least 1). */
  private retryAfterSeconds(): number {
    const halfOpensAt = this.openedAt + this.options.resetTimeoutMs;
    return Math.max(1, Math.ceil((halfOpensAt - Date.now()) / 1_000));
  }

  private instrument(metrics: GatewayMetrics): void {
    const state = metrics.breakerState.labels(this.name);
    state.set(STATE_GAUGE_VALUE.closed);
    const breaker: EventEmitter = this.breaker;
    for (const event of BREAKER_EVENTS) {
      const counter = metrics.breakerEvents.labels(this.name, event);
      breaker.on(event, () => counter.inc());
    }
    breaker.on('open', () => {
      this.openedAt = Date.now();
      state.set(STATE_GAUGE_VALUE.open);
      this.logger.warn({ upstream: this.name }, 'circuit breaker opened');
    });
    breaker.on('halfOpen', () => {
      state.set(STATE_GAUGE_VALUE.halfOpen);
      this.logger.info({ upstream: this.name }, 'circuit breaker half-open: probing');
    });
    breaker.on('close', () => {
      state.set(STATE_GAUGE_VALUE.closed);
      this.logger.info({ upstream: this.name }, 'circuit breaker closed');
    });
  }
}

import type { RequestListener } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from '@board/service-kit';

/**
 * Two routes, for Prometheus and the container's HEALTHCHECK: GET /metrics and GET /health/live.
 * No Express: there is no request body, no identity and no public client to serve.
 */
export function createApp(registry: Registry, logger: Logger): RequestListener {
  return (req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: unknown) => {
          logger.error({ err: error }, 'metrics failed');
          res.writeHead(500).end();
        },
      );
      return;
    }
    if (req.method === 'GET' && req.url === '/health/live') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    res.writeHead(404).end();
  };
}

import type { IncomingMessage } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { AppError } from '@board/service-kit';

/*
 * Request bodies normally stream to the upstream untouched; the gateway never parses them. Chunked
 * bodies are read into memory first (never more than the body limit), as their size is only known
 * once they end; the upstream gets the exact bytes the client sent, with a Content-Length.
 */

const bufferedBodies = new WeakMap<IncomingMessage, Buffer>();

/** The body read by bufferRequestBody, for the proxy to send instead of the spent stream. */
export const bufferedBodyOf = (req: IncomingMessage): Buffer | undefined => bufferedBodies.get(req);

/**
 * Declared bodies up to this size are read and thrown away before the 413, so the connection
 * stays usable: nginx (whose client_max_body_size is 2 MiB) sends the whole body before it reads
 * the answer, and a connection closed under it reads as a failed gateway (a 502, and the
 * replica taken out of rotation). Larger ones can only come from past the edge: the connection
 * is closed instead.
 */
const DRAINED_BODY_MAX_BYTES = 4 * 1024 * 1024;

const tooLargeMessage = (limit: number) => `The request body is larger than ${limit} bytes`;

const payloadTooLarge = (limit: number) =>
  // Closing the connection stops the client from sending the rest of a body nobody will read.
  new AppError(413, 'PAYLOAD_TOO_LARGE', tooLargeMessage(limit), undefined, { Connection: 'close' });

/** The largest body a request may carry: most routes share one limit, a few (an image upload) have their own. */
export type BodyLimit = (req: Request) => number;

/** 413 before anything is forwarded when the declared Content-Length is over the limit. */
export function rejectOversizedBody(limitFor: BodyLimit): RequestHandler {
  return (req, _res, next) => {
    const declared = req.headers['content-length'];
    const limit = limitFor(req);
    if (declared === undefined || !(Number(declared) > limit)) {
      next();
      return;
    }
    if (Number(declared) > DRAINED_BODY_MAX_BYTES) {
      next(payloadTooLarge(limit));
      return;
    }
    const answer = () => next(new AppError(413, 'PAYLOAD_TOO_LARGE', tooLargeMessage(limit)));
    req.once('end', answer);
    req.once('error', () => next(new AppError(400, 'REQUEST_ABORTED', 'The request was aborted')));
    req.resume();
  };
}

export const hasChunkedBody = (req: Request): boolean => req.headers['transfer-encoding'] !== undefined;

/** Reads the whole body of the requests `applies` picks, counting bytes as they come. */
export function bufferRequestBody(limitFor: BodyLimit, applies: (req: Request) => boolean): RequestHandler {
  return async (req, _res, next) => {
    if (!applies(req) || bufferedBodies.has(req)) {
      next();
      return;
    }
    const body = await readBody(req, limitFor(req));
    bufferedBodies.set(req, body);
    req.headers['content-length'] = String(body.length);
    delete req.headers['transfer-encoding'];
    next();
  };
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanUp = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onAbort);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanUp();
        req.resume(); // discard the rest until the connection closes
        reject(payloadTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanUp();
      resolve(Buffer.concat(chunks, size));
    };
    const onAbort = () => {
      cleanUp();
      reject(new AppError(400, 'REQUEST_ABORTED', 'The request was aborted'));
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onAbort);
    req.once('close', onAbort);
  });
}

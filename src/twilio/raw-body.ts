import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';

/**
 * The body bytes as received, for the few routes whose signature covers them (Twilio's
 * `bodySHA256` on JSON bodies, Segment's `X-Signature`): a re-serialised body would not match.
 * Mark such a route with `@RouteConfig(KEEP_RAW_BODY)`; every other route keeps nothing.
 */
export const KEEP_RAW_BODY = { keepRawBody: true } as const;

const rawBodies = new WeakMap<object, Buffer>();
const registered = new WeakSet<FastifyInstance>();

export function rawBodyOf(request: FastifyRequest): Buffer | undefined {
  return rawBodies.get(request.raw);
}

/** Adds the preParsing hook; call before the server is ready. Idempotent per instance. */
function keepRawBodies(fastify: FastifyInstance): void {
  if (registered.has(fastify)) return;
  registered.add(fastify);
  fastify.addHook('preParsing', async (request, _reply, payload) => {
    if ((request.routeOptions.config as { keepRawBody?: boolean } | undefined)?.keepRawBody !== true) return payload;
    const limit = request.routeOptions.bodyLimit;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of payload) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      size += buffer.length;
      // Fastify's own limit only applies after this hook: keep a chunked body from growing unbounded here.
      if (size > limit) throw Object.assign(new Error('Request body is too large'), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
      chunks.push(buffer);
    }
    const raw = Buffer.concat(chunks);
    rawBodies.set(request.raw, raw);
    return Readable.from([raw]);
  });
}

/** Registers the hook at start, before Fastify is ready; provide it in a module that has such routes. */
@Injectable()
export class RawBodyCapture implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    keepRawBodies(this.adapterHost.httpAdapter.getInstance<FastifyInstance>());
  }
}

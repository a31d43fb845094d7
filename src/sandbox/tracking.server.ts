import type { FastifyInstance } from 'fastify';
import { segmentError } from './segment-profiles.server';
import { basicCredentials, createServiceServer, routeConfig, type SandboxContext } from './service-server';

/** Segment's tracking API limit for one batch request. */
const MAX_BATCH_BYTES = 500 * 1024;

/** What analytics-node (or any HTTP source) delivered, in arrival order. */
export class TrackingRecorder {
  private readonly recorded: unknown[] = [];

  record(body: unknown): void {
    this.recorded.push(body);
  }

  batches(): unknown[] {
    return [...this.recorded];
  }

  /** Every event of every batch; a single /v1/track or /v1/identify call counts as one event. */
  events(): Record<string, unknown>[] {
    const events: Record<string, unknown>[] = [];
    for (const body of this.recorded) {
      const batch = (body as { batch?: unknown }).batch;
      if (Array.isArray(batch)) events.push(...(batch as Record<string, unknown>[]));
      else events.push(body as Record<string, unknown>);
    }
    return events;
  }
}

export function createTrackingServer(writeKey: string, recorder: TrackingRecorder, context: SandboxContext): FastifyInstance {
  const app = createServiceServer({
    service: 'tracking',
    context,
    errorBody: segmentError,
    authorized: (request) => basicCredentials(request)?.user === writeKey,
    bodyLimit: MAX_BATCH_BYTES,
    // Segment answers an oversized batch with 400 (a client must not retry it), not 413.
    bodyTooLargeStatus: 400,
  });
  const accept = (type: 'batch' | 'track' | 'identify') => async (request: { body: unknown }) => {
    const body = request.body;
    if (typeof body !== 'object' || body === null || (type === 'batch' && !Array.isArray((body as { batch?: unknown }).batch))) {
      throw Object.assign(new Error(type === 'batch' ? 'The body must carry a batch array.' : 'The body must be a JSON object.'), { statusCode: 400 });
    }
    recorder.record(type === 'batch' || 'type' in body ? body : { ...body, type });
    return {};
  };
  app.post('/v1/batch', routeConfig('batch'), accept('batch'));
  app.post('/v1/track', routeConfig('batch'), accept('track'));
  app.post('/v1/identify', routeConfig('batch'), accept('identify'));
  return app;
}

import Fastify from 'fastify';
import Redis from 'ioredis';

/**
 * The physical limit the warm query is measured against: a bare Fastify route on the same Node
 * that answers each request with that customer's stored GraphQL answer, straight from Redis.
 * No parsing beyond the JSON body, no auth, no GraphQL. Prints `{"url": ...}` once listening.
 */
export const answerKey = (lookup: unknown): string => `bench:answer:${JSON.stringify(lookup)}`;

async function main(): Promise<void> {
  const redis = new Redis(process.env.REDIS_URL as string);
  const app = Fastify({ logger: false });
  app.post<{ Body: { variables?: { lookup?: unknown } } }>('/graphql', async (request, reply) => {
    const answer = await redis.get(answerKey(request.body.variables?.lookup));
    if (answer === null) return reply.code(404).send({ error: 'not stored' });
    return reply.type('application/json').send(answer);
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`${JSON.stringify({ url })}\n`);
  process.once(
    'SIGTERM',
    () =>
      void app
        .close()
        .then(() => redis.quit())
        .then(() => process.exit(0)),
  );
}

if (require.main === module) {
  void main().catch((error: unknown) => {
    process.stderr.write(`baseline failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  });
}

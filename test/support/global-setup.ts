import { startRedisServer } from './redis-server';

/**
 * Starts one redis-server for the whole run unless REDIS_URL names one; its URL reaches the
 * tests as TEST_REDIS_URL. Tests that need their own (to stop it mid-test) start another.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.REDIS_URL) {
    process.env.TEST_REDIS_URL = process.env.REDIS_URL;
    return;
  }
  const server = await startRedisServer();
  process.env.TEST_REDIS_URL = server.url;
  (globalThis as { __redisServer?: { stop(): Promise<void> } }).__redisServer = server;
}

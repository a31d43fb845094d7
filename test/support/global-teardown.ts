export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __redisServer?: { stop(): Promise<void> } }).__redisServer?.stop();
}

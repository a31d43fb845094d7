/**
 * Polls until `accept` holds, then answers the value; fails after `timeoutMs` naming `what` and
 * the last value seen. The one way the tests wait for something asynchronous to happen. Its
 * deadline runs on `performance.now()`, so it holds while a test has Date stand still.
 */
export async function eventually<T>(read: () => T | Promise<T>, accept: (value: T) => boolean, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (performance.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until `probe` answers something other than undefined, and answers it. */
export async function found<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  return (await eventually(probe, (value) => value !== undefined, timeoutMs, what)) as T;
}

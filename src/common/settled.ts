/**
 * Calls `call` and then `done` once its result has settled: at once for a plain value or a
 * throw (rethrown), on fulfilment or rejection for a promise (`done` runs in a reaction attached
 * before the result is returned, so before the caller's own `then`). Returns what `call` returned.
 */
export function callThenSettle<T>(call: () => T, done: () => void): T {
  let result: T;
  try {
    result = call();
  } catch (error) {
    done();
    throw error;
  }
  if (typeof (result as PromiseLike<unknown> | null)?.then === 'function') (result as PromiseLike<unknown>).then(done, done);
  else done();
  return result;
}

/**
 * A controllable clock for code that reads `Date.now()` (bentocache's TTLs, the Profile API
 * budget's bucket): only Date is faked; timers, I/O, `performance` and Redis's own clock stay real,
 * so connections and timeouts behave as they do in production.
 */
export const dateClock = {
  /**
   * Fakes Date. `frozen`: it stands still unless `advance` moves it (counts do not depend on how
   * fast the machine runs). Otherwise it goes on with real time, and `advance` jumps it ahead.
   */
  take({ frozen }: { frozen: boolean }): void {
    jest.useFakeTimers({
      advanceTimers: !frozen,
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'requestAnimationFrame',
        'cancelAnimationFrame',
        'requestIdleCallback',
        'cancelIdleCallback',
        'setImmediate',
        'clearImmediate',
        'setInterval',
        'clearInterval',
        'setTimeout',
        'clearTimeout',
      ],
    });
  },
  /** Moves Date ahead at once, as that much time passing would. */
  advance(ms: number): void {
    jest.setSystemTime(Date.now() + ms);
  },
  release(): void {
    jest.useRealTimers();
  },
};

import { loadConfig } from '../config/config';
import { twilioPolicy } from './twilio-client';

/** An attempt that never answers: it ends only when the policy's timeout aborts it. */
const hangs = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new DOMException('This operation was aborted', 'AbortError'))));

describe('twilioPolicy', () => {
  // Fake time: the policy's timers move only when the test moves them.
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('gives a call that walks several pages room for one retry after a timed-out attempt: its deadline grows with its timeout', async () => {
    // One attempt 1 s, the call 3 s; twice that for the slower call: 2 s and 6 s.
    const policy = twilioPolicy(loadConfig({ UPSTREAM_TIMEOUT_MS: '1000', UPSTREAM_DEADLINE_MS: '3000', UPSTREAM_RETRIES: '2' }), 2);
    let attempts = 0;
    let outcome: unknown = 'pending';
    policy
      .execute(async (signal) => {
        if (++attempts === 1) return hangs(signal); // cut at 2 s
        await new Promise((resolve) => setTimeout(resolve, 1_500)); // slow, within its 2 s; it ends past 3 s
        return 'pages read';
      })
      .then(
        (value) => (outcome = value),
        (error: unknown) => (outcome = error),
      );

    await jest.advanceTimersByTimeAsync(6_000);
    expect(outcome).toBe('pages read');
    expect(attempts).toBe(2);
  });
});

import { setTimeout as sleep } from 'node:timers/promises';
import { currentPriority, runWithPriority } from './priority';

describe('priority', () => {
  it('carries background across awaits, and foreground is what no priority means', async () => {
    expect(currentPriority()).toBe('foreground');
    const seen = await runWithPriority('background', async () => {
      await sleep(1);
      const inside = currentPriority();
      const nested = await runWithPriority('foreground', async () => {
        await sleep(1);
        return currentPriority();
      });
      return [inside, nested, currentPriority()];
    });
    expect(seen).toEqual(['background', 'foreground', 'background']);
    expect(currentPriority()).toBe('foreground');
    expect(await runWithPriority('foreground', async () => (await sleep(1), currentPriority()))).toBe('foreground');
  });

  it('keeps a background run its priority when another one, started later, finishes first', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const long = runWithPriority('background', async () => {
      await held;
      return currentPriority();
    });
    await runWithPriority('background', async () => sleep(1));
    release();
    expect(await long).toBe('background');
  });

  it('settles a background run that throws', async () => {
    await expect(
      runWithPriority('background', async () => {
        await sleep(1);
        throw new Error('refresh failed');
      }),
    ).rejects.toThrow('refresh failed');
    expect(() =>
      runWithPriority('background', () => {
        throw new Error('at once');
      }),
    ).toThrow('at once');
    expect(await runWithPriority('background', async () => (await sleep(1), currentPriority()))).toBe('background');
  });
});

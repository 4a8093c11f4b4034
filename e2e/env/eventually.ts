// Waiting for an eventual state: poll until it holds, with a deadline, and fail saying what was awaited
// and what was last seen (never a timed assertion: the deadline only bounds a wait).
import { setTimeout as sleep } from 'node:timers/promises';
import { TestEnvTimeoutError } from './errors.ts';

/**
 * Polls `probe` until it returns something truthy, and returns that. A probe that throws is retried
 * (the state may not exist yet); past `timeoutMs`, fails naming `what` and the last value or error.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new TestEnvTimeoutError(
        `${what}: not within ${timeoutMs} ms; last: ${last instanceof Error ? last.message : JSON.stringify(last)?.slice(0, 2000)}`,
      );
    }
    await sleep(intervalMs);
  }
}

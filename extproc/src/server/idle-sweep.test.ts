// The idle timeout's shared sweep (idle-sweep.ts): a stream that sees messages is never ended, one that
// sees none is ended once, between the timeout and the timeout plus a sweep interval; the timer runs
// only while streams are watched. Waits for conditions, never a fixed sleep, no timing assertion.
import { describe, expect, it } from 'vitest';
import { IdleSweep, idleSweep } from './idle-sweep.ts';

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5));
}

describe('IdleSweep', () => {
  it('ends a stream without messages once, and not one that keeps seeing them', async () => {
    const sweep = new IdleSweep(40);
    let idle = 0;
    let busyIdle = 0;
    const quiet = { idleTick: 0, onIdle: () => idle++ };
    const busy = { idleTick: 0, onIdle: () => busyIdle++ };
    sweep.add(quiet);
    sweep.add(busy);
    const started = performance.now();
    // The busy stream marks itself active on every turn until the quiet one is ended.
    while (idle === 0) {
      busy.idleTick = sweep.tick;
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(performance.now() - started).toBeGreaterThanOrEqual(35); // never before the timeout (timer slack)
    expect(busyIdle).toBe(0);
    expect(sweep.size).toBe(1);
    sweep.delete(busy);
    expect(sweep.size).toBe(0);
    const tick = sweep.tick;
    await new Promise((r) => setTimeout(r, 30));
    expect(sweep.tick).toBe(tick); // no timer while nothing is watched
    expect(idle).toBe(1);
  });

  it('keeps sweeping the others when one stream throws, and shares one sweep per timeout', async () => {
    const sweep = new IdleSweep(10);
    let ended = 0;
    sweep.add({
      idleTick: 0,
      onIdle: () => {
        throw new Error('boom');
      },
    });
    sweep.add({ idleTick: 0, onIdle: () => ended++ });
    await until(() => ended === 1 && sweep.size === 0);
    expect(idleSweep(1234)).toBe(idleSweep(1234));
    expect(idleSweep(1234)).not.toBe(idleSweep(1235));
  });
});

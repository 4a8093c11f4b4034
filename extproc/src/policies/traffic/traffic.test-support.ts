// Shared by the traffic policy tests: contexts that share one memory store and one clock (so
// consecutive requests count against each other), and stores that are down (FailClosed).
import { expect } from 'vitest';
import { PolicyFault } from '../../flow/faults.ts';
import {
  hashedKeyPart,
  makeClock,
  makePolicyContext,
  type PolicyContextOptions,
  type TestClock,
  type TestPolicyContext,
} from '../../flow/policy-context.test-support.ts';
import type { PolicyStep } from '../../flow/types.ts';
import { createMemoryStores } from '../../stores/memory.ts';
import { StoreUnavailableError, type Stores } from '../../stores/types.ts';

/** A store key part as the policies name it (hashed; flow/policy-context.test-support.ts). */
export const hashed = (value: string): string => hashedKeyPart(value);

export interface Harness {
  clock: TestClock;
  stores: Stores;
  ctx(opts?: PolicyContextOptions): TestPolicyContext;
}

export function harness(start = Date.UTC(2026, 0, 1)): Harness {
  const clock = makeClock(start);
  const stores = createMemoryStores(clock.now);
  return { clock, stores, ctx: (opts = {}) => makePolicyContext({ now: clock.now, stores, ...opts }) };
}

/** Stores whose every call fails as a Redis store with onUnavailable FailClosed does. */
export function unavailableStores(): Stores {
  const down = (): Promise<never> => Promise.reject(new StoreUnavailableError('Redis is unavailable (test)'));
  const kv = { get: down, put: down, delete: down };
  return {
    counters: { consume: down, reset: down, get: down },
    buckets: { take: down },
    admit: down,
    cache: { get: down, set: down, delete: down, deletePrefix: down },
    tokens: { get: down, put: down, take: down, delete: down, setFlag: down },
    kvm: kv,
    close: async () => {},
  };
}

/** Runs the step and returns the fault it raised. */
export async function faultOf(step: PolicyStep, ctx: TestPolicyContext): Promise<PolicyFault> {
  try {
    await step(ctx);
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyFault);
    return err as PolicyFault;
  }
  throw new Error('expected the step to raise a fault');
}

import { describe, expect, it } from 'vitest';
import { policyTypes } from '../../../protos/policies/index.ts';
import { policyImplementations, policyRegistry } from './registry.ts';

describe('policy registry', () => {
  it('implements exactly the types of the shared table, once each', () => {
    expect(policyImplementations.map((p) => p.type).sort()).toEqual(policyTypes.map((p) => p.type).sort());
    expect(policyRegistry.size).toBe(policyImplementations.length);
  });
});

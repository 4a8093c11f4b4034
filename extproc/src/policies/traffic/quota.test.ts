import { describe, expect, it } from 'vitest';
import type { QuotaConfig } from '../../../../protos/policies/traffic/quota.ts';
import { quotaPolicy } from './quota.ts';
import { faultOf, harness, hashed, unavailableStores } from './traffic.test-support.ts';

const meta = { namespace: 'shop', name: 'quota' };
const create = (config: QuotaConfig) => quotaPolicy.create(config, meta);

describe('Quota', () => {
  it('admits allow requests per calendar minute, then 429 with Retry-After and the ratelimit variables', async () => {
    const h = harness(Date.UTC(2026, 0, 1, 10, 0, 45));
    const step = create({ allow: 2, interval: 1, timeUnit: 'minute' });
    await step(h.ctx());
    const second = h.ctx();
    await step(second);
    expect(second.variables.get('ratelimit.quota.used.count')).toBe(2);
    expect(second.variables.get('ratelimit.quota.available.count')).toBe(0);
    const third = h.ctx();
    const fault = await faultOf(step, third);
    expect(fault).toMatchObject({
      status: 429,
      errorCode: 'policies.ratelimit.QuotaViolation',
      headers: { 'retry-after': '15' },
    });
    expect(third.variables.get('ratelimit.quota.allowed.count')).toBe(2);
    expect(third.variables.get('ratelimit.quota.exceed.count')).toBe(1);
    expect(third.variables.get('ratelimit.quota.expiry.time')).toBe(Date.UTC(2026, 0, 1, 10, 1));
    expect(third.variables.get('ratelimit.quota.failed')).toBe(true);
    h.clock.set(Date.UTC(2026, 0, 1, 10, 1));
    await expect(step(h.ctx())).resolves.toBeUndefined();
  });

  it('aligns calendar windows to startTime', async () => {
    const h = harness(Date.UTC(2026, 0, 1, 9, 29, 59));
    const step = create({ allow: 1, interval: 1, timeUnit: 'hour', startTime: '2026-01-01T08:30:00Z' });
    await step(h.ctx());
    expect((await faultOf(step, h.ctx())).headers['retry-after']).toBe('1');
    h.clock.advance(1_000);
    await expect(step(h.ctx())).resolves.toBeUndefined();
  });

  it('keeps one count per identifier and weighs messages', async () => {
    const h = harness();
    const step = create({
      allow: 3,
      identifier: { ref: 'client_id' },
      messageWeight: { ref: 'request.header.weight' },
    });
    await step(h.ctx({ variables: { client_id: 'a' }, headers: { weight: '3' } }));
    await step(h.ctx({ variables: { client_id: 'b' }, headers: { weight: '1' } }));
    const fault = await faultOf(step, h.ctx({ variables: { client_id: 'a' }, headers: { weight: '1' } }));
    expect(fault.errorCode).toBe('policies.ratelimit.QuotaViolation');
    expect((await faultOf(step, h.ctx({ variables: { client_id: 'b' }, headers: { weight: '0' } }))).errorCode).toBe(
      'policies.ratelimit.InvalidMessageWeight',
    );
  });

  it('rolls a window: the previous interval still weighs', async () => {
    const h = harness(Date.UTC(2026, 0, 1, 0, 0, 0));
    const step = create({ type: 'rollingwindow', allow: 4, interval: 1, timeUnit: 'minute' });
    for (let i = 0; i < 4; i++) await step(h.ctx());
    h.clock.advance(90_000); // half of the previous minute's 4 still counts
    await step(h.ctx());
    await step(h.ctx());
    expect((await faultOf(step, h.ctx())).status).toBe(429);
  });

  it('starts a flexi window at the first request', async () => {
    const h = harness(Date.UTC(2026, 0, 1, 0, 0, 50));
    const step = create({ type: 'flexi', allow: 1, interval: 1, timeUnit: 'minute' });
    await step(h.ctx());
    h.clock.advance(20_000); // past the calendar minute, within the flexi one
    expect((await faultOf(step, h.ctx())).headers['retry-after']).toBe('40');
    h.clock.advance(40_000);
    await expect(step(h.ctx())).resolves.toBeUndefined();
  });

  it('takes the limit from the product VerifyAPIKey resolved (useProductQuota)', async () => {
    const h = harness();
    const step = create({ useProductQuota: true, identifier: { ref: 'client_id' } });
    const product = {
      client_id: 'k',
      'apiproduct.developer.quota.limit': '1',
      'apiproduct.developer.quota.interval': '1',
      'apiproduct.developer.quota.timeunit': 'Hour',
    };
    const first = h.ctx({ variables: product });
    await step(first);
    expect(first.variables.get('ratelimit.quota.allowed.count')).toBe(1);
    expect((await faultOf(step, h.ctx({ variables: product }))).headers['retry-after']).toBe('3600');
    expect((await faultOf(step, h.ctx())).errorCode).toBe('policies.ratelimit.FailedToResolveAllowCountReference');
  });

  it('raises a 500 fault for refs that do not resolve', async () => {
    const h = harness();
    expect((await faultOf(create({ allow: { ref: 'nope' } }), h.ctx())).errorCode).toBe(
      'policies.ratelimit.FailedToResolveAllowCountReference',
    );
    expect((await faultOf(create({ allow: 1, interval: { ref: 'nope' } }), h.ctx())).errorCode).toBe(
      'policies.ratelimit.FailedToResolveQuotaIntervalReference',
    );
    const badUnit = await faultOf(
      create({ allow: 1, timeUnit: { ref: 'unit' } }),
      h.ctx({ variables: { unit: 'fortnight' } }),
    );
    expect(badUnit).toMatchObject({
      status: 500,
      errorCode: 'policies.ratelimit.FailedToResolveQuotaIntervalTimeUnitReference',
    });
  });

  it('rejects configs the compiler would reject', () => {
    expect(() => create({})).toThrow(/allow is required/);
    expect(() => create({ type: 'flexi', allow: 1, startTime: '2026-01-01T00:00:00Z' })).toThrow(
      /calendar quotas only/,
    );
  });

  it('answers 503 gatehouse.StoreUnavailable when the shared store is down (FailClosed)', async () => {
    const fault = await faultOf(create({ allow: 1 }), harness().ctx({ stores: unavailableStores() }));
    expect(fault).toMatchObject({ status: 503, errorCode: 'gatehouse.StoreUnavailable' });
  });

  it('counts per replica when not distributed', async () => {
    const h = harness();
    const step = create({ allow: 1, distributed: false });
    await step(h.ctx({ stores: unavailableStores() }));
    expect((await faultOf(step, h.ctx({ stores: unavailableStores() }))).status).toBe(429);
  });

  it('counts asynchronously: judged locally, synced to the shared count in the background', async () => {
    const h = harness();
    const step = create({ allow: 3, synchronous: false, asynchronousConfiguration: { syncIntervalInSeconds: 10 } });
    await step(h.ctx()); // the first request syncs at once
    await new Promise((r) => setImmediate(r));
    expect(await h.stores.counters.get(`shop/quota/${hashed('_default')}`)).toBe(1);
    await step(h.ctx());
    await step(h.ctx());
    expect(await h.stores.counters.get(`shop/quota/${hashed('_default')}`)).toBe(1); // not yet synced
    expect((await faultOf(step, h.ctx())).status).toBe(429);
    h.clock.advance(10_000);
    await faultOf(step, h.ctx());
    await new Promise((r) => setImmediate(r));
    expect(await h.stores.counters.get(`shop/quota/${hashed('_default')}`)).toBe(3);
  });
});

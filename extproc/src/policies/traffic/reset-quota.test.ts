import { describe, expect, it } from 'vitest';
import { quotaPolicy } from './quota.ts';
import { resetQuotaPolicy } from './reset-quota.ts';
import { faultOf, harness, unavailableStores } from './traffic.test-support.ts';

describe('ResetQuota', () => {
  const quota = quotaPolicy.create(
    { allow: 2, identifier: { ref: 'client_id' } },
    { namespace: 'shop', name: 'quota' },
  );
  const vars = { variables: { client_id: 'app-1' } };

  it('gives back part of a count, or all of it', async () => {
    const h = harness();
    await quota(h.ctx(vars));
    await quota(h.ctx(vars));
    await faultOf(quota, h.ctx(vars));
    const giveOne = resetQuotaPolicy.create(
      { quota: [{ name: 'quota', identifier: { ref: 'client_id' }, allow: 1 }] },
      { namespace: 'shop', name: 'reset' },
    );
    await giveOne(h.ctx(vars));
    await quota(h.ctx(vars));
    await faultOf(quota, h.ctx(vars));
    const clear = resetQuotaPolicy.create(
      { quota: [{ name: 'quota', identifier: 'app-1' }] },
      { namespace: 'shop', name: 'reset' },
    );
    await clear(h.ctx());
    await quota(h.ctx(vars));
    await quota(h.ctx(vars));
  });

  it('does not touch other namespaces, and fails on a bad amount or a down store', async () => {
    const h = harness();
    await quota(h.ctx(vars));
    await quota(h.ctx(vars));
    await resetQuotaPolicy.create(
      { quota: [{ name: 'quota', identifier: 'app-1' }] },
      { namespace: 'other', name: 'reset' },
    )(h.ctx());
    await faultOf(quota, h.ctx(vars));
    const bad = resetQuotaPolicy.create(
      { quota: [{ name: 'quota', allow: { ref: 'n' } }] },
      { namespace: 'shop', name: 'reset' },
    );
    expect((await faultOf(bad, h.ctx({ variables: { n: 'many' } }))).errorCode).toBe(
      'policies.resetquota.InvalidRLPolicy',
    );
    const down = resetQuotaPolicy.create({ quota: [{ name: 'quota' }] }, { namespace: 'shop', name: 'reset' });
    expect((await faultOf(down, h.ctx({ stores: unavailableStores() }))).status).toBe(503);
  });
});

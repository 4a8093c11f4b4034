import { describe, expect, it } from 'vitest';
import { parseRate, spikeArrestPolicy } from './spike-arrest.ts';
import { faultOf, harness, unavailableStores } from './traffic.test-support.ts';

const meta = { namespace: 'shop', name: 'spike' };

describe('SpikeArrest', () => {
  it('parses rates per second and per minute', () => {
    expect(parseRate('10ps')).toEqual({ count: 10, intervalMs: 1000 });
    expect(parseRate('600pm')).toEqual({ count: 600, intervalMs: 60_000 });
    expect(parseRate('0ps')).toBeUndefined();
    expect(parseRate('10pd')).toBeUndefined();
  });

  it('smooths 10ps into one request per 100 ms', async () => {
    const h = harness();
    const step = spikeArrestPolicy.create({ rate: '10ps' }, meta);
    await step(h.ctx());
    const fault = await faultOf(step, h.ctx());
    expect(fault).toMatchObject({ status: 429, errorCode: 'policies.ratelimit.SpikeArrestViolation' });
    h.clock.advance(99);
    await faultOf(step, h.ctx());
    h.clock.advance(1);
    await expect(step(h.ctx())).resolves.toBeUndefined();
    // Over a whole second, exactly the rate gets through.
    let admitted = 0;
    for (let t = 0; t < 1000; t += 10) {
      h.clock.advance(10);
      try {
        await step(h.ctx());
        admitted++;
      } catch {
        /* arrested */
      }
    }
    expect(admitted).toBe(10);
  });

  it('smooths 30pm into one request per 2 s and sets ratelimit.{name}.failed', async () => {
    const h = harness();
    const step = spikeArrestPolicy.create({ rate: { ref: 'rate' } }, meta);
    const vars = { variables: { rate: '30pm' } };
    await step(h.ctx(vars));
    h.clock.advance(1_999);
    const arrested = h.ctx(vars);
    await faultOf(step, arrested);
    expect(arrested.variables.get('ratelimit.spike.failed')).toBe(true);
    h.clock.advance(1);
    const passed = h.ctx(vars);
    await step(passed);
    expect(passed.variables.get('ratelimit.spike.failed')).toBe(false);
  });

  it('lets the whole rate through at once with useEffectiveCount, refilling over the interval', async () => {
    const h = harness();
    const step = spikeArrestPolicy.create({ rate: '5ps', useEffectiveCount: true }, meta);
    for (let i = 0; i < 5; i++) await step(h.ctx());
    await faultOf(step, h.ctx());
    h.clock.advance(200); // one token back
    await step(h.ctx());
    await faultOf(step, h.ctx());
  });

  it('counts per identifier and by message weight', async () => {
    const h = harness();
    const step = spikeArrestPolicy.create(
      { rate: '4ps', useEffectiveCount: true, identifier: { ref: 'client.ip' }, messageWeight: 3 },
      meta,
    );
    await step(h.ctx({ clientIp: '10.0.0.1' }));
    await step(h.ctx({ clientIp: '10.0.0.2' }));
    await faultOf(step, h.ctx({ clientIp: '10.0.0.1' }));
  });

  it('raises 500 faults for a rate or weight that does not resolve, and 503 when the store is down', async () => {
    const h = harness();
    expect((await faultOf(spikeArrestPolicy.create({ rate: { ref: 'nope' } }, meta), h.ctx())).errorCode).toBe(
      'policies.ratelimit.FailedToResolveSpikeArrestRate',
    );
    expect(
      (
        await faultOf(
          spikeArrestPolicy.create({ rate: '1ps', messageWeight: { ref: 'w' } }, meta),
          h.ctx({ variables: { w: 'x' } }),
        )
      ).errorCode,
    ).toBe('policies.ratelimit.InvalidMessageWeight');
    const down = await faultOf(spikeArrestPolicy.create({ rate: '1ps' }, meta), h.ctx({ stores: unavailableStores() }));
    expect(down).toMatchObject({ status: 503, errorCode: 'gatehouse.StoreUnavailable' });
  });
});

import { describe, expect, it } from 'vitest';
import type { Proxy } from '../../../protos/gen/gatehouse/v1/Proxy.ts';
import { decodeRuntimeSnapshot } from '../config/decode.ts';
import { policyRegistry } from '../policies/registry.ts';
import { unavailableStores } from '../policies/traffic/traffic.test-support.ts';
import { createMemoryStores } from '../stores/memory.ts';
import type { AdmissionOp, Stores } from '../stores/types.ts';
import { compileProxy, type CompiledStep } from './compile.ts';
import { FlowRun } from './engine.ts';
import { hashedKeyPart, makeClock, makePolicyContext } from './policy-context.test-support.ts';

const policy = (type: string, config: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type,
  enabled: true,
  configJson: JSON.stringify(config),
  ...extra,
});

const spike = (extra: Record<string, unknown> = {}) =>
  policy('SpikeArrest', { rate: '2pm', useEffectiveCount: true }, extra);
const quota = (allow: unknown, extra: Record<string, unknown> = {}) =>
  policy('Quota', { allow, interval: 1, timeUnit: 'hour' }, extra);
const isPost = {
  comparison: { operator: 'EQUALS' as const, left: { variable: 'request.verb' }, right: { string: 'POST' } },
};

const PROXY: Proxy = { namespace: 'ns', name: 'p', route: 'ns/p', basePath: '/api' };

function compile(proxy: Partial<Proxy>): CompiledStep[] {
  const snapshot = decodeRuntimeSnapshot({ proxies: [{ ...PROXY, ...proxy }] });
  return compileProxy(snapshot.proxies[0]!, policyRegistry).preFlow.request;
}

const names = (steps: CompiledStep[]) => steps.map((s) => (s.merged ? s.merged.map((m) => m.policy) : s.policy));

describe('merging admission steps', () => {
  it('merges consecutive SpikeArrest and Quota steps into one', () => {
    const steps = compile({
      policies: { spike: spike(), quota: quota(5), other: quota(5, { continueOnError: true }) },
      flows: { preFlow: { request: [{ policy: 'spike' }, { policy: 'quota' }, { policy: 'other' }] } },
    });
    expect(names(steps)).toEqual([['spike', 'quota'], 'other']);
    expect(steps[0]).toMatchObject({ policy: 'spike+quota', type: 'MergedAdmission', continueOnError: false });
  });

  it('does not merge when either step has a condition, continueOnError, or is disabled', () => {
    const flows = (second: Record<string, unknown>, first: Record<string, unknown> = {}) => ({
      preFlow: {
        request: [
          { policy: 'spike', ...first },
          { policy: 'quota', ...second },
        ],
      },
    });
    expect(
      names(compile({ policies: { spike: spike(), quota: quota(5) }, flows: flows({ condition: isPost }) })),
    ).toEqual(['spike', 'quota']);
    // A false condition on the first must skip only that step, never the quota after it.
    expect(
      names(compile({ policies: { spike: spike(), quota: quota(5) }, flows: flows({}, { condition: isPost }) })),
    ).toEqual(['spike', 'quota']);
    expect(
      names(compile({ policies: { spike: spike(), quota: quota(5, { continueOnError: true }) }, flows: flows({}) })),
    ).toEqual(['spike', 'quota']);
    expect(
      names(compile({ policies: { spike: spike({ continueOnError: true }), quota: quota(5) }, flows: flows({}) })),
    ).toEqual(['spike', 'quota']);
    expect(
      names(compile({ policies: { spike: spike(), quota: quota(5, { enabled: false }) }, flows: flows({}) })),
    ).toEqual(['spike']);
    // Quotas that do not count one call per request on the shared store have no admission form.
    expect(
      names(
        compile({
          policies: { spike: spike(), quota: policy('Quota', { allow: 5, synchronous: false }) },
          flows: flows({}),
        }),
      ),
    ).toEqual(['spike', 'quota']);
    expect(
      names(
        compile({
          policies: { spike: spike(), quota: policy('Quota', { allow: 5, distributed: false }) },
          flows: flows({}),
        }),
      ),
    ).toEqual(['spike', 'quota']);
  });

  it('does not merge fault rule steps', () => {
    const snapshot = decodeRuntimeSnapshot({
      proxies: [
        {
          ...PROXY,
          policies: { spike: spike(), quota: quota(5) },
          faultRules: [{ name: 'r', steps: [{ policy: 'spike' }, { policy: 'quota' }] }],
        },
      ],
    });
    expect(names(compileProxy(snapshot.proxies[0]!, policyRegistry).faultRules[0]!.steps)).toEqual(['spike', 'quota']);
  });
});

describe('a merged SpikeArrest + Quota step', () => {
  const proxy = (policies: Proxy['policies']): Partial<Proxy> => ({
    policies,
    flows: { preFlow: { request: [{ policy: 'spike' }, { policy: 'quota' }] } },
  });

  function setup(p: Partial<Proxy>, backing?: Stores) {
    const clock = makeClock(Date.UTC(2026, 0, 1, 10, 30));
    const memory = backing ?? createMemoryStores(clock.now);
    const calls: AdmissionOp[][] = [];
    const stores: Stores = {
      ...memory,
      admit: (ops) => {
        calls.push([...ops]);
        return memory.admit(ops);
      },
    };
    const snapshot = decodeRuntimeSnapshot({ proxies: [{ ...PROXY, ...p }] });
    const compiled = compileProxy(snapshot.proxies[0]!, policyRegistry);
    const request = async (variables: Record<string, unknown> = {}) => {
      const ctx = makePolicyContext({ path: '/api/x', proxy: { ...PROXY, ...p }, stores, now: clock.now, variables });
      const outcome = await new FlowRun(compiled, ctx.exchange).runRequest();
      const vars = ctx.exchange.variables;
      return {
        status: outcome.action === 'respond' ? outcome.response.status : 200,
        errorCode: outcome.action === 'respond' ? outcome.errorCode : undefined,
        retryAfter: outcome.action === 'respond' ? outcome.response.headers.get('retry-after') : undefined,
        faultPolicy: vars.get('fault.policy'),
        spikeFailed: vars.get('ratelimit.spike.failed'),
        quotaUsed: vars.get('ratelimit.quota.used.count'),
      };
    };
    return { clock, memory, calls, request };
  }

  it('makes one store call per request and counts as the steps one by one would', async () => {
    const { calls, memory, request } = setup(proxy({ spike: spike(), quota: quota(5) }));
    expect(await request()).toMatchObject({ status: 200, spikeFailed: false, quotaUsed: 1 });
    expect(await request()).toMatchObject({ status: 200, quotaUsed: 2 });
    // The bucket of 2 is empty: SpikeArrest refuses, and the quota is not counted.
    expect(await request()).toMatchObject({
      status: 429,
      errorCode: 'policies.ratelimit.SpikeArrestViolation',
      faultPolicy: 'spike',
      spikeFailed: true,
      quotaUsed: undefined,
    });
    expect(calls).toHaveLength(3);
    expect(calls[0]!.map((op) => op.kind)).toEqual(['bucket', 'quota']);
    expect(await memory.counters.get(`ns/quota/${hashedKeyPart('_default')}`)).toBe(2);
  });

  it('raises the Quota fault when the quota refuses, after the spike token was taken', async () => {
    const { request } = setup(proxy({ spike: spike(), quota: quota(1) }));
    expect(await request()).toMatchObject({ status: 200 });
    expect(await request()).toMatchObject({
      status: 429,
      errorCode: 'policies.ratelimit.QuotaViolation',
      faultPolicy: 'quota',
      spikeFailed: false,
      quotaUsed: 1,
      retryAfter: '1800',
    });
    // That request took the bucket's second token: the next one is refused by SpikeArrest.
    expect(await request()).toMatchObject({ status: 429, errorCode: 'policies.ratelimit.SpikeArrestViolation' });
  });

  it('a later step that cannot plan fails after the earlier one, unless the earlier one refuses', async () => {
    const { calls, request } = setup(proxy({ spike: spike(), quota: quota({ ref: 'limit' }) }));
    expect(await request()).toMatchObject({
      status: 500,
      errorCode: 'policies.ratelimit.FailedToResolveAllowCountReference',
      faultPolicy: 'quota',
      spikeFailed: false,
    });
    expect(calls.map((c) => c.map((op) => op.kind))).toEqual([['bucket']]);
    expect(await request({ limit: 3 })).toMatchObject({ status: 200, quotaUsed: 1 });
    expect(await request()).toMatchObject({
      status: 429,
      errorCode: 'policies.ratelimit.SpikeArrestViolation',
      faultPolicy: 'spike',
    });
  });

  it('a store that is down answers 503 as the first step', async () => {
    const { request } = setup(proxy({ spike: spike(), quota: quota(5) }), unavailableStores());
    expect(await request()).toMatchObject({
      status: 503,
      errorCode: 'gatehouse.StoreUnavailable',
      faultPolicy: 'spike',
    });
  });
});

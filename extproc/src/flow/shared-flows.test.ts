// Shared flows, FlowCallout and flow hooks in the engine (docs/policies.md#flowcallout,
// docs/architecture.md#the-flow-engine): the order of hooks around the proxy's flows, parameters,
// conditions inside a shared flow, faults going to the caller's fault rules, cycles and missing flows.
import { describe, expect, it } from 'vitest';
import type { RuntimeSnapshot } from '../../../protos/gen/gatehouse/v1/RuntimeSnapshot.ts';
import type { SharedFlow } from '../../../protos/gen/gatehouse/v1/SharedFlow.ts';
import { decodeRuntimeSnapshot } from '../config/decode.ts';
import { loadSnapshot, type PolicyCatalog } from '../config/snapshot.ts';
import { flowCalloutPolicy } from '../policies/extension/flow-callout.ts';
import { ProxyInvalidError } from './compile.ts';
import { FlowRun } from './engine.ts';
import { PolicyFault } from './faults.ts';
import { createResponseMessage } from './message.ts';
import { makePolicyContext } from './policy-context.test-support.ts';
import type { PolicyImplementation } from './types.ts';

function catalog(trace: string[]): PolicyCatalog {
  const list: PolicyImplementation<never>[] = [
    {
      type: 'Trace',
      create: (_c, meta) => (ctx) => {
        trace.push(`${ctx.phase}:${meta.namespace}/${meta.name}`);
      },
    },
    {
      type: 'Fail',
      create: (_c, meta) => (ctx) => {
        trace.push(`${ctx.phase}:${meta.namespace}/${meta.name}`);
        throw new PolicyFault({ status: 401, errorCode: 'oauth.v2.InvalidApiKey', faultString: 'nope' });
      },
    },
    {
      type: 'Record',
      // Records a flow variable, to see parameters.
      create: (config: never, meta) => (ctx) => {
        trace.push(`${meta.name}=${String(ctx.variables.get((config as { variable: string }).variable))}`);
      },
    },
    {
      type: 'ReadBody',
      create: () => () => undefined,
    },
    flowCalloutPolicy,
  ];
  return {
    registry: new Map(list.map((p) => [p.type, p])),
    bodyNeeds: (type, _config, phase) => type === 'ReadBody' && phase === 'request',
  };
}

const policy = (type: string, config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  type,
  enabled: true,
  configJson: JSON.stringify(config),
  ...extra,
});
const callout = (flow: string, extra: Record<string, unknown> = {}, parameters?: unknown[]) =>
  policy('FlowCallout', { sharedFlowBundle: flow, ...(parameters ? { parameters } : {}) }, extra);
const trace1 = (name: string) => ({ policies: { [name]: policy('Trace') }, steps: [{ policy: name }] });

function setup(snapshot: RuntimeSnapshot, trace: string[] = []) {
  const loaded = loadSnapshot(decodeRuntimeSnapshot(snapshot), catalog(trace));
  const compiled = loaded.routes.get('shop/orders')!;
  const ctx = makePolicyContext({ path: '/orders/1', proxy: { basePath: '/orders' } });
  const run = new FlowRun(compiled, ctx.exchange);
  const respond = async () => {
    ctx.exchange.response = createResponseMessage({ status: 200, headers: {}, body: Buffer.from('ok') });
    return run.runResponse();
  };
  return { trace, run, respond, compiled, exchange: ctx.exchange, loaded };
}

const proxy = (extra: Record<string, unknown> = {}) => ({
  namespace: 'shop',
  name: 'orders',
  route: 'shop/orders',
  basePath: '/orders',
  policies: { a: policy('Trace'), b: policy('Trace') },
  flows: {
    preFlow: { request: [{ policy: 'a' }], response: [{ policy: 'a' }] },
    postFlow: { request: [{ policy: 'b' }], response: [{ policy: 'b' }] },
  },
  ...extra,
});

const hookedDataPlane = {
  namespace: 'platform',
  name: 'edge',
  region: 'eu',
  flowHooks: {
    preProxy: 'platform/pre-proxy',
    preTarget: 'platform/pre-target',
    postTarget: 'platform/post-target',
    postProxy: 'platform/post-proxy',
  },
};
const hookFlows = ['pre-proxy', 'pre-target', 'post-target', 'post-proxy'].map((name) => ({
  namespace: 'platform',
  name,
  ...trace1(name),
}));

describe('flow hooks', () => {
  it("run around the proxy's flows: preProxy, preFlow, postFlow, preTarget; postTarget, preFlow, postFlow, postProxy", async () => {
    const { trace, run, respond } = setup({
      proxies: [proxy()],
      sharedFlows: hookFlows,
      dataPlanes: [hookedDataPlane],
    });
    expect(await run.runRequest()).toEqual({ action: 'continue' });
    expect(await respond()).toEqual({ action: 'continue' });
    expect(trace).toEqual([
      // The hook's policies are its own namespace's; the proxy's are the proxy's.
      'request:platform/pre-proxy',
      'request:shop/a',
      'request:shop/b',
      'request:platform/pre-target',
      'response:platform/post-target',
      'response:shop/a',
      'response:shop/b',
      'response:platform/post-proxy',
    ]);
  });

  it('a fault in a hook goes to the proxy fault rules, and the proxy flows do not run', async () => {
    const { trace, run } = setup({
      proxies: [
        proxy({
          policies: { a: policy('Trace'), b: policy('Trace'), handle: policy('Trace') },
          faultRules: [
            {
              name: 'bad-key',
              condition: {
                comparison: {
                  operator: 'EQUALS',
                  left: { variable: 'fault.name' },
                  right: { string: 'InvalidApiKey' },
                },
              },
              steps: [{ policy: 'handle' }],
            },
          ],
        }),
      ],
      sharedFlows: [
        { namespace: 'platform', name: 'guard', policies: { deny: policy('Fail') }, steps: [{ policy: 'deny' }] },
      ],
      dataPlanes: [{ ...hookedDataPlane, flowHooks: { preProxy: 'platform/guard' } }],
    });
    const outcome = await run.runRequest();
    expect(outcome).toMatchObject({ action: 'respond', errorCode: 'oauth.v2.InvalidApiKey' });
    expect(trace).toEqual(['request:platform/deny', 'response:shop/handle']);
  });

  it('a hook naming a SharedFlow the snapshot lacks fails every request closed with flow.SharedFlowNotFound', async () => {
    const { trace, run } = setup({
      proxies: [proxy()],
      dataPlanes: [{ ...hookedDataPlane, flowHooks: { preProxy: 'platform/gone' } }],
    });
    const outcome = await run.runRequest();
    expect(outcome).toMatchObject({ action: 'respond', errorCode: 'flow.SharedFlowNotFound' });
    if (outcome.action !== 'respond') throw new Error('unreachable');
    expect(outcome.response.status).toBe(500);
    expect(outcome.response.body.text()).toContain('Shared Flow gone Not Found');
    expect(trace).toEqual([]);
  });

  it('a snapshot of several DataPlanes with hooks is refused: whose hooks would run is unknown', () => {
    expect(() =>
      setup({
        proxies: [proxy()],
        sharedFlows: hookFlows,
        dataPlanes: [hookedDataPlane, { namespace: 'other', name: 'dp' }],
      }),
    ).toThrow(/several DataPlanes with flow hooks/);
  });

  it("a hook's body needs are the proxy's", () => {
    const { compiled } = setup({
      proxies: [proxy()],
      sharedFlows: [
        { namespace: 'platform', name: 'scan', policies: { read: policy('ReadBody') }, steps: [{ policy: 'read' }] },
      ],
      dataPlanes: [{ ...hookedDataPlane, flowHooks: { preTarget: 'platform/scan' } }],
    });
    expect(compiled.needsBody).toEqual({ request: true, response: false });
  });
});

describe('FlowCallout', () => {
  const sharedFlow: SharedFlow = {
    namespace: 'shop',
    name: 'common',
    policies: { greet: policy('Record', { variable: 'greeting' }), t: policy('Trace') },
    steps: [
      { policy: 'greet' },
      {
        policy: 't',
        condition: {
          comparison: { operator: 'EQUALS', left: { variable: 'greeting' }, right: { string: 'skip' } },
        },
      },
    ],
  };

  it('sets its parameters, runs the shared flow (with its conditions) at the step, then goes on', async () => {
    const { trace, run } = setup({
      proxies: [
        proxy({
          policies: {
            a: policy('Trace'),
            b: policy('Trace'),
            fc: callout('common', {}, [
              { name: 'greeting', ref: 'request.verb' },
              { name: 'other', value: 'x' },
            ]),
          },
          flows: { preFlow: { request: [{ policy: 'a' }, { policy: 'fc' }, { policy: 'b' }] } },
        }),
      ],
      sharedFlows: [sharedFlow],
    });
    expect(await run.runRequest()).toEqual({ action: 'continue' });
    expect(trace).toEqual(['request:shop/a', 'greet=GET', 'request:shop/b']);
  });

  it("a fault in the shared flow is the caller's: its fault rules run; continueOnError on the FlowCallout goes on", async () => {
    const failing = {
      namespace: 'shop',
      name: 'failing',
      policies: { deny: policy('Fail') },
      steps: [{ policy: 'deny' }],
    };
    const stops = setup({
      proxies: [
        proxy({
          policies: { a: policy('Trace'), b: policy('Trace'), fc: callout('failing') },
          flows: { preFlow: { request: [{ policy: 'fc' }, { policy: 'b' }] } },
          defaultFaultRule: { steps: [{ policy: 'a' }] },
        }),
      ],
      sharedFlows: [failing],
    });
    expect(await stops.run.runRequest()).toMatchObject({ action: 'respond', errorCode: 'oauth.v2.InvalidApiKey' });
    expect(stops.trace).toEqual(['request:shop/deny', 'response:shop/a']);
    expect(stops.exchange.variables.get('fault.policy')).toBe('deny');

    const goesOn = setup({
      proxies: [
        proxy({
          policies: { b: policy('Trace'), fc: callout('failing', { continueOnError: true }) },
          flows: { preFlow: { request: [{ policy: 'fc' }, { policy: 'b' }] } },
        }),
      ],
      sharedFlows: [failing],
    });
    expect(await goesOn.run.runRequest()).toEqual({ action: 'continue' });
    expect(goesOn.trace).toEqual(['request:shop/deny', 'request:shop/b']);
    expect(goesOn.exchange.variables.get('error.code')).toBe('oauth.v2.InvalidApiKey');
  });

  it('a shared flow may call another; a cycle or a chain deeper than the bound invalidates the snapshot', async () => {
    const chain = (n: number): SharedFlow[] =>
      Array.from({ length: n }, (_, i) => {
        const last = i === n - 1;
        const name = last ? 't' : 'next';
        return {
          namespace: 'shop',
          name: `f${i}`,
          policies: { [name]: last ? policy('Trace') : callout(`f${i + 1}`) },
          steps: [{ policy: name }],
        };
      });
    const caller = proxy({
      policies: { fc: callout('f0') },
      flows: { preFlow: { request: [{ policy: 'fc' }] } },
    });
    const ok = setup({ proxies: [caller], sharedFlows: chain(5) });
    expect(await ok.run.runRequest()).toEqual({ action: 'continue' });
    expect(ok.trace).toEqual(['request:shop/t']);

    expect(() => setup({ proxies: [caller], sharedFlows: chain(6) })).toThrow(/nest deeper than 5/);
    const cycle: SharedFlow[] = [
      { namespace: 'shop', name: 'x', policies: { go: callout('y') }, steps: [{ policy: 'go' }] },
      { namespace: 'shop', name: 'y', policies: { back: callout('x') }, steps: [{ policy: 'back' }] },
    ];
    expect(() => setup({ proxies: [caller], sharedFlows: cycle })).toThrow(ProxyInvalidError);
    expect(() => setup({ proxies: [caller], sharedFlows: cycle })).toThrow(/cycle shop\/x -> shop\/y -> shop\/x/);
  });

  it('only finds SharedFlows of its own namespace', async () => {
    const { run } = setup({
      proxies: [proxy({ policies: { fc: callout('guard') }, flows: { preFlow: { request: [{ policy: 'fc' }] } } })],
      sharedFlows: [{ namespace: 'platform', name: 'guard', ...trace1('t') }],
    });
    expect(await run.runRequest()).toMatchObject({ action: 'respond', errorCode: 'flow.SharedFlowNotFound' });
  });

  it('an edited shared flow recompiles the proxies calling it; an unchanged one reuses them', () => {
    const trace: string[] = [];
    const caller = proxy({ policies: { fc: callout('common') }, flows: { preFlow: { request: [{ policy: 'fc' }] } } });
    const cat = catalog(trace);
    const first = loadSnapshot(decodeRuntimeSnapshot({ proxies: [caller], sharedFlows: [sharedFlow] }), cat);
    const same = loadSnapshot(decodeRuntimeSnapshot({ proxies: [caller], sharedFlows: [sharedFlow] }), cat, first);
    expect(same.routes.get('shop/orders')).toBe(first.routes.get('shop/orders'));
    const edited = loadSnapshot(
      decodeRuntimeSnapshot({ proxies: [caller], sharedFlows: [{ ...sharedFlow, steps: [{ policy: 't' }] }] }),
      cat,
      same,
    );
    expect(edited.routes.get('shop/orders')).not.toBe(first.routes.get('shop/orders'));
  });
});

// The timeline a debug session records (docs/operations.md#debug-sessions), from the engine's
// FlowObserver: flow hooks and FlowCallout shared flows, fault rules and the default one,
// continueOnError, PostClientFlow; and how the snapshot indexes the sessions.
import { describe, expect, it } from 'vitest';
import type { RuntimeSnapshot } from '../../../protos/gen/gatehouse/v1/RuntimeSnapshot.ts';
import { decodeRuntimeSnapshot, SnapshotInvalidError } from '../config/decode.ts';
import { loadSnapshot, type PolicyCatalog } from '../config/snapshot.ts';
import { FlowRun } from '../flow/engine.ts';
import { PolicyFault } from '../flow/faults.ts';
import { createResponseMessage } from '../flow/message.ts';
import { makePolicyContext } from '../flow/policy-context.test-support.ts';
import type { PolicyImplementation } from '../flow/types.ts';
import { flowCalloutPolicy } from '../policies/extension/flow-callout.ts';
import { TransactionRecorder } from './recorder.ts';

const list: PolicyImplementation<never>[] = [
  { type: 'Noop', create: () => (ctx) => void ctx.variables.get('request.verb') },
  {
    type: 'Fail',
    create: () => () => {
      throw new PolicyFault({ status: 401, errorCode: 'oauth.v2.InvalidApiKey', faultString: 'nope' });
    },
  },
  {
    type: 'SetVar',
    create: () => (ctx) => {
      ctx.variables.set('flow.mine', 'v');
    },
  },
  {
    type: 'Unset',
    create: () => (ctx) => {
      ctx.variables.remove('flow');
    },
  },
  flowCalloutPolicy,
];
const catalog: PolicyCatalog = { registry: new Map(list.map((p) => [p.type, p])), bodyNeeds: () => false };
const policy = (type: string, config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  type,
  enabled: true,
  configJson: JSON.stringify(config),
  ...extra,
});

function run(snapshot: RuntimeSnapshot) {
  const loaded = loadSnapshot(decodeRuntimeSnapshot(snapshot), catalog);
  const compiled = loaded.routes.get('shop/orders')!;
  const ctx = makePolicyContext({ path: '/orders/1', proxy: { basePath: '/orders' } });
  const recorder = new TransactionRecorder(Date.now());
  const { exchange } = ctx;
  exchange.observeVariables(recorder.variables(exchange.variables, exchange.request, () => exchange.response));
  const flow = new FlowRun(compiled, exchange, recorder);
  const points = () => recorder.points.map((p) => [p.kind, p.phase, p.flow, p.policy, p.outcome].join(' ').trim());
  return { flow, recorder, exchange, points, loaded };
}

const orders = (extra: Record<string, unknown>) => ({
  namespace: 'shop',
  name: 'orders',
  route: 'shop/orders',
  basePath: '/orders',
  ...extra,
});

describe('the timeline', () => {
  it('names hooks and FlowCallouts as shared flows, and records the variables a step set and removed', async () => {
    const { flow, exchange, points, recorder } = run({
      dataPlanes: [{ namespace: 'platform', name: 'edge', region: 'eu', flowHooks: { preProxy: 'platform/guard' } }],
      sharedFlows: [
        { namespace: 'platform', name: 'guard', policies: { g: policy('Noop') }, steps: [{ policy: 'g' }] },
        { namespace: 'shop', name: 'common', policies: { s: policy('SetVar') }, steps: [{ policy: 's' }] },
      ],
      proxies: [
        orders({
          policies: { call: policy('FlowCallout', { sharedFlowBundle: 'common' }), unset: policy('Unset') },
          flows: { preFlow: { request: [{ policy: 'call' }], response: [{ policy: 'unset' }] } },
        }),
      ],
    });
    await flow.runRequest();
    exchange.response = createResponseMessage({ status: 200, headers: {}, body: Buffer.from('ok') });
    await flow.runResponse();
    expect(points()).toEqual([
      'FlowEntered ProxyRequest SharedFlow/guard',
      'StepExecuted ProxyRequest SharedFlow/guard g executed',
      'FlowEntered ProxyRequest PreFlow',
      'StepExecuted ProxyRequest PreFlow call executed',
      'FlowEntered ProxyRequest SharedFlow/common',
      'StepExecuted ProxyRequest SharedFlow/common s executed',
      'FlowEntered ProxyResponse PreFlow',
      'StepExecuted ProxyResponse PreFlow unset executed',
    ]);
    expect(recorder.points[1]!.variablesRead).toEqual([{ name: 'request.verb', value: 'GET' }]);
    expect(recorder.points[5]!.variablesSet).toEqual([{ name: 'flow.mine', value: 'v' }]);
    expect(recorder.points[7]!.variablesRemoved).toEqual([{ name: 'flow.mine', value: '' }]);
  });

  it('records the fault, the matching fault rule and the default one, continueOnError and PostClientFlow', async () => {
    const { flow, points, recorder } = run({
      proxies: [
        orders({
          policies: {
            soft: policy('Fail', {}, { continueOnError: true }),
            hard: policy('Fail'),
            handle: policy('Noop'),
            always: policy('Noop'),
            after: policy('Noop'),
          },
          flows: {
            preFlow: { request: [{ policy: 'soft' }, { policy: 'hard' }] },
            postClientFlow: { response: [{ policy: 'after' }] },
          },
          faultRules: [{ name: 'on-key', steps: [{ policy: 'handle' }] }],
          defaultFaultRule: { alwaysEnforce: true, steps: [{ policy: 'always' }] },
        }),
      ],
    });
    const outcome = await flow.runRequest();
    expect(outcome).toMatchObject({ action: 'respond', errorCode: 'oauth.v2.InvalidApiKey' });
    await flow.runPostClient();
    expect(points()).toEqual([
      'FlowEntered ProxyRequest PreFlow',
      'StepExecuted ProxyRequest PreFlow soft continued',
      'StepExecuted ProxyRequest PreFlow hard fault',
      'FaultRaised ProxyRequest PreFlow hard fault',
      'FlowEntered Fault on-key',
      'StepExecuted Fault on-key handle executed',
      'FlowEntered Fault DefaultFaultRule',
      'StepExecuted Fault DefaultFaultRule always executed',
      'FlowEntered PostClientFlow PostClientFlow',
      'StepExecuted PostClientFlow PostClientFlow after executed',
    ]);
    expect(recorder.points[2]!.faultCode).toBe('oauth.v2.InvalidApiKey');
  });
});

describe('sessions in the snapshot', () => {
  const session = (extra: Record<string, unknown> = {}) => ({
    id: 'u1',
    namespace: 'shop',
    name: 't',
    proxy: 'orders',
    count: 1,
    expiresAtMs: '9999999999999',
    ...extra,
  });
  const base = (sessions: unknown[]): RuntimeSnapshot =>
    ({
      proxies: [
        orders({ policies: {}, flows: {} }),
        { ...orders({ policies: {}, flows: {} }), namespace: 'other', route: 'other/orders' },
      ],
      debugSessions: sessions,
    }) as RuntimeSnapshot;

  it('indexes sessions by the route of their namespace and proxy; none: no index at all', () => {
    const loaded = loadSnapshot(
      decodeRuntimeSnapshot(base([session(), session({ id: 'u2', proxy: 'absent' })])),
      catalog,
    );
    expect([...loaded.debug!.byRoute.keys()]).toEqual(['shop/orders']);
    expect(loadSnapshot(decodeRuntimeSnapshot(base([])), catalog).debug).toBeUndefined();
    expect(loadSnapshot(decodeRuntimeSnapshot(base([session({ proxy: 'absent' })])), catalog).debug).toBeUndefined();
  });

  it('refuses a filter that does not compile, naming the session', () => {
    const filter = {
      comparison: { operator: 'JAVA_REGEX', left: { variable: 'a' }, right: { string: '(' } },
      source: 'a ~~ "("',
    };
    expect(() => loadSnapshot(decodeRuntimeSnapshot(base([session({ filter })])), catalog)).toThrow(
      SnapshotInvalidError,
    );
    expect(() => loadSnapshot(decodeRuntimeSnapshot(base([session({ filter })])), catalog)).toThrow(
      /debugSessions\[0\] \(shop\/t\)\.filter/,
    );
  });
});

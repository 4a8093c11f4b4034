// SharedFlows in the compiler (docs/policies.md#flowcallout): the depth bound, what the admission
// webhook refuses about one SharedFlow alone, and hooks naming only the DataPlane's namespace. The
// golden scenario 17-shared-flows holds cycles, missing flows and per-DataPlane views.
import { describe, expect, it } from 'vitest';
import { compile } from './compile.ts';
import { validateObject } from './validate-object.ts';

const obj = (kind: string, namespace: string, name: string, spec: unknown) => ({
  object: { apiVersion: 'gatehouse.dev/v1alpha1', kind, metadata: { name, namespace }, spec },
});
const callout = (name: string, flow: string) =>
  obj('ApiPolicy', 'shop', name, { type: 'FlowCallout', flowCallout: { sharedFlowBundle: flow } });
const errorsOf = (objects: ReturnType<typeof obj>[]) =>
  compile(objects, { credentialHashKey: 'k' }).errors.map((e) => `${e.kind}/${e.name} ${e.field}: ${e.message}`);

/** SharedFlows f0 -> f1 -> ... -> f(n-1), the last one running a SpikeArrest. */
function chain(n: number) {
  const out = [obj('ApiPolicy', 'shop', 'limit', { type: 'SpikeArrest', spikeArrest: { rate: '10ps' } })];
  for (let i = 0; i < n; i++) {
    const last = i === n - 1;
    if (!last) out.push(callout(`call-f${i + 1}`, `f${i + 1}`));
    out.push(obj('SharedFlow', 'shop', `f${i}`, { steps: [{ policy: last ? 'limit' : `call-f${i + 1}` }] }));
  }
  return out;
}

describe('SharedFlow compile', () => {
  it('accepts FlowCallouts 5 SharedFlows deep and refuses a 6th level, naming the flow', () => {
    expect(errorsOf(chain(5))).toEqual([]);
    const errors = errorsOf(chain(6));
    expect(errors).toEqual(['SharedFlow/f0 spec.steps: FlowCallouts from here nest 6 SharedFlows deep; at most 5']);
  });

  it('a proxy calling a refused SharedFlow is ResolvedRefs=False, naming its step, policy and the flow', () => {
    const errors = errorsOf([
      ...chain(6),
      callout('call-f0', 'f0'),
      obj('ApiProxy', 'shop', 'orders', {
        basePath: '/orders',
        target: { url: 'http://127.0.0.1:9090' },
        flows: { postFlow: { response: [{ policy: 'call-f0' }] } },
      }),
    ]);
    expect(errors).toContain(
      'ApiProxy/orders spec.flows.postFlow.response[0].policy: ApiPolicy "call-f0" (FlowCallout) spec.flowCallout.sharedFlowBundle: SharedFlow "f0" is not accepted',
    );
  });

  it('a FlowCallout finds no SharedFlow of another namespace', () => {
    const errors = errorsOf([
      obj('SharedFlow', 'other', 'common', { steps: [] }),
      callout('call', 'common'),
      obj('SharedFlow', 'shop', 'mine', { steps: [{ policy: 'call' }] }),
    ]);
    expect(errors).toEqual([
      'SharedFlow/mine spec.steps[0].policy: ApiPolicy "call" (FlowCallout) spec.flowCallout.sharedFlowBundle: SharedFlow "common" not found in namespace shop',
    ]);
  });

  it('the admission webhook refuses what is wrong inside a SharedFlow and lets references wait', () => {
    const sharedFlow = (spec: unknown) => obj('SharedFlow', 'shop', 'f', spec).object;
    expect(validateObject(sharedFlow({ steps: [{ policy: 'not-yet' }] })).errors).toEqual([]);
    const bad = validateObject(sharedFlow({ steps: [{ policy: 'p', condition: 'request.verb = ' }] })).errors;
    expect(bad.map((d) => d.field)).toEqual(['spec.steps[0].condition']);
    expect(validateObject(sharedFlow({ steps: [{ policy: 'Not A Name' }] })).errors.map((d) => d.field)).toEqual([
      'spec.steps[0].policy',
    ]);
  });

  it('a DataPlane hook names a SharedFlow of its own namespace only', () => {
    const result = compile(
      [
        obj('SharedFlow', 'tenant', 'guard', { steps: [] }),
        obj('DataPlane', 'platform', 'edge', {
          listeners: [{ name: 'http', port: 8080, allowedRoutes: { namespaces: { from: 'All' } } }],
          flowHooks: { preProxy: { name: 'guard' } },
        }),
        obj('ApiProxy', 'tenant', 'orders', { basePath: '/orders', target: { url: 'http://127.0.0.1:9090' } }),
      ],
      { credentialHashKey: 'k' },
    );
    expect(result.errors.map((e) => `${e.kind}/${e.name} ${e.field}: ${e.message}`)).toEqual([
      'DataPlane/edge spec.flowHooks.preProxy.name: SharedFlow "guard" not found in namespace platform',
    ]);
    const view = result.snapshot.dataPlanes[0]!.runtime;
    // Served with the hook in place (it fails closed in extproc), and without the tenant's flow.
    expect(view.dataPlanes?.[0]?.flowHooks).toEqual({ preProxy: 'platform/guard' });
    expect(view.sharedFlows ?? []).toEqual([]);
  });
});

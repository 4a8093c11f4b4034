// GH_WARN_JAVA_CALLOUT_HOST (docs/policies.md#javacallout): a JavaCallout served by a DataPlane that runs
// no Java callout host (spec.javaCallouts unset) would fail every request with
// steps.javacallout.ExecutionError, so compile warns on the ApiPolicy, naming the DataPlane.
import { describe, expect, it } from 'vitest';
import { compile } from './compile.ts';

const obj = (kind: string, namespace: string, name: string, spec: unknown) => ({
  object: { apiVersion: 'gatehouse.dev/v1alpha1', kind, metadata: { name, namespace }, spec },
});
const host = { image: 'ghcr.io/example/java-callout-host:1', configMap: 'callouts' };
const dataPlane = (name: string, extra: Record<string, unknown> = {}, from = 'All') =>
  obj('DataPlane', 'platform', name, {
    listeners: [{ name: 'http', port: 8080, allowedRoutes: { namespaces: { from } } }],
    ...extra,
  });
const java = (name: string, enabled = true) =>
  obj('ApiPolicy', 'shop', name, {
    type: 'JavaCallout',
    ...(enabled ? {} : { enabled: false }),
    javaCallout: { className: 'com.example.callouts.Signer', resourceURL: 'java://signer-1.0.jar' },
  });
const proxy = (name: string, steps: string[], namespace = 'shop') =>
  obj('ApiProxy', namespace, name, {
    basePath: `/${name}`,
    target: { url: 'http://127.0.0.1:9090' },
    flows: { preFlow: { request: steps.map((policy) => ({ policy })) } },
  });

function warnings(objects: ReturnType<typeof obj>[]) {
  const result = compile(objects, { credentialHashKey: 'k' });
  expect(result.errors).toEqual([]);
  return result.warnings
    .filter((w) => w.code === 'GH_WARN_JAVA_CALLOUT_HOST')
    .map((w) => `${w.kind}/${w.namespace}/${w.name} ${w.field}: ${w.message}`);
}

describe('GH_WARN_JAVA_CALLOUT_HOST', () => {
  it('warns on the ApiPolicy, naming the DataPlane without spec.javaCallouts, once per policy and DataPlane', () => {
    expect(warnings([dataPlane('edge'), java('sign'), proxy('orders', ['sign']), proxy('carts', ['sign'])])).toEqual([
      'ApiPolicy/shop/sign spec.javaCallout: DataPlane platform/edge serves this JavaCallout but runs no Java callout host (spec.javaCallouts unset): every request reaching it fails with steps.javacallout.ExecutionError',
    ]);
  });

  it('stays quiet when the DataPlane runs the host, the policy is disabled or no flow runs it', () => {
    expect(warnings([dataPlane('edge', { javaCallouts: host }), java('sign'), proxy('orders', ['sign'])])).toEqual([]);
    expect(warnings([dataPlane('edge'), java('sign', false), proxy('orders', ['sign'])])).toEqual([]);
    expect(warnings([dataPlane('edge'), java('sign'), proxy('orders', [])])).toEqual([]);
  });

  it('names only the DataPlanes that serve the proxy and lack the host', () => {
    const objects = [
      dataPlane('with-host', { javaCallouts: host }),
      dataPlane('bare'),
      // Admits only its own namespace: it serves no shop proxy, so its lack of a host does not matter.
      dataPlane('platform-only', {}, 'Same'),
      java('sign'),
      proxy('orders', ['sign']),
    ];
    expect(warnings(objects)).toEqual([expect.stringContaining('DataPlane platform/bare serves')]);
  });

  it('follows FlowCallouts into SharedFlows and a DataPlane hook', () => {
    const call = obj('ApiPolicy', 'shop', 'call-common', {
      type: 'FlowCallout',
      flowCallout: { sharedFlowBundle: 'common' },
    });
    const viaProxy = [
      dataPlane('edge'),
      java('sign'),
      call,
      obj('SharedFlow', 'shop', 'common', { steps: [{ policy: 'sign' }] }),
      proxy('orders', ['call-common']),
    ];
    expect(warnings(viaProxy)).toEqual([expect.stringMatching(/^ApiPolicy\/shop\/sign .*platform\/edge/)]);

    const hooked = [
      dataPlane('edge', { flowHooks: { preProxy: { name: 'guard' } } }),
      obj('ApiPolicy', 'platform', 'stamp', {
        type: 'JavaCallout',
        javaCallout: { className: 'com.example.Stamp', resourceURL: 'java://stamp.jar' },
      }),
      obj('SharedFlow', 'platform', 'guard', { steps: [{ policy: 'stamp' }] }),
      proxy('orders', []),
    ];
    expect(warnings(hooked)).toEqual([expect.stringMatching(/^ApiPolicy\/platform\/stamp .*platform\/edge/)]);
  });

  it('does not warn without DataPlane objects (folder mode and gatehouse dev start the host themselves)', () => {
    expect(warnings([java('sign'), proxy('orders', ['sign'])])).toEqual([]);
  });
});

// Policy resources from ConfigMaps against a real kube-apiserver, as the chart's restricted identity
// (docs/policies.md#resources-from-a-configmap): an XSLTransform names its stylesheet by configMapRef;
// the operator puts the text in the snapshot, an edit of the ConfigMap reaches the snapshot, and a
// ConfigMap of another namespace, an unlabelled one or a missing key leaves ResolvedRefs False naming
// the field while the last accepted text keeps serving. The CRD's CEL refuses both inline and configMapRef.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeOperator, type KubeOperator } from '../../operator/src/kube-operator.ts';
import { silentLog } from '../../operator/src/xds/control-plane.test-support.ts';
import { Cluster, conditionOf, eventually, hasConditions, operatorKubeConfig, type Obj } from './kube.ts';

const api = 'gatehouse.dev/v1alpha1';
const obj = (kind: string, namespace: string, name: string, spec: Record<string, unknown>): Obj => ({
  apiVersion: api,
  kind,
  metadata: { name, namespace },
  spec,
});

const stylesheet = (element: string) =>
  `<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">` +
  `<xsl:template match="/"><${element}><xsl:value-of select="/in"/></${element}></xsl:template></xsl:stylesheet>`;

const configMap = (namespace: string, name: string, data: Record<string, string>, labelled = true): Obj => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, ...(labelled ? { labels: { 'gatehouse.dev/resource': 'true' } } : {}) },
  data,
});

describe('policy resources from ConfigMaps in a cluster', () => {
  const cluster = new Cluster();
  let ns = '';
  let elsewhere = '';
  let operator: KubeOperator;

  /** The XSLTransform config the served snapshot carries for policy `name` of proxy cm-orders. */
  function servedConfig(name: string): Record<string, unknown> | undefined {
    const runtime = operator.snapshots.current()?.snapshot.runtime as
      | { proxies?: { namespace: string; name: string; policies?: Record<string, { configJson: string }> }[] }
      | undefined;
    const proxy = runtime?.proxies?.find((p) => p.namespace === ns && p.name === 'cm-orders');
    const policy = proxy?.policies?.[name];
    return policy ? (JSON.parse(policy.configJson) as Record<string, unknown>) : undefined;
  }

  beforeAll(async () => {
    ns = await cluster.operatorNamespace('cmres');
    elsewhere = await cluster.namespace('cmres-other');
    operator = await startKubeOperator({
      kc: operatorKubeConfig(),
      log: silentLog,
      namespace: ns,
      watchNamespace: ns,
      identity: 'cmres-0',
      host: '127.0.0.1',
      xdsPort: 0,
      debounceMs: 20,
      dataPlane: {
        xds: { host: 'gatehouse-xds', port: 18000 },
        envoyImage: 'envoyproxy/envoy:test',
        gatehouseImage: 'gatehouse:test',
      },
    });
    await eventually('the operator leads', () => operator.isLeader());
  });

  afterAll(async () => {
    await operator?.stop();
  });

  it('serves the text, follows an edit, and says which field when the ConfigMap or key is missing', async () => {
    await cluster.apply(configMap(ns, 'cm-xsl', { 'upper.xsl': stylesheet('first') }));
    await cluster.apply(
      obj('ApiPolicy', ns, 'cm-upper', {
        type: 'XSLTransform',
        xslTransform: { resourceURL: 'xsl://upper.xsl', configMapRef: { name: 'cm-xsl', key: 'upper.xsl' } },
      }),
    );
    await cluster.apply(
      obj('ApiProxy', ns, 'cm-orders', {
        basePath: `/cm-orders-${ns}`,
        target: { url: 'http://127.0.0.1:9090' },
        flows: { preFlow: { request: [{ policy: 'cm-upper' }] } },
      }),
    );
    await eventually('the policy is Ready', async () =>
      hasConditions(await cluster.get('ApiPolicy', ns, 'cm-upper'), { Accepted: 'True', ResolvedRefs: 'True' }),
    );
    await eventually(
      'the snapshot carries the text inline',
      () => servedConfig('cm-upper')?.stylesheet === stylesheet('first'),
    );
    expect(servedConfig('cm-upper')).not.toHaveProperty('configMapRef');

    // An edit of the ConfigMap alone (the policy's generation stays) recompiles.
    const generation = (await cluster.get('ApiPolicy', ns, 'cm-upper'))?.metadata.generation;
    await cluster.apply(configMap(ns, 'cm-xsl', { 'upper.xsl': stylesheet('second') }));
    await eventually('the edit is served', () => servedConfig('cm-upper')?.stylesheet === stylesheet('second'));
    expect((await cluster.get('ApiPolicy', ns, 'cm-upper'))?.metadata.generation).toBe(generation);

    // A ConfigMap of that name in another namespace is not the policy's: not found in its own.
    await cluster.apply(configMap(elsewhere, 'cm-theirs', { 'upper.xsl': stylesheet('theirs') }));
    await cluster.apply(
      obj('ApiPolicy', ns, 'cm-foreign', {
        type: 'XSLTransform',
        xslTransform: { configMapRef: { name: 'cm-theirs', key: 'upper.xsl' } },
      }),
    );
    const foreign = await eventually('the foreign ref is reported', async () => {
      const o = await cluster.get('ApiPolicy', ns, 'cm-foreign');
      return conditionOf(o, 'ResolvedRefs')?.status === 'False' && o;
    });
    expect(conditionOf(foreign, 'ResolvedRefs')).toMatchObject({ reason: 'RefNotFound' });
    expect(conditionOf(foreign, 'ResolvedRefs')?.message).toContain(
      `spec.xslTransform.configMapRef.name: ConfigMap "cm-theirs" not found in namespace ${ns}`,
    );

    // Unlabelled: the operator never lists it.
    await cluster.apply(configMap(ns, 'cm-plain', { 'upper.xsl': stylesheet('plain') }, false));
    await cluster.apply(
      obj('ApiPolicy', ns, 'cm-plain-ref', {
        type: 'XSLTransform',
        xslTransform: { configMapRef: { name: 'cm-plain', key: 'upper.xsl' } },
      }),
    );
    const plain = await eventually('the unlabelled ref is reported', async () => {
      const o = await cluster.get('ApiPolicy', ns, 'cm-plain-ref');
      return conditionOf(o, 'ResolvedRefs')?.status === 'False' && o;
    });
    expect(conditionOf(plain, 'ResolvedRefs')?.message).toContain('gatehouse.dev/resource=true');

    // The key goes away: the policy says which field.
    await cluster.apply(configMap(ns, 'cm-xsl', { 'other.xsl': stylesheet('other') }));
    const missing = await eventually('the missing key is reported', async () => {
      const o = await cluster.get('ApiPolicy', ns, 'cm-upper');
      return conditionOf(o, 'ResolvedRefs')?.status === 'False' && o;
    });
    expect(conditionOf(missing, 'ResolvedRefs')).toMatchObject({ reason: 'RefNotAccepted' });
    expect(conditionOf(missing, 'ResolvedRefs')?.message).toContain(
      'spec.xslTransform.configMapRef.key: ConfigMap "cm-xsl" has no key "upper.xsl"',
    );
    // The last accepted text keeps serving meanwhile: the proxy is not taken down by a ConfigMap edit.
    expect(servedConfig('cm-upper')?.stylesheet).toBe(stylesheet('second'));
    expect(conditionOf(await cluster.get('ApiProxy', ns, 'cm-orders'), 'Accepted')?.status).toBe('True');

    // Back: served again.
    await cluster.apply(configMap(ns, 'cm-xsl', { 'upper.xsl': stylesheet('third') }));
    await eventually('the key is back and served', () => servedConfig('cm-upper')?.stylesheet === stylesheet('third'));

    // The CRD refuses both forms at once.
    await expect(
      cluster.apply(
        obj('ApiPolicy', ns, 'cm-both', {
          type: 'XSLTransform',
          xslTransform: { stylesheet: stylesheet('x'), configMapRef: { name: 'cm-xsl', key: 'upper.xsl' } },
        }),
      ),
    ).rejects.toThrow(/exactly one of stylesheet or configMapRef/);
  });
});

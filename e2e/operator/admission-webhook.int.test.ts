// The validating admission webhook on the real apiserver. Two operator replicas run as the chart's
// restricted identity, each serving the webhook on 127.0.0.1 with the certificate the leader issues;
// the apiserver is sent to the replica that is NOT the leader (every replica answers). The leader keeps
// the caBundle of the ValidatingWebhookConfiguration gatehouse-validation (as the chart renders it, but
// pointing at 127.0.0.1 and scoped to this test's namespace, so no other test's writes reach it).
// Then: mistakes inside an object are refused at create with the field named; a valid object and
// one whose references are not applied yet are accepted; a caBundle someone overwrote is put back, and
// a certificate Secret overwritten with garbage is replaced while the webhook keeps answering;
// with the operator stopped, a ConfigMap is still written, and our kinds follow failurePolicy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultWebhookConfigurationName } from '../../operator/src/api/names.ts';
import { startKubeOperator, type KubeOperator } from '../../operator/src/kube-operator.ts';
import { KubeApiError } from '../../operator/src/kube/errors.ts';
import { silentLog } from '../../operator/src/xds/control-plane.test-support.ts';
import { kubeRequest } from '../env/apply.ts';
import { adminKubeConfig, Cluster, eventually, operatorKubeConfig, pathOf, type Obj } from './kube.ts';

const api = 'gatehouse.dev/v1alpha1';
const configPath = `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${defaultWebhookConfigurationName}`;

interface WebhookConfiguration {
  webhooks: { name: string; failurePolicy?: string; clientConfig: { url?: string; caBundle?: string } }[];
}

describe('validating admission webhook', () => {
  const cluster = new Cluster();
  let ns = '';
  let replicas: KubeOperator[] = [];

  const obj = (kind: string, name: string, spec: Record<string, unknown>): Obj => ({
    apiVersion: api,
    kind,
    metadata: { name, namespace: ns },
    spec,
  });
  /** A `kubectl create`: the error the apiserver answers, or undefined when it was stored. */
  const create = async (o: Obj, dryRun = false): Promise<KubeApiError | undefined> => {
    try {
      await cluster.rest.create(pathOf(o.kind, ns), o, dryRun ? { query: { dryRun: 'All' } } : undefined);
      return undefined;
    } catch (err) {
      if (err instanceof KubeApiError) return err;
      throw err;
    }
  };
  const configuration = (port: number, failurePolicy: 'Fail' | 'Ignore') => ({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: defaultWebhookConfigurationName },
    webhooks: [
      {
        name: 'validate.gatehouse.dev',
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy,
        timeoutSeconds: 5,
        matchPolicy: 'Equivalent',
        clientConfig: { url: `https://127.0.0.1:${port}/validate` },
        rules: [
          {
            apiGroups: ['gatehouse.dev'],
            apiVersions: ['*'],
            operations: ['CREATE', 'UPDATE'],
            resources: ['apiproxies', 'apipolicies', 'apiproducts', 'developers', 'developerapps', 'dataplanes'],
            scope: 'Namespaced',
          },
        ],
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
      },
    ],
  });
  const applyConfiguration = (body: unknown) =>
    cluster.rest.apply(configPath, body, { fieldManager: 'e2e-chart', force: true });
  const liveConfiguration = () => cluster.rest.get<WebhookConfiguration>(configPath);
  const operatorCa = async () => {
    const secret = await cluster.rest.get<{ data: Record<string, string> }>(
      `/api/v1/namespaces/${ns}/secrets/gatehouse-ca`,
    );
    return secret.data['ca.crt']!;
  };

  beforeAll(async () => {
    ns = await cluster.operatorNamespace('webhook');
    const replica = (identity: string) =>
      startKubeOperator({
        kc: operatorKubeConfig(),
        log: silentLog,
        namespace: ns,
        watchNamespace: ns,
        identity,
        host: '127.0.0.1',
        xdsPort: 0,
        debounceMs: 20,
        leaderElection: { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 250 },
        webhook: { port: 0, host: '127.0.0.1', ips: ['127.0.0.1'], resyncMs: 300 },
      });
    replicas = [await replica('webhook-0'), await replica('webhook-1')];
    const leader = await eventually('a leader', () => replicas.find((r) => r.isLeader()));
    const follower = replicas.find((r) => r !== leader)!;
    // Failing closed, so a create that went through proves the follower's webhook answered.
    await applyConfiguration(configuration(follower.webhookPort!, 'Fail'));
  });

  afterAll(async () => {
    for (const r of replicas) await r.stop();
    await cluster.rest.delete(configPath).catch(() => {});
  });

  it('the leader writes the operator CA into caBundle, and the webhook answers with the certificate it signed', async () => {
    await eventually('caBundle is the operator CA', async () => {
      const [live, ca] = await Promise.all([liveConfiguration(), operatorCa()]);
      return live.webhooks[0]!.clientConfig.caBundle === ca;
    });
    await eventually(
      'a valid object passes the webhook',
      async () =>
        (await create(obj('ApiPolicy', 'probe', { type: 'AssignMessage', assignMessage: {} }), true)) === undefined,
    );
  });

  it('refuses an unparsable condition, an unclosed regex and a policy config the type does not take, naming the field', async () => {
    const refusals: [Obj, RegExp][] = [
      [
        obj('ApiProxy', 'bad-condition', {
          basePath: '/bad',
          target: { url: 'http://backend.example' },
          flows: { conditionalFlows: [{ name: 'f', condition: 'request.verb = ', request: [] }] },
        }),
        /spec\.flows\.conditionalFlows\[0\]\.condition: condition does not parse/,
      ],
      [
        obj('ApiPolicy', 'bad-regex', {
          type: 'RegularExpressionProtection',
          regularExpressionProtection: { uriPath: ['(unclosed'] },
        }),
        /spec\.regularExpressionProtection\.uriPath\[0\]/,
      ],
      [
        obj('ApiPolicy', 'bad-template', {
          type: 'AssignMessage',
          assignMessage: { set: { headers: { 'x-user': '{request.header.user' } } },
        }),
        /spec\.assignMessage\.set\.headers/,
      ],
    ];
    for (const [o, field] of refusals) {
      const err = await create(o);
      expect(err, `${o.kind} ${o.metadata.name} refused`).toBeDefined();
      expect(err!.apiMessage).toMatch(/admission webhook "validate\.gatehouse\.dev" denied the request/);
      expect(err!.apiMessage).toMatch(field);
      expect(await cluster.get(o.kind, ns, o.metadata.name)).toBeUndefined();
    }
  });

  it('accepts a valid object, and one that names an ApiPolicy not applied yet', async () => {
    expect(await create(obj('ApiPolicy', 'tag', { type: 'AssignMessage', assignMessage: {} }))).toBeUndefined();
    const early = obj('ApiProxy', 'early', {
      basePath: '/early',
      target: { url: 'http://backend.example' },
      flows: { preFlow: { request: [{ policy: 'applied-later' }] } },
    });
    expect(await create(early)).toBeUndefined();
    // A change that breaks it is refused too (a merge patch: the operator may be writing its status).
    await expect(
      cluster.rest.mergePatch(pathOf('ApiProxy', ns, 'early'), {
        spec: { flows: { conditionalFlows: [{ name: 'f', condition: '(' }] } },
      }),
    ).rejects.toThrow(/spec\.flows\.conditionalFlows\[0\]\.condition/);
    // One that leaves the spec alone is not.
    await cluster.rest.mergePatch(pathOf('ApiProxy', ns, 'early'), { metadata: { labels: { team: 'a' } } });
  });

  it("returns the compiler's warnings to the client (kubectl prints them)", async () => {
    const { status, headers } = await kubeRequest(adminKubeConfig(), 'POST', pathOf('ApiPolicy', ns), {
      ...obj('ApiPolicy', 'inline-token', {
        type: 'AssignMessage',
        assignMessage: { set: { headers: { authorization: 'Bearer abcdefghijklmnopqrstuvwxyz0123456789' } } },
      }),
    });
    expect(status).toBe(201);
    expect(String(headers.warning ?? '')).toMatch(/spec\.assignMessage\.set\.headers\.authorization: .*credential/);
  });

  it('puts back a caBundle someone overwrote', async () => {
    const other = Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n').toString('base64');
    await cluster.rest.request('PATCH', configPath, {
      body: [{ op: 'replace', path: '/webhooks/0/clientConfig/caBundle', value: other }],
      contentType: 'application/json-patch+json',
    });
    await eventually('caBundle restored', async () => {
      const [live, ca] = await Promise.all([liveConfiguration(), operatorCa()]);
      return live.webhooks[0]!.clientConfig.caBundle === ca;
    });
  });

  it('replaces a webhook certificate overwritten with garbage, answering throughout with the one it had', async () => {
    const path = `/api/v1/namespaces/${ns}/secrets/gatehouse-webhook-tls`;
    const certOf = async () => (await cluster.rest.get<{ data: Record<string, string> }>(path)).data['tls.crt']!;
    const before = await certOf();
    await cluster.rest.mergePatch(path, { data: { 'tls.crt': Buffer.from('not a certificate').toString('base64') } });
    const bad = obj('ApiProxy', 'still-checked', {
      basePath: '/still',
      target: { url: 'http://backend.example' },
      flows: { conditionalFlows: [{ name: 'f', condition: '(', request: [] }] },
    });
    expect((await create(bad, true))?.apiMessage).toMatch(/denied the request/);
    await eventually('re-issued', async () => {
      const pem = Buffer.from(await certOf(), 'base64').toString();
      return pem.includes('BEGIN CERTIFICATE') && (await certOf()) !== before;
    });
    expect((await create(bad, true))?.apiMessage).toMatch(/denied the request/);
  });

  it('with the operator stopped: other kinds are written; ours follow failurePolicy', async () => {
    for (const r of replicas.splice(0)) await r.stop();
    // Unrelated writes never reach the webhook.
    await cluster.rest.create(`/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'unrelated', namespace: ns },
      data: { a: 'b' },
    });
    const valid = (name: string) => obj('ApiPolicy', name, { type: 'AssignMessage', assignMessage: {} });
    // Fail: refused while no replica answers.
    const refused = await create(valid('while-down'));
    expect(refused?.apiMessage).toMatch(/failed calling webhook "validate\.gatehouse\.dev"/);
    // Ignore: let through unchecked.
    const live = await liveConfiguration();
    await applyConfiguration({
      ...configuration(1, 'Ignore'),
      webhooks: [{ ...configuration(1, 'Ignore').webhooks[0], clientConfig: live.webhooks[0]!.clientConfig }],
    });
    await eventually('Ignore lets our kinds through', async () => (await create(valid('while-down'))) === undefined);
  });
});

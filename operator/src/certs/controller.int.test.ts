// The certificate controller against a real kube-apiserver, as the restricted operator identity (the
// chart's ClusterRole): a DataPlane gets its CA bundle and leaves; a leaf overwritten with an expired
// certificate while the operator was down is replaced when it starts, with a Warning Event and the
// condition naming it; a user CA is used and trusted; and a CA rotation with a short propagation delay
// runs to completion, its order checked on every Secret version a watch saw.
import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../lib/log.ts';
import { adminKubeConfig, operatorKubeConfig } from '../../../e2e/env/kubeconfig.ts';
import { eventually } from '../../../e2e/env/eventually.ts';
import { EventRecorder } from '../kube/events.ts';
import { InformerFactory } from '../kube/informer-factory.ts';
import { KubeRest, resourcePath } from '../kube/rest.ts';
import { StatusWriter } from '../kube/status-writer.ts';
import { bundleCerts } from './authorities.ts';
import { CertificateController } from './controller.ts';
import { createCa, isSignedBy, issueCertificate, loadSigner, parseCertificates, type CertInfo } from './pki.ts';
import { secretView, type SecretObject, type SecretView } from './secrets.ts';
import { certificateAnnotations, certificateSelector, secretKeys } from '../api/names.ts';

const admin = new KubeRest(adminKubeConfig());
const operatorKc = operatorKubeConfig();
const operator = new KubeRest(operatorKc);
const log = createLogger('certs-test', process.env.GATEHOUSE_LOG_LEVEL ?? 'warn');
const suffix = randomBytes(4).toString('hex');
const ns = `certs-${suffix}`;
const opns = `certs-op-${suffix}`;
const delay = 2_000;

const dpPath = (name: string) =>
  resourcePath({ group: 'gatehouse.dev', version: 'v1alpha1', resource: 'dataplanes', namespace: ns, name });
const secretPath = (namespace: string, name: string) =>
  resourcePath({ version: 'v1', resource: 'secrets', namespace, name });
const secret = async (namespace: string, name: string) =>
  secretView(await admin.get<SecretObject>(secretPath(namespace, name)));
const cert = (view: SecretView, key: string = secretKeys.tlsCert) => parseCertificates(view.data[key]!)[0]!;
const fps = (certs: CertInfo[]) => certs.map((c) => c.fingerprint).sort();

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface DataPlane {
  metadata: { name: string; uid: string; resourceVersion: string };
  status?: { conditions?: Condition[]; certificates?: { name: string; notAfter: string }[] };
}
const condition = (dp: DataPlane) => dp.status?.conditions?.find((c) => c.type === 'CertificatesReady');

/** Every version of the objects a watch sees, in the apiserver's order. */
function record<T>(path: string, query: Record<string, string> = {}) {
  const seen: T[] = [];
  const abort = new AbortController();
  const done = admin
    .watch<T>(
      path,
      query,
      (e) => {
        if (e.type !== 'BOOKMARK') seen.push(e.object);
      },
      { signal: abort.signal },
    )
    .catch(() => {});
  return {
    seen,
    async stop() {
      abort.abort();
      await done;
    },
  };
}

/** Someone else puts an expired (but otherwise right) certificate into eu-envoy-tls; returns its version. */
async function overwriteEnvoyLeafWithExpired() {
  const ca = await secret(opns, 'gatehouse-ca');
  const signer = loadSigner(ca.data[secretKeys.caCert]!, ca.data[secretKeys.caKey]!);
  const now = Date.now();
  const expired = await issueCertificate(signer, {
    commonName: `eu-envoy.${ns}.svc`,
    dns: [`eu-envoy.${ns}.svc`],
    ips: [],
    uris: [`spiffe://gatehouse/ns/${ns}/dataplane/eu/envoy`],
    usages: ['clientAuth'],
    notBefore: new Date(now - 10 * 86_400_000),
    notAfter: new Date(now - 86_400_000),
  });
  const written = await admin.mergePatch<SecretObject>(secretPath(ns, 'eu-envoy-tls'), {
    data: {
      'tls.crt': Buffer.from(expired.certPem).toString('base64'),
      'tls.key': Buffer.from(expired.keyPem).toString('base64'),
    },
  });
  return { signer, resourceVersion: written.metadata!.resourceVersion! };
}

/**
 * The operator's identity, with a hook run after each server-side apply returns and before the
 * controller sees the response: the place to make its watch outrun its own write.
 */
class HookedRest extends KubeRest {
  afterApply?: (path: string, applied: SecretObject) => Promise<void>;
  override async apply<T>(path: string, body: unknown, options: Parameters<KubeRest['apply']>[2]): Promise<T> {
    const applied = await super.apply<T>(path, body, options);
    await this.afterApply?.(path, applied as SecretObject);
    return applied;
  }
}

let controller: CertificateController;
let registry: Registry;

function startController(with_: { rest?: KubeRest; informers?: InformerFactory } = {}): Promise<void> {
  registry = new Registry();
  const recorder = new EventRecorder({
    rest: operator,
    controller: 'gatehouse.dev/operator',
    instance: 'certs-test',
    log,
  });
  controller = new CertificateController({
    rest: with_.rest ?? operator,
    informers: with_.informers,
    kc: operatorKc,
    log,
    operatorNamespace: opns,
    namespace: ns,
    registry,
    propagationDelayMs: delay,
    writer: new StatusWriter({ rest: with_.rest ?? operator, log, events: recorder }),
    events: recorder,
    isLeader: () => true,
    listenerHosts: () => ['api.example.com:443', '*'],
  });
  return controller.start();
}

async function events(
  reason: string,
): Promise<{ type: string; note: string; regarding: { name: string; kind: string } }[]> {
  const list = await admin.list<{
    type: string;
    reason: string;
    note: string;
    regarding: { name: string; kind: string };
  }>(`/apis/events.k8s.io/v1/namespaces/${ns}/events`);
  return list.items.filter((e) => e.reason === reason);
}

describe('certificate controller', () => {
  beforeAll(async () => {
    for (const name of [ns, opns])
      await admin.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    await admin.create(
      resourcePath({ group: 'gatehouse.dev', version: 'v1alpha1', resource: 'dataplanes', namespace: ns }),
      {
        apiVersion: 'gatehouse.dev/v1alpha1',
        kind: 'DataPlane',
        metadata: { name: 'eu', namespace: ns },
        spec: {
          listeners: [
            { name: 'http', port: 8080 },
            { name: 'https', port: 8443, protocol: 'HTTPS', tls: { issue: true } },
          ],
        },
      },
    );
    // The Envoy Service as the DataPlane controller makes it, with the address a load balancer gave it.
    await admin.create(`/api/v1/namespaces/${ns}/services`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'eu-envoy',
        labels: {
          'app.kubernetes.io/managed-by': 'gatehouse',
          'app.kubernetes.io/component': 'envoy',
          'gatehouse.dev/dataplane': 'eu',
        },
      },
      spec: { type: 'LoadBalancer', ports: [{ name: 'https', port: 8443 }] },
    });
    await admin.mergePatch(`/api/v1/namespaces/${ns}/services/eu-envoy/status`, {
      status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } },
    });
    await startController();
  });

  afterAll(async () => {
    await controller?.stop();
    for (const name of [ns, opns]) await admin.delete(`/api/v1/namespaces/${name}`).catch(() => {});
  });

  it('issues the operator CA, the xDS certificate, the bundle and the leaves, applied by field manager gatehouse', async () => {
    const dp = await admin.get<DataPlane>(dpPath('eu'));
    const names = ['eu-ca-bundle', 'eu-envoy-tls', 'eu-extproc-tls', 'eu-listener-https-tls'];
    const views = Object.fromEntries(
      await Promise.all(names.map(async (n) => [n, await eventually(n, () => secret(ns, n))] as const)),
    );
    const ca = await secret(opns, 'gatehouse-ca');
    const caInfo = cert(ca, secretKeys.caCert);
    expect(ca.annotations[certificateAnnotations.caPhase]).toBe('Stable');
    expect(fps(bundleCerts(views['eu-ca-bundle']))).toEqual([caInfo.fingerprint]);
    for (const n of names.slice(1)) {
      const v = views[n]!;
      expect(v.type).toBe('kubernetes.io/tls');
      expect(isSignedBy(cert(v), caInfo)).toBe(true);
      expect(v.labels).toMatchObject({
        'app.kubernetes.io/managed-by': 'gatehouse',
        'gatehouse.dev/certificate': 'true',
        'gatehouse.dev/dataplane': 'eu',
      });
    }
    const raw = await admin.get<
      SecretObject & {
        metadata: { ownerReferences?: unknown[]; managedFields?: { manager: string; operation: string }[] };
      }
    >(secretPath(ns, 'eu-envoy-tls'));
    expect(raw.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'gatehouse.dev/v1alpha1',
        kind: 'DataPlane',
        name: 'eu',
        uid: dp.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(raw.metadata.managedFields?.some((m) => m.manager === 'gatehouse' && m.operation === 'Apply')).toBe(true);
    const listener = cert(views['eu-listener-https-tls']!);
    expect(listener.dns).toEqual([
      'eu-envoy.' + ns + '.svc',
      'eu-envoy.' + ns + '.svc.cluster.local',
      'api.example.com',
    ]);
    expect(listener.ips).toEqual(['203.0.113.7']);
    const xds = await secret(opns, 'gatehouse-xds-tls');
    expect(cert(xds).dns).toContain(`gatehouse-xds.${opns}.svc`);
    expect(controller.xdsTls()?.caPem).toBe(xds.data[secretKeys.caCert]);

    const ready = await eventually('CertificatesReady True', async () => {
      const d = await admin.get<DataPlane>(dpPath('eu'));
      return condition(d)?.status === 'True' ? d : undefined;
    });
    expect(condition(ready)!.reason).toBe('Valid');
    expect(condition(ready)!.message).toMatch(/^5 certificates valid; the soonest to expire is /);
    expect(ready.status!.certificates!.map((c) => c.name)).toEqual([
      'eu-envoy-tls',
      'eu-extproc-tls',
      'eu-listener-https-tls',
      `${opns}/gatehouse-ca`,
      `${opns}/gatehouse-xds-tls`,
    ]);
    expect(new Date(ready.status!.certificates![0]!.notAfter).getTime()).toBe(
      cert(views['eu-envoy-tls']!).notAfter.getTime(),
    );

    const metrics = await registry.metrics();
    expect(metrics).toContain(
      `gatehouse_certificate_expiry_timestamp_seconds{namespace="${ns}",secret="eu-envoy-tls",kind="leaf"} ${cert(views['eu-envoy-tls']!).notAfter.getTime() / 1000}`,
    );
    expect(metrics).toContain(
      `gatehouse_certificate_expiry_timestamp_seconds{namespace="${opns}",secret="gatehouse-ca",kind="ca"} ${caInfo.notAfter.getTime() / 1000}`,
    );
    await eventually('CertificateIssued events', async () => (await events('CertificateIssued')).length >= 3);
  });

  it('replaces, when it starts, a leaf overwritten with an expired certificate; the Warning Event and the condition name the Secret', async () => {
    await controller.stop();
    const { signer } = await overwriteEnvoyLeafWithExpired();
    const dataPlanes = record<DataPlane>(
      resourcePath({ group: 'gatehouse.dev', version: 'v1alpha1', resource: 'dataplanes', namespace: ns }),
      { fieldSelector: 'metadata.name=eu' },
    );
    try {
      await startController();
      const replaced = await eventually('the expired certificate replaced', async () => {
        const v = await secret(ns, 'eu-envoy-tls');
        return cert(v).notAfter.getTime() > Date.now() ? v : undefined;
      });
      expect(replaced.annotations[certificateAnnotations.issueReason]).toBe('Expired');
      expect(isSignedBy(cert(replaced), signer.cert)).toBe(true);
      const [event] = await eventually('a CertificateExpired event', async () => {
        const found = await events('CertificateExpired');
        return found.length > 0 ? found : undefined;
      });
      expect(event!.type).toBe('Normal');
      expect(event!.regarding).toMatchObject({ kind: 'DataPlane', name: 'eu' });
      expect(event!.note).toMatch(/^eu-envoy-tls: the certificate expired at \S+; issued /);
      const notReady = await eventually('CertificatesReady False naming the Secret', () =>
        dataPlanes.seen.find((d) => condition(d)?.status === 'False'),
      );
      expect(condition(notReady)).toMatchObject({ reason: 'Expired' });
      expect(condition(notReady)!.message).toMatch(
        /^eu-envoy-tls: the certificate expired at \S+; re-issued at \S+, the pods load it by /,
      );
      // Once the pods had time to load it.
      await eventually(
        'CertificatesReady True again',
        async () => condition(await admin.get<DataPlane>(dpPath('eu')))?.status === 'True',
      );
      // One root cause, one Warning: CertificatesReady turning False, naming the Secret; the
      // replacement itself is Normal. The recovery is one Normal.
      const warnings = await eventually('the Warning', async () => {
        const found = (await events('Expired')).filter((e) => e.type === 'Warning');
        return found.length > 0 ? found : undefined;
      });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.regarding).toMatchObject({ kind: 'DataPlane', name: 'eu' });
      expect(warnings[0]!.note).toMatch(/^CertificatesReady is False: eu-envoy-tls: the certificate expired at /);
      const all = await admin.list<{ type: string; reason: string; regarding: { name: string } }>(
        `/apis/events.k8s.io/v1/namespaces/${ns}/events`,
      );
      expect(all.items.filter((e) => e.type === 'Warning' && e.regarding.name === 'eu').map((e) => e.reason)).toEqual([
        'Expired',
      ]);
    } finally {
      await dataPlanes.stop();
    }
  });

  it("signs a DataPlane's leaves with the CA Secret it names (as cert-manager keeps one), and the xDS server trusts it", async () => {
    const userCa = await createCa({
      commonName: 'Corp CA',
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 365 * 86_400_000),
    });
    await admin.create(`/api/v1/namespaces/${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'corp-ca' },
      type: 'kubernetes.io/tls',
      data: {
        'tls.crt': Buffer.from(userCa.certPem).toString('base64'),
        'tls.key': Buffer.from(userCa.keyPem).toString('base64'),
        'ca.crt': Buffer.from(userCa.certPem).toString('base64'),
      },
    });
    await admin.create(
      resourcePath({ group: 'gatehouse.dev', version: 'v1alpha1', resource: 'dataplanes', namespace: ns }),
      {
        apiVersion: 'gatehouse.dev/v1alpha1',
        kind: 'DataPlane',
        metadata: { name: 'us', namespace: ns },
        spec: { certificates: { caSecretName: 'corp-ca', duration: '720h' } },
      },
    );
    const corp = parseCertificates(userCa.certPem)[0]!;
    const leaf = await eventually('us-envoy-tls', () => secret(ns, 'us-envoy-tls'));
    expect(isSignedBy(cert(leaf), corp)).toBe(true);
    expect(cert(leaf).notAfter.getTime() - cert(leaf).notBefore.getTime()).toBe(720 * 3_600_000 + 5 * 60_000);
    const operatorCa = cert(await secret(opns, 'gatehouse-ca'), secretKeys.caCert);
    expect(fps(bundleCerts(await secret(ns, 'us-ca-bundle')))).toEqual(fps([corp, operatorCa]));
    await eventually(
      'the xDS trust carries the user CA',
      async () => fps(bundleCerts(await secret(opns, 'gatehouse-xds-tls'))).join() === fps([corp, operatorCa]).join(),
    );
    const dp = await eventually('us CertificatesReady', async () => {
      const d = await admin.get<DataPlane>(dpPath('us'));
      return condition(d)?.status === 'True' ? d : undefined;
    });
    expect(dp.status!.certificates!.map((c) => c.name)).toContain('corp-ca');
  });

  it('rotates the operator CA: new CA in every bundle, then every leaf re-issued under it, then the old CA out, each after the delay', async () => {
    const caBefore = await secret(opns, 'gatehouse-ca');
    const oldCa = cert(caBefore, secretKeys.caCert);
    const watch = record<SecretObject>('/api/v1/secrets', { labelSelector: 'gatehouse.dev/certificate=true' });
    const dps = record<DataPlane>(
      resourcePath({ group: 'gatehouse.dev', version: 'v1alpha1', resource: 'dataplanes', namespace: ns }),
    );
    try {
      // A watch from no resourceVersion first delivers every existing object: the state before the rotation.
      await eventually('the watch started', () => watch.seen.length > 0, 10_000);
      await admin.mergePatch(secretPath(opns, 'gatehouse-ca'), {
        metadata: { annotations: { [certificateAnnotations.rotate]: new Date().toISOString() } },
      });
      await eventually(
        'the rotation completed',
        async () => {
          const v = await secret(opns, 'gatehouse-ca');
          return (
            v.annotations[certificateAnnotations.caPhase] === 'Stable' &&
            cert(v, secretKeys.caCert).fingerprint !== oldCa.fingerprint &&
            !v.data[secretKeys.previousCert]
          );
        },
        60_000,
      );
      // Every leaf and bundle settled (the last bundle update follows the CA's).
      const newCa = cert(await secret(opns, 'gatehouse-ca'), secretKeys.caCert);
      const bundles = [`${ns}/eu-ca-bundle`, `${ns}/us-ca-bundle`, `${opns}/gatehouse-xds-tls`];
      await eventually(
        'the old CA out of every bundle',
        async () => {
          for (const b of bundles) {
            const [n, name] = b.split('/');
            if (bundleCerts(await secret(n!, name!)).some((c) => c.fingerprint === oldCa.fingerprint)) return false;
          }
          return true;
        },
        30_000,
      );

      const versions = watch.seen
        .filter((s) => [ns, opns].includes(s.metadata!.namespace!))
        .map((s) => ({ key: `${s.metadata!.namespace}/${s.metadata!.name}`, view: secretView(s) }));
      const at = (i: number, key: string) =>
        versions
          .slice(0, i)
          .reverse()
          .find((v) => v.key === key)?.view;
      const carries = (v: SecretView | undefined, c: CertInfo) =>
        v !== undefined && bundleCerts(v).some((b) => b.fingerprint === c.fingerprint);
      const time = (v: SecretView, a: string) => new Date(v.annotations[a]!).getTime();
      const caPhases = versions
        .filter((v) => v.key === `${opns}/gatehouse-ca`)
        .map((v) => v.view.annotations[certificateAnnotations.caPhase]);
      expect(caPhases.slice(caPhases.lastIndexOf('Adding'))).toEqual(['Adding', 'Reissuing', 'Stable']);
      const promoted = versions.findIndex(
        (v) => v.key === `${opns}/gatehouse-ca` && v.view.annotations[certificateAnnotations.caPhase] === 'Reissuing',
      );
      // Step 1: before the new CA signed, every bundle carried it for the delay.
      for (const b of bundles) {
        const v = at(promoted, b);
        expect(carries(v, newCa), `${b} carries the new CA before it signs`).toBe(true);
        expect(time(v!, certificateAnnotations.trustChangedAt) + delay).toBeLessThanOrEqual(
          time(versions[promoted]!.view, certificateAnnotations.caPhaseSince),
        );
      }
      // Step 2: every leaf signed by the new CA was written after that, each after the bundles it is verified by had it for the delay.
      const leafKeys = [
        `${ns}/eu-envoy-tls`,
        `${ns}/eu-extproc-tls`,
        `${ns}/eu-listener-https-tls`,
        `${opns}/gatehouse-xds-tls`,
      ];
      // Versions that carry a new certificate (gatehouse-xds-tls is also rewritten for its ca.crt alone).
      const issued = versions
        .map((v, i) => ({ ...v, i }))
        .filter(
          (v) =>
            leafKeys.includes(v.key) &&
            cert(v.view).fingerprint !== (at(v.i, v.key) && cert(at(v.i, v.key)!).fingerprint),
        );
      const newLeaves = issued.filter((v) => isSignedBy(cert(v.view), newCa));
      expect(new Set(newLeaves.map((v) => v.key))).toEqual(new Set(leafKeys));
      for (const leaf of newLeaves) {
        expect(leaf.i).toBeGreaterThan(promoted);
        // Its verifiers: the xDS server's certificate is verified by the DataPlanes' pods; theirs by each other and the xDS server.
        const verifiers =
          leaf.key === `${opns}/gatehouse-xds-tls`
            ? [`${ns}/eu-ca-bundle`, `${ns}/us-ca-bundle`]
            : [`${ns}/eu-ca-bundle`, `${opns}/gatehouse-xds-tls`];
        for (const b of verifiers) {
          const v = at(leaf.i, b);
          expect(carries(v, newCa)).toBe(true);
          expect(time(v!, certificateAnnotations.trustChangedAt) + delay).toBeLessThanOrEqual(
            time(leaf.view, certificateAnnotations.issuedAt),
          );
        }
      }
      // Step 3: the old CA left a bundle only once every leaf was signed by the new one for the delay.
      const drops = versions
        .map((v, i) => ({ ...v, i }))
        .filter((v) => bundles.includes(v.key) && !carries(v.view, oldCa) && carries(at(v.i, v.key), oldCa));
      expect(new Set(drops.map((d) => d.key))).toEqual(new Set(bundles));
      for (const drop of drops) {
        for (const key of leafKeys.filter((k) => k !== drop.key)) {
          const leaf = at(drop.i, key)!;
          expect(
            isSignedBy(cert(leaf), newCa),
            `${key} signed by the new CA before ${drop.key} dropped the old one`,
          ).toBe(true);
          expect(time(leaf, certificateAnnotations.issuedAt) + delay).toBeLessThanOrEqual(
            time(drop.view, certificateAnnotations.trustChangedAt),
          );
        }
      }
      // The condition said a rotation was going on, and that it is over.
      expect(dps.seen.some((d) => d.metadata.name === 'eu' && condition(d)?.reason === 'Rotating')).toBe(true);
      await eventually(
        'eu Valid again',
        async () => condition(await admin.get<DataPlane>(dpPath('eu')))?.reason === 'Valid',
      );
      const rotationEvents = (
        await admin.list<{ reason: string; regarding: { name: string } }>(
          `/apis/events.k8s.io/v1/namespaces/${opns}/events`,
        )
      ).items
        .filter((e) => e.regarding.name === 'gatehouse-ca')
        .map((e) => e.reason);
      expect(rotationEvents).toEqual(
        expect.arrayContaining(['CARotationStarted', 'CARotationPromoted', 'CARotationCompleted']),
      );
    } finally {
      await watch.stop();
      await dps.stop();
    }
  });

  it('repairs a leaf overwritten right after its own write as soon as the watch delivers the overwrite (read-your-writes ends with a newer version)', async () => {
    await eventually('eu-envoy-tls issued', () => secret(ns, 'eu-envoy-tls'));
    await controller.stop();
    // The controller's Secret informer, shared with this test: once the test's lister has a version,
    // the controller's handlers have run for it.
    const informers = new InformerFactory({ rest: operator, log });
    const leaves = informers.lister<SecretObject>({
      name: `certificates-secrets-${ns}`,
      version: 'v1',
      resource: 'secrets',
      namespace: ns,
      labelSelector: certificateSelector,
    });
    const rest = new HookedRest(operatorKc);
    const envoyLeafPath = secretPath(ns, 'eu-envoy-tls');
    let overwrite: string | undefined;
    let repairsSeen = 0;
    rest.afterApply = async (path, applied) => {
      if (path !== envoyLeafPath || repairsSeen++ > 0) return;
      // The operator just repaired the leaf; someone else breaks it again at once, and the watch
      // delivers both versions before the operator has read its own write's response.
      overwrite = (await overwriteEnvoyLeafWithExpired()).resourceVersion;
      await eventually(
        "the operator's watch delivered its write and the overwrite",
        () => leaves.get(ns, 'eu-envoy-tls')?.metadata?.resourceVersion === overwrite,
        20_000,
      );
      expect(applied.metadata?.resourceVersion).not.toBe(overwrite);
    };
    try {
      await overwriteEnvoyLeafWithExpired();
      await startController({ rest, informers });
      // The old overlay kept the operator's copy for 30 s, so the overwrite stood until then.
      const repaired = await eventually(
        'the overwrite repaired',
        async () => {
          const v = await admin.get<SecretObject>(envoyLeafPath);
          return overwrite !== undefined &&
            v.metadata?.resourceVersion !== overwrite &&
            cert(secretView(v)).notAfter.getTime() > Date.now()
            ? v
            : undefined;
        },
        20_000,
      );
      expect(repairsSeen).toBeGreaterThanOrEqual(2);
      expect(secretView(repaired).annotations[certificateAnnotations.issueReason]).toBe('Expired');
    } finally {
      rest.afterApply = undefined;
      await controller.stop();
      await informers.stop();
      await startController();
    }
  });
});
